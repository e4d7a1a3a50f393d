"""Running jobs together: the pipeline in data-flow order, the cron scheduler and its TOML configuration. Each run holds its lock from :mod:`graph.lock`."""
