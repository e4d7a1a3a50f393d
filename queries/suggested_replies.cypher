// Suggested replies to $post from the reply job's current run, best first.
// Parameters: $post (Post.id).  Written by `python -m jobs reply --all`.
MATCH (run:JobRun {job: 'reply', current: true})
MATCH (p:Post {id: $post})-[s:SUGGESTED_REPLY {run_id: run.id}]->(source:Post)
RETURN s.rank AS rank, s.text AS text, round(s.score, 4) AS score, s.method AS method,
       source.id AS source, s.reason AS reason, run.id AS run_id
ORDER BY rank
