// The emotions of each community of the communities job's current run: for every community, how
// many of its members' posts the emotion job labelled and the share of each emotion among them;
// `top` is the commonest (ties go to the first of anger, joy, optimism, sadness).  Posts without
// an emotion (Chinese, blank, or the emotion job not run yet) are left out.
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
WHERE p.emotion IS NOT NULL
WITH c, count(p) AS posts,
     sum(CASE p.emotion WHEN 'anger' THEN 1 ELSE 0 END) AS anger,
     sum(CASE p.emotion WHEN 'joy' THEN 1 ELSE 0 END) AS joy,
     sum(CASE p.emotion WHEN 'optimism' THEN 1 ELSE 0 END) AS optimism,
     sum(CASE p.emotion WHEN 'sadness' THEN 1 ELSE 0 END) AS sadness
WITH c, posts, anger, joy, optimism, sadness,
     reduce(best = ['anger', anger], pair IN [['joy', joy], ['optimism', optimism], ['sadness', sadness]] |
            CASE WHEN pair[1] > best[1] THEN pair ELSE best END)[0] AS top
RETURN c.index AS community, c.label AS label, posts, top,
       round(toFloat(anger) / posts, 4) AS anger, round(toFloat(joy) / posts, 4) AS joy,
       round(toFloat(optimism) / posts, 4) AS optimism, round(toFloat(sadness) / posts, 4) AS sadness
ORDER BY community
