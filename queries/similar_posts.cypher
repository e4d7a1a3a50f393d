// Posts most similar in meaning to $post (cosine over text embeddings), best first.
// Parameters: $post (Post.id), $k (how many).
// param $post: string
// param $k: integer
MATCH (p:Post {id: $post})
CALL db.index.vector.queryNodes('post_embedding', $k + 1, p.embedding) YIELD node, score
WHERE node <> p
RETURN node.id AS post, left(node.text, 70) AS text, round(score, 4) AS similarity,
       [(node)-[:TAGGED]->(t:Tag) | t.name] AS tags
ORDER BY similarity DESC, post
LIMIT $k
