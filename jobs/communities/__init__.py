"""The communities job: Leiden over GNN-reweighted friendships (model), the run that publishes Community nodes (job), NMI and modularity against baselines (evaluate)."""
