"""The communities model over several seeds on email-Eu-core, read straight from the files.

``python -m bench.communities [--seeds 5] [--epochs 150] [--sharpness 4]`` trains the encoder and clusters as the
communities job does, for seeds ``0 .. seeds-1``, and runs networkx Louvain with the same seeds;
it prints NMI against the 42 departments and modularity as mean ± standard deviation, so that
one lucky seed does not decide a comparison.  No Neo4j is involved: this measures the model;
the same figures through the graph, with OpenGDS, come from ``python -m jobs evaluate communities``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score

from bench.cli import table
from bench.harness import SHARED, machine, timed
from graph.snapshot import IdMap
from jobs.communities import CommunityConfig, detect, friendship_graph, louvain, modularity
from jobs.linkpred import EncoderConfig, train_encoder
from jobs.runtime import seed_everything
from jobs.social import SocialGraph, undirected_pairs


def email_graph(path: Path) -> tuple[SocialGraph, np.ndarray]:
    """Returns email-Eu-core as a :class:`SocialGraph` (self-loops dropped) and ``[U]`` department labels."""
    edges = np.loadtxt(path / "email-Eu-core.txt", dtype=np.int64)
    labels = np.loadtxt(path / "email-Eu-core-department-labels.txt", dtype=np.int64)
    n = int(max(edges.max(), labels[:, 0].max())) + 1
    truth = np.full(n, -1, dtype=np.int64)
    truth[labels[:, 0]] = labels[:, 1]
    graph = SocialGraph(
        IdMap([str(i) for i in range(n)]), IdMap([]), None, torch.zeros(n, dtype=torch.bool),
        undirected_pairs(edges[:, 0], edges[:, 1], n), torch.zeros((2, 0), dtype=torch.long),
        np.zeros(n, dtype=bool), truth,
    )
    return graph, truth


def _summary(name: str, runs: list[tuple[float, float, float]]) -> dict[str, str]:
    nmi, mod, seconds = (np.asarray(column) for column in zip(*runs))
    return {
        "method": name, "nmi": f"{nmi.mean():.3f} ± {nmi.std(ddof=1):.3f}", "modularity": f"{mod.mean():.3f}",
        "seconds": f"{seconds.mean():.2f}", "per_seed_nmi": " ".join(f"{v:.3f}" for v in nmi),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Prints the comparison as a Markdown table.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.communities")
    parser.add_argument("--path", type=Path, default=SHARED / "email_eu_core")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=EncoderConfig().epochs)
    parser.add_argument("--sharpness", type=float, default=CommunityConfig().sharpness, help="power of the cosine weights")
    args = parser.parse_args(argv)
    graph, truth = email_graph(args.path)
    g = friendship_graph(graph)
    ours, plain = [], []
    for seed in range(args.seeds):
        def job() -> np.ndarray:
            _, z = train_encoder(graph, graph.friendships, EncoderConfig(epochs=args.epochs), seed_everything(seed), torch.device("cpu"))
            return detect(graph, z, CommunityConfig(sharpness=args.sharpness), seed).labels

        labels, seconds = timed(job)
        ours.append((normalized_mutual_info_score(truth, labels), modularity(g, labels), seconds))
        labels, seconds = timed(lambda: louvain(g, seed, weight=None))
        plain.append((normalized_mutual_info_score(truth, labels), modularity(g, labels), seconds))
    print(f"machine: {machine()}\n")
    print(table([_summary("this job (GraphSAGE + re-weighted Louvain)", ours), _summary("networkx Louvain", plain)],
                ["method", "nmi", "modularity", "seconds", "per_seed_nmi"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
