"""The whole pipeline at scale against a real Neo4j: each step's seconds, peak memory and rows written.

``python -m bench.pipeline [--users 20000 100000] [--steps ingest embed communities friends recommend]``
generates, for each size, the synthetic network of ``python -m jobs generate`` (its default shape:
per user about 14 follows, 3 posts and 6 interactions), starts a throwaway Neo4j of its own
(``graph.server.LocalNeo4j`` in a temporary folder on a free port; never the user's server) and
runs the steps in order, each in a fresh process so that its peak resident memory is its own:

- ``ingest``: ``python -m jobs ingest --dir … --bulk`` (neo4j-admin import, then the schema);
- ``embed``: the embed job (:func:`jobs.embed.job.run_embed`: reads, profile vectors, vector
  writes, indexes) with :class:`HashingEncoder` standing in for the text model, whose CPU rate
  is measured on its own by ``python -m bench embed``;
- ``communities``, ``friends``, ``recommend``, ``sentiment``: ``python -m jobs STEP``.  The
  sentiment classifier reads vectors of its own model, so it encodes every post with MiniLM:
  its time is the text model's.

Rows are what the step left in the graph (nodes and relationships loaded, vectors written,
relationships or properties of the job's current run).  The last line is one JSON object,
``{"runs": [{"users": N, "steps": {STEP: {"seconds", "peak_gib", "rows"}}, "total_seconds"}],
"exponents": {STEP: e}}``, the exponent being the log-log slope of the step's seconds between the
smallest and the largest size.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from bench.cli import table
from bench.harness import machine
from graph.config import Settings
from graph.server import LocalNeo4j
from graph.server.sandbox import free_port
from graph.store import GraphStore

log = logging.getLogger(__name__)

STEPS = ("ingest", "embed", "communities", "friends", "recommend", "sentiment")
DEFAULT_STEPS = STEPS[:-1]
ROWS = {
    "ingest": "CALL { MATCH (n) RETURN count(n) AS nodes } CALL { MATCH ()-[r]->() RETURN count(r) AS rels } RETURN nodes + rels AS n",
    "embed": "MATCH (n) WHERE n.embedding IS NOT NULL RETURN count(n) AS n",
    "communities": "MATCH (run:JobRun {job: 'communities', current: true}) MATCH ()-[r:IN_COMMUNITY {run_id: run.id}]->() RETURN count(r) AS n",
    "friends": "MATCH (run:JobRun {job: 'friends', current: true}) MATCH ()-[r:SUGGESTED_FRIEND {run_id: run.id}]->() RETURN count(r) AS n",
    "recommend": "MATCH (run:JobRun {job: 'recommend', current: true}) MATCH ()-[r:RECOMMENDED {run_id: run.id}]->() RETURN count(r) AS n",
    "sentiment": "MATCH (p:Post) WHERE p.sentiment IS NOT NULL RETURN count(p) AS n",
}
"""What each step wrote, counted after it."""
TOKEN = re.compile(r"[a-z0-9']+")


class HashingEncoder:
    """A stand-in for the text model in scale runs: signed feature hashing of a text's words into
    ``dim`` dimensions, unit length (Weinberger et al., "Feature Hashing for Large Scale Multitask
    Learning", ICML 2009).  Texts that share words get close vectors, which is what the jobs
    downstream need from the vectors, at tens of thousands of texts a second.

    Args:
        dim: the vector width (the packaged model's, so that indexes and snapshots are the same size).
    """

    name = "bench-hashing-384"

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self._slots: dict[str, tuple[int, float]] = {}

    def _slot(self, word: str) -> tuple[int, float]:
        slot = self._slots.get(word)
        if slot is None:
            digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            slot = self._slots[word] = (digest % self.dim, 1.0 if digest >> 63 else -1.0)
        return slot

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Returns ``[len(texts), dim]`` float32 unit vectors; blank texts get zero vectors."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in TOKEN.findall((text or "").lower()):
                column, sign = self._slot(word)
                out[row, column] += sign
        norm = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norm, out=out, where=norm > 0)


@contextmanager
def scratch_server() -> Iterator[dict[str, str]]:
    """Starts a throwaway Neo4j and yields the environment that points the CLI at it; deletes it afterwards."""
    state = Path(tempfile.mkdtemp(prefix="sociograph-pipeline-"))
    base = Settings.from_env()
    server = LocalNeo4j(dataclasses.replace(base.server, state_dir=state, bolt_port=free_port(), start_timeout_s=300))
    try:
        server.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
        env.update(SOCIOGRAPH_NEO4J_DIR=str(state), SOCIOGRAPH_BOLT_PORT=str(server.settings.bolt_port))
        yield env
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


def _command(step: str, data: Path) -> list[str]:
    if step == "ingest":
        return [sys.executable, "-m", "jobs", "ingest", "--dir", str(data), "--bulk"]
    if step == "embed":
        return [sys.executable, "-m", "bench.pipeline", "--stand-in-embed"]
    return [sys.executable, "-m", "jobs", step]


def run_step(step: str, data: Path, env: dict[str, str]) -> dict[str, float]:
    """Runs one step in a fresh process.

    Returns:
        ``{"seconds", "peak_gib"}`` of that process (its own peak resident memory, from ``wait4``).

    Raises:
        RuntimeError: when the step exits non-zero (the end of its output is in the log).
    """
    with tempfile.TemporaryFile("w+") as output:
        start = time.perf_counter()
        process = subprocess.Popen(_command(step, data), env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.terminate()
            process.wait()
            raise
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            output.seek(0)
            log.error("%s failed:\n%s", step, output.read()[-4000:])
            raise RuntimeError(f"step {step} exited with {process.returncode}")
    return {"seconds": round(seconds, 1), "peak_gib": round(usage.ru_maxrss / 2**20, 2)}


def _settings(env: dict[str, str]) -> Settings:
    """Returns the settings the CLI reads from ``env``."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return Settings.from_env()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def measure(users: int, steps: Sequence[str], work: Path, seed: int = 0) -> dict[str, Any]:
    """Generates a network of ``users`` users and runs ``steps`` on it against a throwaway Neo4j.

    Returns:
        ``{"users", "steps": {STEP: {"seconds", "peak_gib", "rows"}}, "total_seconds"}``.
    """
    from graph.synthetic import generate, write_canonical

    data = work / f"synthetic-{users}"
    write_canonical(generate(users, seed=seed), data)
    out: dict[str, Any] = {"users": users, "steps": {}}
    with scratch_server() as env:
        settings = _settings(env)
        for step in steps:
            figures = run_step(step, data, env)
            with GraphStore.from_settings(settings) as store:
                figures["rows"] = int(store.read(ROWS[step])[0]["n"])
            out["steps"][step] = figures
            print(json.dumps({"users": users, "step": step, **figures}), file=sys.stderr, flush=True)
    shutil.rmtree(data, ignore_errors=True)
    out["total_seconds"] = round(sum(s["seconds"] for s in out["steps"].values()), 1)
    return out


def exponents(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Returns each step's log-log slope of seconds against users, smallest size to largest."""
    if len(runs) < 2:
        return {}
    small, large = min(runs, key=lambda r: r["users"]), max(runs, key=lambda r: r["users"])
    ratio = math.log(large["users"] / small["users"])
    return {step: round(math.log(large["steps"][step]["seconds"] / small["steps"][step]["seconds"]) / ratio, 2)
            for step in small["steps"] if step in large["steps"] and small["steps"][step]["seconds"] > 0}


def _stand_in_embed() -> int:
    """Runs the embed job on the configured server with :class:`HashingEncoder` (the ``embed`` step)."""
    from jobs.embed.job import run_embed

    with GraphStore.from_settings(Settings.from_env()) as store:
        summary = run_embed(store, HashingEncoder())
    log.info("stand-in embed: %s", summary)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the pipeline at each size and prints a table per size, then the JSON line.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(DEFAULT_STEPS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stand-in-embed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    if args.stand_in_embed:
        return _stand_in_embed()
    # A SIGTERM (a timeout, a cancelled job) unwinds like Ctrl-C, so that the scratch server is stopped and deleted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    print(f"machine: {machine()}\n")
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    try:
        runs = [measure(users, args.steps, work, args.seed) for users in sorted(args.users)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for run in runs:
        print(f"## {run['users']:,} users, {run['total_seconds']:,.0f} s\n")
        print(table([{"step": step, **figures} for step, figures in run["steps"].items()], ["step", "seconds", "peak_gib", "rows"]))
        print()
    print(json.dumps({"runs": runs, "exponents": exponents(runs)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
