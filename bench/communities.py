"""The communities model over several seeds on email-Eu-core, read straight from the files.

``python -m bench.communities [--seeds 5] [--epochs 150] [--sharpness 4]`` embeds and clusters as
the communities job does, with each embedding (the fixed-weight propagation and the trained
GraphSAGE encoder), for seeds ``0 .. seeds-1``, and runs networkx Louvain with the same seeds;
it prints NMI against the 42 departments, modularity and seconds as mean (± standard deviation
for NMI), so that one lucky seed does not decide a comparison.  No Neo4j is involved: this measures the model;
the same figures through the graph, with OpenGDS, come from ``python -m jobs evaluate communities``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score

from bench.cli import table
from bench.harness import SHARED, machine, timed
from jobs.communities.model import EMBEDDINGS, CommunityConfig, community_embeddings, detect, friendship_graph, louvain, modularity
from jobs.gnn.encoder import EncoderConfig
from jobs.common.runtime import seed_everything
from jobs.gnn.social import SocialGraph, read_email_eu_core


def _partition(graph: SocialGraph, config: CommunityConfig, encoder: EncoderConfig, seed: int) -> np.ndarray:
    z = community_embeddings(graph, config, encoder, seed_everything(seed), torch.device("cpu"))
    return detect(graph, z, config, seed).labels


def _summary(name: str, runs: list[tuple[float, float, float]]) -> dict[str, str]:
    nmi, mod, seconds = (np.asarray(column) for column in zip(*runs))
    return {
        "method": name, "nmi": f"{nmi.mean():.3f} ± {nmi.std(ddof=1):.3f}", "modularity": f"{mod.mean():.3f}",
        "seconds": f"{seconds.mean():.3f}", "per_seed_nmi": " ".join(f"{v:.3f}" for v in nmi),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Prints the comparison as a Markdown table.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.communities")
    parser.add_argument("--path", type=Path, default=SHARED / "email_eu_core")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=EncoderConfig().epochs, help="training epochs of the sage embedding")
    parser.add_argument("--sharpness", type=float, default=CommunityConfig().sharpness, help="power of the cosine weights")
    args = parser.parse_args(argv)
    graph, truth = read_email_eu_core(args.path)
    g = friendship_graph(graph)
    encoder = EncoderConfig(epochs=args.epochs)
    runs: dict[str, list[tuple[float, float, float]]] = {}
    for seed in range(args.seeds):
        for embedding in EMBEDDINGS:
            config = CommunityConfig(embedding=embedding, sharpness=args.sharpness)
            labels, seconds = timed(partial(_partition, graph, config, encoder, seed))
            runs.setdefault(f"this job, {embedding} embedding + re-weighted Leiden", []).append(
                (normalized_mutual_info_score(truth, labels), modularity(graph, labels), seconds)
            )
        labels, seconds = timed(partial(louvain, g, seed, weight=None))
        runs.setdefault("networkx Louvain", []).append((normalized_mutual_info_score(truth, labels), modularity(graph, labels), seconds))
    print(f"machine: {machine()}\n")
    print(table([_summary(name, found) for name, found in runs.items()], ["method", "nmi", "modularity", "seconds", "per_seed_nmi"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
