"""The sentiment job: sentiment of posts (job), its offline evaluation (evaluate) and its command (cli). The classifiers live in :mod:`text.sentiment`."""
