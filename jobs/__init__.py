"""sociograph's analytics jobs and their command line (``python -m jobs``, or ``sociograph``).

One folder per job, each with the same inner shape: ``model`` (pure tensors and arrays, no
Neo4j), ``job`` (reads a snapshot, calls the model, writes back through the run writer),
``evaluate`` (its offline evaluation) and ``cli`` (its command and ``evaluate`` target):

- ``communities/``, ``friends/``: the GNN jobs; ``gnn/`` holds what they share (the social-graph
  snapshot, the GraphSAGE encoder, sampling, sparse products, the command runner);
- ``recommend/``: the models are ``lightgcn`` and ``graph_filter``, beside ``data`` and ``reasons``;
- ``embed/``, ``sentiment/``, ``emotion/``, ``reply/``: their models are the text models in :mod:`text`;
- ``schedule/``: the pipeline, the cron scheduler and its configuration;
- ``commands/``: the commands that are not jobs (neo4j, cypher, query, status, ingest,
  generate, evaluate, demo); ``common/``: helpers every job uses.
"""
