"""Readers for the sentiment datasets in ``../shared/datasets`` (TweetEval / SemEval-2017 and weibo2018)."""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
"""Class ids 0, 1, 2, as in TweetEval's ``mapping.txt``."""

SEMEVAL_COMPILATION = "semeval2017_task4A_english_dev_compilation.tsv.gz"


@dataclass(frozen=True)
class Split:
    """Texts and their class ids (indices into :data:`LABELS`)."""

    texts: list[str]
    labels: np.ndarray

    def head(self, n: int) -> "Split":
        """Returns the first ``n`` rows."""
        return Split(self.texts[:n], self.labels[:n])


def _lines(path: Path) -> list[str]:
    # Only "\n" ends a row: str.splitlines would also split on U+2028 inside a tweet.
    text = path.read_text(encoding="utf-8")
    return text.removesuffix("\n").split("\n")


def tweeteval_split(root: Path, split: str, classes: int = len(LABELS)) -> Split:
    """Returns a TweetEval task's ``train``, ``val`` or ``test`` split; labels are the task's class ids
    (for sentiment, 0 negative, 1 neutral, 2 positive).

    Raises:
        ValueError: naming the file and line of a label that is not an id below ``classes``, or the
            files when their line counts differ.
    """
    texts = _lines(root / f"{split}_text.txt")
    labels_path = root / f"{split}_labels.txt"
    labels = []
    for number, field in enumerate(_lines(labels_path), 1):
        if not field.strip().isdigit() or int(field) >= classes:
            raise ValueError(f"{labels_path}:{number}: label {field!r} is not a class id 0-{classes - 1}")
        labels.append(int(field))
    if len(texts) != len(labels):
        raise ValueError(f"{root}/{split}_text.txt has {len(texts)} lines but {split}_labels.txt has {len(labels)}")
    return Split(texts, np.array(labels, dtype=np.int64))


def _overlap_key(text: str) -> str:
    text = re.sub(r"https?://\S+", "", text.lower())
    return re.sub(r"\W+", " ", re.sub(r"@\w+", "@user", text)).strip()


def semeval_training(root: Path) -> Split:
    """Returns the SemEval-2017 English compilation, less every tweet that is also in TweetEval's validation split.

    SOURCE.md counts 408 validation tweets inside the compilation; keeping them
    would let model selection see its own training data.
    """
    index = {name: i for i, name in enumerate(LABELS)}
    held_out = {_overlap_key(t) for t in tweeteval_split(root, "val").texts}
    texts, labels = [], []
    with gzip.open(root / SEMEVAL_COMPILATION, "rt", encoding="utf-8") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 3 and fields[1] in index and _overlap_key(fields[2]) not in held_out:
                texts.append(fields[2])
                labels.append(index[fields[1]])
    return Split(texts, np.array(labels, dtype=np.int64))


def weibo_split(root: Path, split: str) -> Split:
    """Returns weibo2018's ``train`` or ``test`` split with labels 0 negative, 2 positive (the :data:`LABELS` ids)."""
    texts, labels = [], []
    with gzip.open(root / f"{split}.txt.gz", "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split(",", 2)
            if len(fields) != 3 or fields[1] not in ("0", "1"):
                raise ValueError(f"{root}/{split}.txt.gz:{number}: expected 'mid,label,text' with label 0 or 1")
            texts.append(fields[2])
            labels.append(2 if fields[1] == "1" else 0)
    return Split(texts, np.array(labels, dtype=np.int64))
