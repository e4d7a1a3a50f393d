"""The recommend job: LightGCN fused with text (lightgcn), what it reads (data), its reasons (reasons), the run that publishes RECOMMENDED (job), offline evaluations (evaluate) and its commands."""
