"""The embed job: text vectors of posts and profiles as vector properties (job), and its command (cli). The text models live in :mod:`text.embeddings`."""
