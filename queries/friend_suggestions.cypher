// Friend suggestions for $user from the friends job's current run, best first, each with its reason.
// Read-time guards on top of what the job already excludes: a person who opted out or whom
// $user has followed since the run is left out (so ranks can have gaps).
// Parameter: $user (User.id).  Written by `python -m jobs friends`.
// Pin one run with $run_id (a run_id this query returned): it stays readable until the publish after the next.
// default $run_id = null
// param $user: string
// param $run_id: string
MATCH (run:JobRun {job: 'friends'})
WHERE ($run_id IS NULL AND run.current) OR run.id = $run_id
WITH run ORDER BY run.finished_at DESC LIMIT 1
MATCH (me:User {id: $user})-[s:SUGGESTED_FRIEND {run_id: run.id}]->(other:User)
WHERE NOT coalesce(other.opt_out, false)
  AND NOT (me)-[:FOLLOWS]->(other)
RETURN s.rank AS rank, other.id AS user, other.name AS name, round(s.score, 4) AS score,
       s.mutual_friends AS mutual_friends, s.reason AS reason, run.id AS run_id
ORDER BY rank
