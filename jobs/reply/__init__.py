"""The reply job: suggested replies retrieved from the graph (job), their evaluation on RumourEval (evaluate), and its commands."""
