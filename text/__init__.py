"""Language side of sociograph: text embeddings, sentiment and suggested replies."""
