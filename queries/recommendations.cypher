// Post recommendations for $user from the recommend job's current run, best first, each with its reason.
// Read-time guards on top of what the job already excludes: a post $user has interacted with
// since the run, or whose author has opted out since, is left out (so ranks can have gaps).
// Parameter: $user (User.id).  Written by `python -m jobs recommend`.
// Pin one run with $run_id (a run_id this query returned): it stays readable until the publish after the next.
// default $run_id = null
// param $user: string
// param $run_id: string
MATCH (run:JobRun {job: 'recommend'})
WHERE ($run_id IS NULL AND run.current) OR run.id = $run_id
WITH run ORDER BY run.finished_at DESC LIMIT 1
MATCH (me:User {id: $user})-[r:RECOMMENDED {run_id: run.id}]->(p:Post)
WHERE NOT (me)-[:INTERACTED]->(p)
  AND NOT EXISTS { (:User {opt_out: true})-[:POSTED]->(p) }
OPTIONAL MATCH (author:User)-[:POSTED]->(p)
RETURN r.rank AS rank, p.id AS post, left(p.text, 70) AS text, author.id AS author,
       round(r.score, 4) AS score, r.reason AS reason, run.id AS run_id
ORDER BY rank
