"""The friends job: the link-prediction ranker (model), the run that publishes SUGGESTED_FRIEND (job), and held-out-friendship recall against baselines (evaluate)."""
