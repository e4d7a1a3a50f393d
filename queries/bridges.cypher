// Users who bridge communities: whose friends (FOLLOWS either way) are spread over the most
// communities of the communities job's current run.  `participation` is the participation
// coefficient 1 - sum over communities c of (friends in c / friends)^2: 0 when every friend
// is in one community, towards 1 when they are spread evenly over many.  Users with fewer
// than $min_friends friends are left out (with two friends in two communities, anyone looks
// like a bridge).  Opted-out users are never listed.
// default $min_friends = 3
// default $k = 20
// Pin one run with $run_id (a run_id this query returned): it stays readable until the publish after the next.
// default $run_id = null
// param $min_friends: integer
// param $k: integer
// param $run_id: string
MATCH (run:JobRun {job: 'communities'})
WHERE ($run_id IS NULL AND run.current) OR run.id = $run_id
WITH run ORDER BY run.finished_at DESC LIMIT 1
MATCH (u:User)-[:IN_COMMUNITY {run_id: run.id}]->(home:Community)
WHERE NOT coalesce(u.opt_out, false)
MATCH (u)-[:FOLLOWS]-(friend:User)
WITH run, u, home, collect(DISTINCT friend) AS friends
WHERE size(friends) >= $min_friends
UNWIND friends AS friend
MATCH (friend)-[:IN_COMMUNITY {run_id: run.id}]->(c:Community)
WITH u, home, size(friends) AS degree, c, count(*) AS in_c
WITH u, home, degree, count(c) AS communities,
     1.0 - sum((toFloat(in_c) / degree) ^ 2) AS participation,
     sum(CASE WHEN c = home THEN in_c ELSE 0 END) AS at_home
RETURN u.id AS user, u.name AS name, home.index AS community, degree AS friends,
       communities, round(participation, 4) AS participation,
       degree - at_home AS friends_elsewhere
ORDER BY participation DESC, communities DESC, user
LIMIT $k
