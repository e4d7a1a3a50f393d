// One community of the communities job's current run: its label, keywords and sentiment, then
// one row per member, the most central first (score: cosine of the member's embedding to the
// community's mean embedding; rank: the member's place by that score; reason: how many of the
// member's friends are members).  Member sentiment is the sentiment job's per-user mean.
// Parameter: $community, the Community.id or the index within the run (as `communities` lists it).
// Pin one run with $run_id (a run_id this query returned): it stays readable until the publish after the next.
// default $run_id = null
// param $community: any
// param $run_id: string
MATCH (run:JobRun {job: 'communities'})
WHERE ($run_id IS NULL AND run.current) OR run.id = $run_id
WITH run ORDER BY run.finished_at DESC LIMIT 1
MATCH (c:Community {run_id: run.id})
WHERE c.id = $community OR c.index = $community
MATCH (u:User)-[m:IN_COMMUNITY {run_id: run.id}]->(c)
RETURN c.index AS community, c.label AS label, c.size AS size, c.keywords AS keywords,
       c.sentiment AS sentiment, m.rank AS rank, u.id AS user, u.name AS name, round(m.score, 4) AS score,
       m.reason AS reason, round(u.sentiment_mean, 4) AS user_sentiment
ORDER BY rank
