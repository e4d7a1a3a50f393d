// One community of the communities job's current run: its label, keywords and sentiment, then
// one row per member, the most central first (score: cosine of the member's embedding to the
// community's mean embedding).  Member sentiment is the sentiment job's per-user mean.
// Parameter: $community, the Community.id or the index within the run (as `communities` lists it).
MATCH (run:JobRun {job: 'communities', current: true})
MATCH (c:Community {run_id: run.id})
WHERE c.id = $community OR c.index = $community
MATCH (u:User)-[m:IN_COMMUNITY {run_id: run.id}]->(c)
RETURN c.index AS community, c.label AS label, c.size AS size, c.keywords AS keywords,
       c.sentiment AS sentiment, u.id AS user, u.name AS name, round(m.score, 4) AS score,
       round(u.sentiment_mean, 4) AS user_sentiment
ORDER BY score DESC, user
