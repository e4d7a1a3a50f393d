// One user at a glance.  Parameter: $user (User.id).
// param $user: string
MATCH (u:User {id: $user})
OPTIONAL MATCH (u)-[ut:TAGGED]->(t:Tag)
WITH u, t, ut ORDER BY ut.weight DESC, t.name
WITH u, collect(t.name)[..5] AS interests
RETURN u.id AS user, u.name AS name, u.bio AS bio, interests,
       COUNT { (u)-[:FOLLOWS]->(:User) } AS following,
       COUNT { (:User)-[:FOLLOWS]->(u) } AS followers,
       COUNT { (u)-[:POSTED]->(:Post) } AS posts,
       COUNT { (u)-[:INTERACTED]->(:Post) } AS interactions
