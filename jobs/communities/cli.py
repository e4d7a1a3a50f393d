"""``python -m jobs communities`` and ``python -m jobs evaluate communities``."""

from __future__ import annotations

import argparse
from pathlib import Path

from graph.config import Settings
from jobs.common.arguments import Commands, add_command, add_gnn_training

COMMUNITY_EMBEDDINGS = ("propagation", "sage")
"""The names of :data:`jobs.communities.model.EMBEDDINGS`, spelled out so that parsing arguments needs no torch."""

_EMBEDDING_HELP = "propagation: a GNN with fixed weights, no training (default); sage: the trained GraphSAGE encoder"


def register(commands: Commands) -> None:
    """Adds ``communities``."""
    parser = add_command(commands, "communities", _run, help="detect communities with a GNN over structure and text; write Community and IN_COMMUNITY")
    add_gnn_training(parser)
    parser.add_argument("--embedding", choices=COMMUNITY_EMBEDDINGS, default=None, help=_EMBEDDING_HELP)


def register_evaluation(targets: Commands) -> None:
    """Adds ``evaluate communities``, which runs in a throwaway Neo4j of its own."""
    parser = add_command(targets, "communities", _evaluate, uses_server=False, help="NMI and modularity against ground truth, with Louvain baselines")
    parser.add_argument("--dataset", choices=["email-eu-core", "synthetic"])
    parser.add_argument("--path", type=Path, help="folder of the public dataset")
    parser.add_argument("--edges", type=Path, help="a 'src dst' edge list")
    parser.add_argument("--labels", type=Path, help="ground truth as 'node community' lines")
    parser.add_argument("--users", type=int, default=2000, help="size of the synthetic graph")
    parser.add_argument("--with-gds", action="store_true", help="also compare with OpenGDS Louvain and Leiden")
    parser.add_argument("--embedding", choices=COMMUNITY_EMBEDDINGS, default=None, help="as for the communities job")
    parser.add_argument("--epochs", type=int, help="training epochs of the sage embedding")
    parser.add_argument("--mini-batches", action="store_true", help="train the sage embedding on sampled mini-batches")
    parser.add_argument("--seed", type=int, default=0)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.gnn.command import run_job

    return run_job(settings, "communities", args.seed, args.device, args.epochs, embedding=args.embedding, mini_batches=args.mini_batches, wait=args.wait)


def _evaluate(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.gnn.evaluate import run_evaluate

    return run_evaluate(settings, args)
