// How past suggestions fared, per run of the friends and recommend jobs, newest first: the
// share of SUGGESTED_FRIEND pairs that became FOLLOWS (suggester -> suggested) and of
// RECOMMENDED pairs that became INTERACTED (any kind).
//
// What can be measured, honestly:
// - FOLLOWS carries no timestamp.  It does not need one here: the jobs never suggest a pair
//   that is already connected, so a connection found between a suggested pair appeared after
//   the run.  (It may have come about without the suggestion: this is an upper bound on what
//   the suggestions caused, not a causal effect.)
// - A superseded run's relationships are deleted at the publish after the one that superseded
//   it (`purged`), so only runs whose relationships are still there (the current run and the
//   one it superseded) are measured live
//   (`measured = 'live'`).  For a purged run the query shows the figures recorded in its
//   metrics before the deletion, under `online` {shown, accepted, rate} (`measured =
//   'recorded'`), or nulls when none were: the friends job records them just before it
//   supersedes a run (so does the recommend job), and `python -m jobs evaluate --online` records them for any job's
//   current run (the figures of its last measurement, so later acceptances are missing).
//   The recorded figures are the JobRun's online_shown and online_accepted properties.
// Parameter: $job ('friends' or 'recommend'), or null for both.
// default $job = null
// param $job: string
MATCH (run:JobRun)
WHERE run.job IN ['friends', 'recommend'] AND ($job IS NULL OR run.job = $job)
  AND run.status IN ['completed', 'superseded']
CALL (run) {
  MATCH (a:User)-[s:SUGGESTED_FRIEND {run_id: run.id}]->(b:User)
  RETURN count(s) AS shown, count(CASE WHEN (a)-[:FOLLOWS]->(b) THEN 1 END) AS accepted
  UNION ALL
  MATCH (u:User)-[r:RECOMMENDED {run_id: run.id}]->(p:Post)
  RETURN count(r) AS shown, count(CASE WHEN (u)-[:INTERACTED]->(p) THEN 1 END) AS accepted
}
WITH run, sum(shown) AS live_shown, sum(accepted) AS live_accepted
WITH run, live_shown, live_accepted, NOT coalesce(run.purged, false) AS live,
     run.online_shown AS recorded_shown, run.online_accepted AS recorded_accepted
WITH run,
     CASE WHEN live THEN 'live' WHEN recorded_shown IS NOT NULL THEN 'recorded' END AS measured,
     CASE WHEN live THEN live_shown ELSE recorded_shown END AS shown,
     CASE WHEN live THEN live_accepted ELSE recorded_accepted END AS accepted
RETURN run.job AS job, run.id AS run_id, run.status AS status, run.finished_at AS finished_at,
       measured, shown, accepted,
       CASE WHEN shown > 0 THEN round(toFloat(accepted) / shown, 4) END AS acceptance
ORDER BY finished_at DESC, run_id
