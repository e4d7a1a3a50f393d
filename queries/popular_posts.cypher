// The ten posts with the most interaction weight, with author, tags and audience size.
MATCH (p:Post)<-[i:INTERACTED]-(:User)
WITH p, count(i) AS interactions, sum(i.weight) AS weight
ORDER BY weight DESC, p.id
LIMIT 10
OPTIONAL MATCH (author:User)-[:POSTED]->(p)
OPTIONAL MATCH (p)-[:TAGGED]->(t:Tag)
WITH p, interactions, weight, author, collect(t.name) AS tags
RETURN p.id AS post, left(p.text, 60) AS text, author.name AS author, tags, interactions, weight
ORDER BY weight DESC, post
