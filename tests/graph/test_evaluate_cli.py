"""``python -m jobs evaluate communities|friends|recommend`` on the user's own files: each runs in a
throwaway Neo4j and prints one JSON object on its last line, with the model and its baselines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from jobs.cli import main

GROUPS, PER_GROUP = 4, 40


def _last_json(capsys: pytest.CaptureFixture[str]) -> dict:
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    result = json.loads(lines[-1])
    assert {"model", "baselines", "seconds"} <= set(result) and result["seconds"] > 0
    return result


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A planted-partition friendship graph (4 groups of 40, dense inside, sparse across) and its labels."""
    rng = np.random.default_rng(5)
    out = tmp_path_factory.mktemp("planted")
    n = GROUPS * PER_GROUP
    group = np.arange(n) // PER_GROUP
    lines = []
    for a in range(n):
        for b in range(a + 1, n):
            if rng.random() < (0.3 if group[a] == group[b] else 0.01):
                lines.append(f"n{a}\tn{b}")
    (out / "edges.tsv").write_text("\n".join(lines) + "\n")
    (out / "labels.tsv").write_text("".join(f"n{i} {group[i]}\n" for i in range(n)))
    return out / "edges.tsv", out / "labels.tsv"


def test_evaluate_communities_on_an_edge_list_with_labels(planted: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    edges, labels = planted
    assert main(["evaluate", "communities", "--edges", str(edges), "--labels", str(labels)]) == 0
    result = _last_json(capsys)
    assert result["model"]["nmi"] >= 0.9 and result["model"]["modularity"] > 0.3
    assert set(result["baselines"]) == {"networkx_louvain"}
    assert 0 <= result["baselines"]["networkx_louvain"]["nmi"] <= 1


def test_evaluate_friends_hides_a_tenth_of_an_edge_list(planted: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    edges, _ = planted
    assert main(["evaluate", "friends", "--edges", str(edges), "--epochs", "40"]) == 0
    result = _last_json(capsys)
    assert set(result["baselines"]) == {"adamic_adar", "common_neighbours"}
    model = result["model"]
    # A random pick of 20 among ~160 people finds about an eighth of the hidden friends.
    assert model["recall@20"] >= 0.5 and 0 < model["hits@20"] <= 1 and 0 < model["ndcg@20"] <= 1
    assert model["recall@20"] >= result["baselines"]["common_neighbours"]["recall@20"]
    # The calibration split is carved from the visible friendships: its figures are the scorer's own.
    calibration = model["calibration"]
    assert 0 < calibration["recall@20"] <= 1 and 0 < calibration["candidate_recall"] <= 1
    assert calibration["encoder_steps"] % 25 == 0 and 0 < calibration["encoder_steps"] <= 40
    # Training stops on the embedding-candidate list's recall, at its length.
    assert 0 < calibration["encoder_recall@50"] <= 1


def test_evaluate_recommend_splits_an_interaction_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(6)
    users, items_per_group = GROUPS * PER_GROUP, 30
    lines = []
    for u in range(users):
        g = u // PER_GROUP
        for item in rng.choice(items_per_group, 12, replace=False):
            lines.append(f"u{u} i{g * items_per_group + item} {rng.integers(1, 5)}")
    path = tmp_path / "interactions.txt"
    path.write_text("\n".join(lines) + "\n")
    assert main(["evaluate", "recommend", "--interactions", str(path), "--epochs", "20", "--device", "cpu"]) == 0
    result = _last_json(capsys)
    model = result["model"]
    assert {"recall@20", "ndcg@20"} <= set(model)
    baselines = result["baselines"]
    assert set(baselines) == {"popularity", "item_knn", "gf_cf"}
    assert model["recall@20"] > 2 * baselines["popularity"]["recall@20"], result
    # On planted blocks the filters all but saturate: the chosen model must be as good as the best of them.
    assert model["recall@20"] >= max(b["recall@20"] for b in baselines.values()) - 0.01, result


def test_the_reported_command_repeats_the_evaluation_flags_included() -> None:
    from jobs.cli import build_parser
    from jobs.gnn.evaluate import reproducing_command

    argv = ["evaluate", "friends", "--dataset", "lastfm", "--path", "data", "--epochs", "100", "--mini-batches"]
    command = reproducing_command(build_parser().parse_args(argv))
    assert command == "python -m jobs evaluate friends --dataset lastfm --epochs 100 --path data --seed 0 --mini-batches"
    assert build_parser().parse_args(command.split()[3:]) == build_parser().parse_args(argv)
