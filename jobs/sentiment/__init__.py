"""The sentiment job: sentiment and emotion of posts (job), its offline evaluation (evaluate) and its command (cli). The classifiers live in :mod:`text.sentiment`."""
