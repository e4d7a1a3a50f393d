"""The emotion job: the emotion of posts (job), its offline evaluation (evaluate) and its commands (cli). The classifier lives in :mod:`text.emotion`."""
