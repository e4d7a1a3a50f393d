// The run history of every job, or of $job, newest first: status (running, completed,
// superseded, failed, abandoned), whether it is the published one, when it ran, how long it
// took, and its parameters and metrics (JSON text, as the job stored them).  Superseded runs
// keep their JobRun node and metrics after their results are deleted (`purged`).
// Parameters: $job (e.g. 'friends') or null for all jobs; $limit (how many runs).
// default $job = null
// default $limit = 50
// param $job: string
// param $limit: integer
MATCH (r:JobRun)
WHERE $job IS NULL OR r.job = $job
RETURN r.job AS job, r.id AS run_id, r.status AS status, coalesce(r.current, false) AS current,
       r.started_at AS started_at, r.finished_at AS finished_at,
       CASE WHEN r.finished_at IS NULL THEN null
            ELSE round(duration.inSeconds(r.started_at, r.finished_at).milliseconds / 1000.0, 1) END AS seconds,
       coalesce(r.purged, false) AS purged, r.metrics AS metrics, r.params AS params, r.error AS error
ORDER BY started_at DESC, run_id
LIMIT $limit
