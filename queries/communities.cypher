// Every community of the communities job's current run, largest first: size, share of the
// users, label, keywords, mean post sentiment (null before the sentiment job has run) and the
// three most central members.
// Pin one run with $run_id (a run_id this query returned): it stays readable until the publish after the next.
// default $run_id = null
// param $run_id: string
MATCH (run:JobRun {job: 'communities'})
WHERE ($run_id IS NULL AND run.current) OR run.id = $run_id
WITH run ORDER BY run.finished_at DESC LIMIT 1
MATCH (c:Community {run_id: run.id})
WITH run, collect(c) AS all, sum(c.size) AS total
UNWIND all AS c
CALL (c, run) {
  MATCH (u:User)-[m:IN_COMMUNITY {run_id: run.id}]->(c)
  WITH u, m ORDER BY m.score DESC, u.id
  RETURN collect(u.id)[..3] AS central
}
RETURN c.index AS community, c.id AS id, c.label AS label, c.size AS size,
       round(toFloat(c.size) / total, 4) AS share, c.keywords AS keywords, c.sentiment AS sentiment,
       central, run.id AS run_id
ORDER BY size DESC, community
