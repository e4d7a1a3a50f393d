"""The ``python -m jobs`` command line: server, Cypher, ingest, the analytics jobs, evaluation, queries and demo."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from neo4j import READ_ACCESS, GraphDatabase
from neo4j.exceptions import AuthError, ClientError, ConfigurationError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from graph.config import ConnectionSettings, LocalServerMissing, Settings, external_uri
from graph.ingest.bulk import BulkImportError
from graph.ingest.loader import CheckpointConflict
from graph.lock import LockBusy, LockLost
from graph.server import LocalNeo4j, ServerError
from graph.writeback import RunAborted
from jobs.common.exit_codes import Exit

# The names of jobs.communities.model.EMBEDDINGS, spelled out so that parsing arguments needs no torch.
COMMUNITY_EMBEDDINGS = ("propagation", "sage")

log = logging.getLogger("jobs")


def _key_file(text: str) -> tuple[str, Path]:
    kind, sep, path = text.partition("=")
    if not sep or not kind or not path:
        raise argparse.ArgumentTypeError(f"expected KIND=FILE, got {text!r}")
    return kind, Path(path)


def _wait_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait", action="store_true",
        help="when another run of the job is in progress, wait for it to finish (default: exit at once with status 3)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="python -m jobs", description="sociograph analytics jobs")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    neo = sub.add_parser("neo4j", help="provision, start, stop or inspect the project's local Neo4j")
    neo.add_argument("action", choices=["start", "stop", "status"])
    neo.add_argument("--with-gds", action="store_true", help="also install the OpenGDS plugin")

    cypher = sub.add_parser("cypher", help="run a read-only Cypher query")
    cypher.add_argument("query", help="the query text, or @FILE to read it from a file")
    cypher.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a parameter (value parsed as JSON when it can be)")
    cypher.add_argument("--format", choices=["table", "csv", "json"], default="table")

    query = sub.add_parser(
        "query",
        help="run a named query of the catalogue (queries/*.cypher) and print a table",
        description="Runs queries/NAME.cypher read-only, e.g. `python -m jobs query friend_suggestions user=u000001`. "
        "The README lists the catalogue; a query's comment header says what it answers and which parameters it takes.",
    )
    query.add_argument("name", help="the query's name: the file name in queries/ without .cypher")
    query.add_argument("params", nargs="*", metavar="NAME=VALUE", help="parameters (a value is parsed as JSON when it can be, else kept as text)")
    query.add_argument("--format", choices=["table", "csv", "json"], default="table")

    status = sub.add_parser("status", help="print the run history of the jobs (JobRun nodes), newest first, with key metrics")
    status.add_argument("--job", help="only this job's runs, e.g. friends")
    status.add_argument("--limit", type=int, default=50, help="how many runs (default 50)")
    status.add_argument("--format", choices=["table", "csv", "json"], default="table")

    ingest = sub.add_parser("ingest", help="load data into the graph")
    ingest.add_argument("--dataset", choices=["lastfm", "gowalla", "email-eu-core", "rumoureval"])
    ingest.add_argument("--path", type=Path, help="folder of the public dataset")
    ingest.add_argument("--interactions", type=Path, help="a 'user item [weight]' list (tab or space separated)")
    ingest.add_argument("--interaction-kind", default="interaction", help="INTERACTED.kind for --interactions")
    ingest.add_argument("--edges", type=Path, help="a 'src dst' list loaded as FOLLOWS")
    ingest.add_argument("--nodes", type=_key_file, action="append", default=[], metavar="KIND=FILE")
    ingest.add_argument("--relationships", type=_key_file, action="append", default=[], metavar="KIND=FILE")
    ingest.add_argument("--dir", type=Path, help="a folder of canonical files named <kind>.<csv|tsv|jsonl|parquet>")
    ingest.add_argument("--encoding", default="utf-8", help="text encoding of the input files (default utf-8)")
    header = ingest.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_true", default=None, help="generic lists have a header line")
    header.add_argument("--no-header", dest="header", action="store_false", help="generic lists have no header line")
    ingest.add_argument("--max-rejects", type=int, default=0, help="exit non-zero when more rows are rejected (default 0)")
    ingest.add_argument("--rejects", type=Path, default=Path("sociograph.rejects.tsv"), help="where rejected rows are written")
    ingest.add_argument("--batch-size", type=int, help="rows per transaction")
    ingest.add_argument("--bulk", action="store_true", help="first load into an empty local database through neo4j-admin import (stops the server meanwhile)")
    _wait_flag(ingest)

    embed = sub.add_parser("embed", help="write text embeddings of posts and user profiles (incremental)")
    embed.add_argument("--model", help="packaged text model (default: SOCIOGRAPH_EMBEDDING_MODEL or all-MiniLM-L6-v2)")
    embed.add_argument("--device", choices=["auto", "cpu", "cuda"])
    embed.add_argument("--batch-size", type=int, help="texts per forward pass")
    _wait_flag(embed)

    for job, what in (
        ("communities", "detect communities with a GNN over structure and text; write Community and IN_COMMUNITY"),
        ("friends", "suggest friends with GNN link prediction; write SUGGESTED_FRIEND with reasons"),
    ):
        parser_job = sub.add_parser(job, help=what)
        parser_job.add_argument("--seed", type=int, default=0)
        _wait_flag(parser_job)
        parser_job.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
        parser_job.add_argument("--epochs", type=int, help="training epochs (default: the job's own)")
        parser_job.add_argument(
            "--mini-batches", action="store_true",
            help="train the GraphSAGE encoder on sampled mini-batches even when the graph fits full-batch "
            "(they are used anyway beyond a million nodes)",
        )
        if job == "communities":
            parser_job.add_argument(
                "--embedding", choices=COMMUNITY_EMBEDDINGS, default=None,
                help="propagation: a GNN with fixed weights, no training (default); sage: the trained GraphSAGE encoder",
            )
        if job == "friends":
            parser_job.add_argument("--k", type=int, default=20, help="suggestions per user")

    rec = sub.add_parser("recommend", help="recommend posts with LightGCN + text; write RECOMMENDED with reasons")
    rec.add_argument("--k", type=int, default=20, help="recommendations per user")
    rec.add_argument("--seed", type=int, default=0)
    rec.add_argument("--epochs", type=int, help="training epochs (default: the job's own)")
    rec.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    _wait_flag(rec)

    evaluate = sub.add_parser("evaluate", help="measure a job on a public dataset or your files, in a throwaway Neo4j")
    evaluate.add_argument(
        "--online", action="store_true",
        help="instead: measure how the current suggestions fared (suggested friends followed, recommended posts interacted with)",
    )
    targets = evaluate.add_subparsers(dest="target")
    ev_comm = targets.add_parser("communities", help="NMI and modularity against ground truth, with Louvain baselines")
    ev_comm.add_argument("--dataset", choices=["email-eu-core", "synthetic"])
    ev_comm.add_argument("--path", type=Path, help="folder of the public dataset")
    ev_comm.add_argument("--edges", type=Path, help="a 'src dst' edge list")
    ev_comm.add_argument("--labels", type=Path, help="ground truth as 'node community' lines")
    ev_comm.add_argument("--users", type=int, default=2000, help="size of the synthetic graph")
    ev_comm.add_argument("--with-gds", action="store_true", help="also compare with OpenGDS Louvain and Leiden")
    ev_comm.add_argument("--embedding", choices=COMMUNITY_EMBEDDINGS, default=None, help="as for the communities job")
    ev_comm.add_argument("--epochs", type=int, help="training epochs of the sage embedding")
    ev_comm.add_argument("--mini-batches", action="store_true", help="train the sage embedding on sampled mini-batches")
    ev_comm.add_argument("--seed", type=int, default=0)
    ev_fr = targets.add_parser("friends", help="hide 10%% of friendships; Recall@20 and Hits@20 against Adamic-Adar and common neighbours")
    ev_fr.add_argument("--dataset", choices=["lastfm", "synthetic"])
    ev_fr.add_argument("--path", type=Path, help="folder of the public dataset")
    ev_fr.add_argument("--edges", type=Path, help="a 'src dst' edge list")
    ev_fr.add_argument("--users", type=int, default=2000, help="size of the synthetic graph")
    ev_fr.add_argument("--seed", type=int, default=0)
    ev_fr.add_argument("--epochs", type=int)
    ev_fr.add_argument("--mini-batches", action="store_true", help="train the encoder on sampled mini-batches")
    ev_rec = targets.add_parser("recommend", help="Recall@20 and NDCG@20 over all posts against popularity; LastFM cold start")
    ev_rec.add_argument("--dataset", choices=["gowalla", "lastfm"], help="gowalla: the official split; lastfm: cold start")
    ev_rec.add_argument("--path", type=Path, help="folder of the public dataset")
    ev_rec.add_argument("--interactions", type=Path, help="a 'user item [weight]' list")
    ev_rec.add_argument("--test", type=Path, help="held-out 'user item' pairs (default: a seeded 20%% of --interactions)")
    ev_rec.add_argument("--seed", type=int, default=0)
    ev_rec.add_argument("--epochs", type=int)
    ev_rec.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    ev_sent = targets.add_parser("sentiment", help="the sentiment classifier and its lexicon baseline on a test split")
    ev_sent.add_argument("--dataset", choices=["tweeteval", "weibo2018"], required=True)
    ev_sent.add_argument("--path", type=Path, required=True, help="folder of tweeteval_sentiment or weibo2018_sentiment")
    ev_sent.add_argument("--limit", type=int, help="only the first N test rows")
    ev_sent.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ev_reply = targets.add_parser("reply", help="suggested replies on RumourEval 2017 with the real replies hidden")
    ev_reply.add_argument("--path", type=Path, required=True, help="folder of rumoureval2017_threads")
    ev_reply.add_argument("--seed", type=int, default=0, help="seed of the random-reply baseline")

    pipe = sub.add_parser("pipeline", help="run every job in order: embed, sentiment, communities, friends, recommend")
    pipe.add_argument("--seed", type=int, default=0)
    pipe.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    pipe.add_argument("--skip", action="append", default=[], choices=["embed", "sentiment", "communities", "friends", "recommend"])
    _wait_flag(pipe)

    sched = sub.add_parser(
        "schedule",
        help="run jobs on cron expressions from a TOML file, one run of a job at a time (a lock in the graph)",
        description="Runs until interrupted. See schedule.example.toml and the README's Scheduling section.",
    )
    sched.add_argument("--config", type=Path, required=True, help="the schedule, e.g. schedule.toml")

    sent = sub.add_parser("sentiment", help="write the sentiment and emotion of posts and per-user aggregates (incremental)")
    sent.add_argument("--device", choices=["auto", "cpu", "cuda"])
    sent.add_argument("--batch-size", type=int, help="texts per forward pass of the embedding model")
    sent.add_argument("--page-size", type=int, default=2000, help="posts read and written per page")
    _wait_flag(sent)

    reply = sub.add_parser("reply", help="suggest replies: print them for one post, or write them for many into the graph")
    which = reply.add_mutually_exclusive_group(required=True)
    which.add_argument("--post", help="print the suggestions for this Post.id")
    which.add_argument("--all", action="store_true", help="write suggestions for every embedded post")
    which.add_argument("--limit", type=int, help="write suggestions for the first N embedded posts (by id)")
    reply.add_argument("--k", type=int, default=3, help="suggestions per post (default 3)")
    _wait_flag(reply)

    gen = sub.add_parser("generate", help="write a synthetic social network as canonical files")
    gen.add_argument("--users", type=int, default=2000)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--format", choices=["csv", "parquet"], default="csv")

    demo = sub.add_parser("demo", help="start Neo4j, build the default synthetic graph, run every job on it, print sample results")
    demo.add_argument("--users", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--into-external", action="store_true",
        help="with NEO4J_URI set, write the demo into that server anyway: its synthetic users u000001… "
        "are merged onto users with the same ids there, overwriting their names and bios",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one sub-command.

    Returns:
        The process exit status, one of :class:`jobs.common.exit_codes.Exit`: 0 on success, 1 on a failed
        job, 2 on bad usage or input, 3-7 when a lock is busy or Neo4j cannot be used (the README's
        "Exit statuses" table), 70 on a bug.
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    settings: Settings | None = None
    connection: ConnectionSettings | None = None
    reached = False
    try:
        settings = Settings.from_env()
        if uses_configured_server(args):
            connection = settings.connection()
            check_server(connection)
        # A command that starts a server of its own (the demo, the evaluations) has reached it
        # once that start returns: start raises ServerError when Bolt does not answer.
        reached = True
        if args.command == "neo4j":
            return _neo4j(settings, args)
        if args.command == "cypher":
            from jobs.commands.cypher import run_cypher

            return run_cypher(settings, args.query, args.param, args.format)
        if args.command == "query":
            from jobs.commands.query import run_query_command

            return run_query_command(settings, args.name, args.params, args.format)
        if args.command == "status":
            from jobs.commands.query import run_status_command

            return run_status_command(settings, args.job, args.limit, args.format)
        if args.command == "ingest":
            from jobs.commands.ingest import run_ingest

            return run_ingest(settings, args)
        if args.command == "embed":
            from jobs.embed.cli import run_embed_command

            return run_embed_command(settings, args.model, args.device, args.batch_size, args.wait)
        if args.command in ("communities", "friends"):
            from jobs.gnn.command import run_job

            return run_job(
                settings, args.command, args.seed, args.device, args.epochs, getattr(args, "k", 20), getattr(args, "embedding", None),
                args.mini_batches, args.wait,
            )
        if args.command == "sentiment":
            from jobs.sentiment.cli import run_sentiment_command

            return run_sentiment_command(settings, args.device, args.batch_size, args.page_size, args.wait)
        if args.command == "evaluate" and (args.online or args.target is None):
            from jobs.common.feedback import run_online_evaluation

            return run_online_evaluation(settings, args.online)
        if args.command == "evaluate" and args.target == "sentiment":
            from jobs.sentiment.evaluate import run_sentiment_evaluation

            return run_sentiment_evaluation(args.dataset, args.path, args.limit, args.device)
        if args.command == "evaluate" and args.target == "reply":
            from jobs.reply.evaluate_cli import run_reply_evaluation

            return run_reply_evaluation(settings, args.path, args.seed)
        if args.command == "recommend":
            from jobs.recommend.cli import run_recommend_command

            return run_recommend_command(settings, args.k, args.seed, args.epochs, args.device, args.wait)
        if args.command == "evaluate" and args.target == "recommend":
            from jobs.recommend.evaluate_cli import run_recommend_evaluation

            return run_recommend_evaluation(settings, args)
        if args.command == "evaluate":
            from jobs.gnn.evaluate import run_evaluate

            return run_evaluate(settings, args)
        if args.command == "reply":
            from jobs.reply.cli import run_reply_command

            return run_reply_command(settings, args.post, args.limit, args.k, args.wait)
        if args.command == "pipeline":
            from jobs.schedule.pipeline import run_pipeline

            return run_pipeline(settings, args.seed, args.device, tuple(args.skip), args.wait)
        if args.command == "schedule":
            from jobs.schedule.scheduler import run_schedule_command

            return run_schedule_command(settings, args.config)
        if args.command == "generate":
            from jobs.commands.generate import run_generate

            return run_generate(args.users, args.seed, args.out, args.format)
        from jobs.commands.demo import run_demo

        return run_demo(settings, args.users, args.seed, args.into_external)
    except LockBusy as exc:
        log.error("%s", exc)
        return Exit.BUSY
    except Exception as exc:  # every failure ends here, as one line and an exit status
        status = failure_status(exc, reached, user_cypher=args.command in ("cypher", "query"))
        if status is Exit.INTERNAL:
            log.error("internal error (a bug in sociograph; please report it with this traceback): %r", exc, exc_info=True)
        else:
            log.error("%s", failure_message(status, exc, connection, settings), exc_info=args.verbose)
        return status


def uses_configured_server(args: argparse.Namespace) -> bool:
    """Returns True for a command that talks to the configured Neo4j (``NEO4J_URI`` or the local server)."""
    # `neo4j` manages the local server; `generate` needs none; the `evaluate` targets start a
    # throwaway one; the demo starts the local one, or, with NEO4J_URI, refuses unless --into-external.
    if args.command in ("neo4j", "generate"):
        return False
    if args.command == "evaluate":
        return args.online or args.target is None
    if args.command == "demo":
        return args.into_external and external_uri() is not None
    return True


def check_server(connection: ConnectionSettings) -> None:
    """Runs ``RETURN 1`` on the connection's database, before the command itself starts.

    This is how a server that goes away mid-command (SERVER_LOST) is told apart from one that
    was never reached (UNREACHABLE): a lost connection after this check answered is the first.

    Raises:
        The driver's exceptions: ``ServiceUnavailable``, ``AuthError``, ``ClientError``
        (``Neo.ClientError.Database.DatabaseNotFound``), ...
    """
    with GraphDatabase.driver(connection.uri, auth=(connection.user, connection.password)) as driver:
        with driver.session(database=connection.database, default_access_mode=READ_ACCESS) as session:
            session.run("RETURN 1").consume()


def failure_status(exc: BaseException, reached: bool, user_cypher: bool = False) -> Exit:
    """Classifies the exception that ended a command.

    Args:
        reached: whether the command had talked to its server (:func:`check_server` answered,
            or the command's own server started) before ``exc``.
        user_cypher: the command runs Cypher that the user wrote (``cypher``, ``query``), so a
            statement the server rejects is bad input, not a bug.

    Returns:
        UNREACHABLE, AUTH, NO_DATABASE or SERVER_LOST for a Neo4j that cannot be used; USAGE for
        bad arguments, configuration or input; FAILED for a run that lost its lock or may no longer
        publish; INTERNAL for anything else (a bug).
    """
    cause = exc
    # A failure re-raised as another one (``raise X from driver_error``) is the driver's.
    while cause.__cause__ is not None and not isinstance(cause, (Neo4jError, DriverError)):
        cause = cause.__cause__
    code = getattr(cause, "code", None)
    if isinstance(cause, (ServiceUnavailable, SessionExpired)):
        return Exit.SERVER_LOST if reached else Exit.UNREACHABLE
    if isinstance(cause, LocalServerMissing):
        return Exit.UNREACHABLE
    if isinstance(cause, AuthError) or code == "Neo.ClientError.Security.AuthenticationRateLimit":
        return Exit.AUTH
    if code == "Neo.ClientError.Database.DatabaseNotFound":
        return Exit.NO_DATABASE
    if isinstance(exc, (LockLost, RunAborted, CheckpointConflict)):
        return Exit.FAILED
    if user_cypher and isinstance(cause, ClientError):
        return Exit.USAGE
    if isinstance(exc, (ServerError, BulkImportError, ConfigurationError, FileNotFoundError)) or _is_bad_input(exc):
        return Exit.USAGE
    return Exit.INTERNAL


_OWN_PACKAGES = ("graph", "jobs", "text")
_OWN_CODE = tuple(str(Path(__file__).resolve().parents[1] / package) + os.sep for package in _OWN_PACKAGES)


def _is_bad_input(exc: BaseException) -> bool:
    # sociograph reports bad arguments, configuration and input with ValueErrors: the subclasses
    # it defines (SchemaError, InputError, ScheduleConfigError, ConfigError, ...), and plain ones
    # from `raise` statements of its own code (`--device cuda` without a GPU, a query's missing
    # parameter, an empty graph).  A ValueError that Python or a library raises (int('x'), a
    # tensor shape mismatch), even when called from our code, is a bug.
    if not isinstance(exc, ValueError):
        return False
    if type(exc).__module__.partition(".")[0] in _OWN_PACKAGES:
        return True
    if type(exc) is not ValueError or exc.__traceback__ is None:
        return False
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return where.filename.startswith(_OWN_CODE) and (where.line or "").startswith("raise ")


def failure_message(status: Exit, exc: BaseException, connection: ConnectionSettings | None, settings: Settings | None) -> str:
    """Returns the one line to tell the person for a failure classified as ``status``: what went
    wrong, on which server, and what to do.  It never holds the password."""
    where = f"Neo4j at {connection.uri}" if connection else "Neo4j"
    external = connection is not None and connection.external
    if status is Exit.UNREACHABLE and not isinstance(exc, LocalServerMissing):
        fix = "check NEO4J_URI and that the server runs" if external else "start it with `python -m jobs neo4j start`"
        text = f"{where} is not answering: {fix} (--verbose shows the driver's error)"
    elif status is Exit.AUTH:
        fix = "check NEO4J_USER and NEO4J_PASSWORD" if external or settings is None else (
            f"the password in {settings.server.password_file} is not this server's; restore that file, "
            f"or stop the server and remove {settings.server.state_dir / 'data'}"
        )
        text = f"{where} refused the credentials ({getattr(exc, 'message', None) or 'authentication failed'}): {fix}"
    elif status is Exit.NO_DATABASE:
        name = connection.database if connection else None
        text = f"{where} has no database {name!r}: set NEO4J_DATABASE to one that SHOW DATABASES lists, or unset it for the default"
    elif status is Exit.SERVER_LOST:
        text = (
            f"{where} stopped answering in the middle of the command; what was published before stays as it was. "
            "Start the server again and rerun the command"
        )
    elif isinstance(exc, Neo4jError):
        text = f"Neo4j rejected the query ({exc.code}): {exc.message}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _neo4j(settings: Settings, args: argparse.Namespace) -> int:
    if external_uri():
        log.error("NEO4J_URI is set: sociograph uses that server and manages none itself")
        return Exit.USAGE
    server = LocalNeo4j(settings.server)
    if args.action == "start":
        status = server.start(with_gds=args.with_gds)
        print(f"Neo4j {settings.server.version} is running at {status.bolt_uri} (pid {status.pid})")
        return 0
    if args.action == "stop":
        print("stopped" if server.stop() else "not running")
        return 0
    status = server.status()
    if status.refuses_password:
        log.error(
            "%s answers but refuses the password in %s: restore the password file of this database, "
            "or stop the server and remove %s", status.bolt_uri, settings.server.password_file, settings.server.state_dir / "data",
        )
        return Exit.AUTH
    print(f"{status.bolt_uri} {'answering' if status.answering else 'not answering'}" + (f" (pid {status.pid})" if status.pid else ""))
    return Exit.OK if status.answering else Exit.UNREACHABLE
