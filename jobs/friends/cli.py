"""``python -m jobs friends`` and ``python -m jobs evaluate friends``."""

from __future__ import annotations

import argparse
from pathlib import Path

from graph.config import Settings
from jobs.common.arguments import Commands, add_command, add_gnn_training


def register(commands: Commands) -> None:
    """Adds ``friends``."""
    parser = add_command(commands, "friends", _run, help="suggest friends with GNN link prediction; write SUGGESTED_FRIEND with reasons")
    add_gnn_training(parser)
    parser.add_argument("--k", type=int, default=20, help="suggestions per user")


def register_evaluation(targets: Commands) -> None:
    """Adds ``evaluate friends``, which runs in a throwaway Neo4j of its own."""
    parser = add_command(
        targets, "friends", _evaluate, uses_server=False,
        help="hide 10%% of friendships; Recall@20 and Hits@20 against Adamic-Adar and common neighbours",
    )
    parser.add_argument("--dataset", choices=["lastfm", "epinions", "synthetic"])
    parser.add_argument("--path", type=Path, help="folder of the public dataset")
    parser.add_argument("--edges", type=Path, help="a 'src dst' edge list")
    parser.add_argument("--users", type=int, default=2000, help="size of the synthetic graph")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--mini-batches", action="store_true", help="train the encoder on sampled mini-batches")


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.gnn.command import run_job

    return run_job(settings, "friends", args.seed, args.device, args.epochs, k=args.k, mini_batches=args.mini_batches, wait=args.wait)


def _evaluate(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.gnn.evaluate import run_evaluate

    return run_evaluate(settings, args)
