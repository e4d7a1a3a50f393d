"""The emotion adapter: what training computes is what the shipped file computes after merging, and files are pinned."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from graph.digest import sha256_of
from text.emotion import EMOTIONS, WEIGHTS, WEIGHTS_SHA256, Adapter, EmotionClassifier
from text.sentiment_data import tweeteval_split
from text.train_emotion import Recipe, Trainer

TEXTS = ["I am so angry about this delay", "what a lovely sunny morning", "tomorrow will be better, I just know it", "I miss her every day"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Trainer, Path]:
    """A trainer whose adapters and head are random (B is zero only at the start of training), saved to a file."""
    torch.manual_seed(3)
    trainer = Trainer(Recipe(rank=4, alpha=8.0))
    with torch.no_grad():
        for module in trainer.adapters.values():
            # Round to float16 as the file does, so both sides hold identical numbers.
            module.A.copy_(module.A.half().float())
            module.B.copy_((torch.randn_like(module.B) * 0.05).half().float())
        trainer.head.weight.normal_(0.0, 0.5)
    path = tmp_path_factory.mktemp("emotion") / "emotion.npz"
    trainer.adapter().save(path)
    return trainer, path


def test_merged_file_computes_what_the_trained_adapters_compute(trained: tuple[Trainer, Path]) -> None:
    trainer, path = trained
    expected = trainer.probabilities(TEXTS)
    classifier = EmotionClassifier(path, sha256=sha256_of(path), device="cpu")
    got = classifier.probabilities(TEXTS)
    np.testing.assert_allclose(got, expected, atol=2e-4)
    # The update is not negligible: without it the base model gives other probabilities.
    base = Trainer(Recipe(rank=4, alpha=8.0))
    base.head.load_state_dict(trainer.head.state_dict())
    assert np.abs(base.probabilities(TEXTS) - expected).max() > 1e-2


def test_a_file_that_is_not_the_pinned_one_is_refused(trained: tuple[Trainer, Path]) -> None:
    _, path = trained
    with pytest.raises(ValueError, match=str(path)):
        EmotionClassifier(path, device="cpu")


def test_the_shipped_file_is_the_pinned_one_and_round_trips(tmp_path: Path) -> None:
    assert sha256_of(WEIGHTS) == WEIGHTS_SHA256
    adapter = Adapter.load(WEIGHTS)
    assert adapter.labels == EMOTIONS and len(adapter.lora) == 36
    copy = tmp_path / "copy.npz"
    adapter.save(copy)
    again = Adapter.load(copy)
    assert again.lora.keys() == adapter.lora.keys()
    for name, (A, B) in adapter.lora.items():
        np.testing.assert_array_equal(again.lora[name][0], A)
        np.testing.assert_array_equal(again.lora[name][1], B)


def test_blank_and_chinese_texts_get_no_emotion() -> None:
    result = EmotionClassifier(device="cpu").predict(["", "   ", "今天真开心，太棒了！", "I can't stop crying, I lost my best friend", None])
    assert result.labels[0] is None and result.labels[1] is None and result.labels[2] is None and result.labels[4] is None
    assert result.labels[3] == "sadness"
    assert np.isnan(result.scores[[0, 1, 2, 4]]).all() and 0.25 < result.scores[3] <= 1.0
    np.testing.assert_allclose(result.probabilities[3].sum(), 1.0, atol=1e-5)


@pytest.mark.parametrize("label, message", [("4", "label '4'"), ("joy", "label 'joy'"), ("", "label ''")])
def test_a_bad_label_names_file_and_line(tmp_path: Path, label: str, message: str) -> None:
    (tmp_path / "val_text.txt").write_text("one\ntwo\nthree\n", encoding="utf-8")
    (tmp_path / "val_labels.txt").write_text(f"0\n{label}\n1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"val_labels\.txt:2: {message}"):
        tweeteval_split(tmp_path, "val", len(EMOTIONS))
