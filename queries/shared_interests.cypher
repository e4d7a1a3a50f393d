// People who share the most interest tags with $user and whom $user does not follow yet:
// a plain-Cypher baseline that the GNN friend suggestions improve on.
// Opted-out users are never suggested.  Parameter: $user (User.id).
// param $user: string
MATCH (me:User {id: $user})-[:TAGGED]->(t:Tag)<-[:TAGGED]-(other:User)
WHERE other <> me
  AND NOT coalesce(other.opt_out, false)
  AND NOT (me)-[:FOLLOWS]->(other)
WITH other, collect(DISTINCT t.name) AS shared
RETURN other.id AS user, other.name AS name, size(shared) AS shared_tags, shared[..5] AS tags
ORDER BY shared_tags DESC, user
LIMIT 10
