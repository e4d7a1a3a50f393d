"""The reply job: reply drafts composed and retrieved (job), their evaluation on RumourEval and the reply set (evaluate, reply_set, data/), and its commands."""
