// Mean post sentiment per community of the communities job's current run, per calendar month
// of Post.created_at (UTC): how each community's mood moves.  Posts count for their author's
// community; posts without a date or without a sentiment score (sentiment job not run yet)
// are left out.  `positive`/`negative` are the shares of posts labelled so.
// Parameter: $community (Community.id or index), or null for every community.
// default $community = null
// Pin one run with $run_id (a run_id this query returned): it stays readable until the publish after the next.
// default $run_id = null
// param $community: any
// param $run_id: string
MATCH (run:JobRun {job: 'communities'})
WHERE ($run_id IS NULL AND run.current) OR run.id = $run_id
WITH run ORDER BY run.finished_at DESC LIMIT 1
MATCH (c:Community {run_id: run.id})
WHERE $community IS NULL OR c.id = $community OR c.index = $community
MATCH (u:User)-[:IN_COMMUNITY {run_id: run.id}]->(c)
MATCH (u)-[:POSTED]->(p:Post)
WHERE p.created_at IS NOT NULL AND p.sentiment_score IS NOT NULL
WITH c, date.truncate('month', p.created_at) AS month, p
RETURN c.index AS community, c.label AS label, left(toString(month), 7) AS month, count(p) AS posts,
       round(avg(p.sentiment_score), 4) AS sentiment,
       round(avg(CASE p.sentiment WHEN 'positive' THEN 1.0 ELSE 0.0 END), 4) AS positive,
       round(avg(CASE p.sentiment WHEN 'negative' THEN 1.0 ELSE 0.0 END), 4) AS negative
ORDER BY community, month
