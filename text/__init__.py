"""Language side of sociograph: text embeddings, sentiment and emotion, and reply drafts."""
