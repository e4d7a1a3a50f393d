// Users whose profiles (bio, own posts, interest tags) are closest to $user's, best first.
// Opted-out users are never suggested.  Parameters: $user (User.id), $k (how many).
// param $user: string
// param $k: integer
MATCH (u:User {id: $user})
CALL db.index.vector.queryNodes('user_embedding', $k * 2 + 1, u.embedding) YIELD node, score
WHERE node <> u AND NOT coalesce(node.opt_out, false)
RETURN node.id AS user, node.name AS name, left(node.bio, 60) AS bio, round(score, 4) AS similarity
ORDER BY similarity DESC, user
LIMIT $k
