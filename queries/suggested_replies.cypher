// Reply drafts for $post from the reply job's current run, best first.
// source is the existing reply a retrieved draft comes from; null for a written draft (composed, help).
// Parameters: $post (Post.id).  Written by `python -m jobs reply --all`.
// Pin one run with $run_id (a run_id this query returned): it stays readable until the publish after the next.
// default $run_id = null
// param $post: string
// param $run_id: string
MATCH (run:JobRun {job: 'reply'})
WHERE ($run_id IS NULL AND run.current) OR run.id = $run_id
WITH run ORDER BY run.finished_at DESC LIMIT 1
MATCH (p:Post {id: $post})-[s:SUGGESTED_REPLY {run_id: run.id}]->(source:Post)
RETURN s.rank AS rank, s.text AS text, round(s.score, 4) AS score, s.method AS method,
       CASE WHEN source = p THEN null ELSE source.id END AS source, s.reason AS reason, run.id AS run_id
ORDER BY rank
