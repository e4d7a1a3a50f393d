"""The GNN pieces that the communities and friends jobs share: the social-graph snapshot (social), the GraphSAGE encoder (encoder), neighbour sampling (sampling) and sparse products (sparse)."""
