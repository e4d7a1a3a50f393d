"""The commands that are not analytics jobs: cypher, query and status, ingest, generate and demo."""
