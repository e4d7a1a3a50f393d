"""Loading canonical files, generic lists and public datasets into the Neo4j graph."""
