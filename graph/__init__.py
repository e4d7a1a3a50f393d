"""Neo4j side of sociograph: configuration, server, schema, ingest, snapshots, write-back."""
