"""``python -m text.train_emotion --tweeteval-emotion DIR``: train the shipped emotion adapter.

LoRA over the packaged MiniLM's attention and feed-forward layers, with a linear head on
mean-pooled states, trained on TweetEval emotion's train split with class-balanced
cross-entropy.  Each epoch is scored by macro-F1 on the validation split and the best
epoch is kept.  Then a class-balanced logistic regression over hashed n-grams is fitted on
train for each strength in :data:`NGRAM_C`, and the strength and mixture weight (tenths,
0 meaning no n-grams) with the best validation macro-F1 are written.  The test split is
never read here.  Seeded, and single-process
deterministic on a CPU for a given thread count (``--threads``): float sums change
order with the thread count, so another count gives slightly different weights.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from graph.digest import sha256_of
from text.emotion import EMOTIONS, WEIGHTS, Adapter, EmotionClassifier, load_base, mean_pooled
from text.models import packaged_model, weights_sha256
from text.ngrams import NgramFeatures
from text.sentiment import class_probabilities
from text.sentiment_data import Split, tweeteval_split

log = logging.getLogger("text.train_emotion")

TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense")
"""The linear layers of every encoder layer that get an adapter."""
NGRAM_C = (3.0, 10.0, 30.0)
"""Inverse L2 strengths tried for the n-gram regression."""
NGRAM_FEATURES = 2**16
"""Hash buckets per n-gram analyser: 3,257 training tweets fill few of them."""


@dataclass(frozen=True)
class Recipe:
    """How the adapter is trained.

    Attributes:
        base: the packaged model adapted.
        rank: :math:`r`, the rank of each update.
        alpha: :math:`\\alpha`; updates are scaled by ``alpha / rank``.
        dropout: dropout on the adapters' inputs and on the pooled vector.
        lr: peak AdamW learning rate, reached after ``warmup`` of the steps and then decayed linearly to 0.
        epochs: passes over the train split; the best on validation is kept.
        batch_size: texts per step.
        max_length: tokens read per text.
        seed: seeds the initialisation, the dropout and the order of texts.
    """

    base: str = "all-MiniLM-L6-v2"
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.1
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    epochs: int = 3
    batch_size: int = 32
    max_length: int = 96
    seed: int = 0


class LoRALinear(torch.nn.Module):
    """A frozen linear layer plus a trainable low-rank update ``scale * B A``; ``B`` starts at zero.

    Args:
        base: the layer adapted (its parameters are frozen).
        rank: the rank :math:`r` of the update.
        scale: :math:`\\alpha / r`.
        dropout: dropout on the update's input.
    """

    def __init__(self, base: torch.nn.Linear, rank: int, scale: float, dropout: float) -> None:
        super().__init__()
        self.base = base.requires_grad_(False)
        self.A = torch.nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.B = torch.nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = scale
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Returns ``[..., d_out]``: the base output plus the scaled low-rank update."""
        return self.base(x) + self.scale * (self.dropout(x) @ self.A.T @ self.B.T)


def attach(transformer: torch.nn.Module, recipe: Recipe) -> dict[str, LoRALinear]:
    """Freezes ``transformer`` and replaces each :data:`TARGETS` layer by a :class:`LoRALinear`.

    Returns:
        The adapters by module path.
    """
    transformer.requires_grad_(False)
    adapters = {}
    for index, _ in enumerate(transformer.encoder.layer):
        for target in TARGETS:
            name = f"encoder.layer.{index}.{target}"
            parent, _, attribute = name.rpartition(".")
            adapter = LoRALinear(transformer.get_submodule(name), recipe.rank, recipe.alpha / recipe.rank, recipe.dropout)
            setattr(transformer.get_submodule(parent), attribute, adapter)
            adapters[name] = adapter
    return adapters


def _schedule(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return step / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


class Trainer:
    """Trains an adapter and a head on one split, scoring each epoch on another.

    Args:
        recipe: the hyper-parameters.
    """

    def __init__(self, recipe: Recipe) -> None:
        self.recipe = recipe
        torch.manual_seed(recipe.seed)
        self.transformer, self.tokenizer = load_base(recipe.base)
        self.adapters = attach(self.transformer, recipe)
        self.head = torch.nn.Linear(packaged_model(recipe.base).dim, len(EMOTIONS))

    def _pooled(self, texts: Sequence[str]) -> torch.Tensor:
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.recipe.max_length, return_tensors="pt")
        return mean_pooled(self.transformer, dict(batch))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Returns ``[len(texts), 4]`` class probabilities under the current parameters."""
        self.transformer.eval()
        self.head.eval()
        with torch.inference_mode():
            parts = [torch.softmax(self.head(self._pooled(texts[i : i + 64])), -1) for i in range(0, len(texts), 64)]
        return torch.cat(parts).numpy()

    def adapter(self) -> Adapter:
        """Returns the current parameters as the shipped file's arrays, without n-grams (mixture weight 0)."""
        lora = {name: (m.A.detach().numpy().copy(), m.B.detach().numpy().copy()) for name, m in self.adapters.items()}
        head = (self.head.weight.detach().numpy().copy(), self.head.bias.detach().numpy().copy())
        r = self.recipe
        no_ngrams = (np.zeros((len(EMOTIONS), 0), np.float32), np.zeros(len(EMOTIONS), np.float32))
        return Adapter(
            r.base, weights_sha256(packaged_model(r.base).path()), EMOTIONS, r.max_length, r.alpha / r.rank, lora, head,
            no_ngrams, 0, 0.0,
        )

    def fit(self, train: Split, val: Split) -> tuple[Adapter, list[dict[str, float]]]:
        """Trains for ``recipe.epochs`` epochs.

        Returns:
            The adapter of the epoch with the best validation macro-F1 (the earliest on ties), and one
            ``{"epoch", "loss", "val_macro_f1", "seconds"}`` per epoch.
        """
        r = self.recipe
        params = [p for p in (*self.transformer.parameters(), *self.head.parameters()) if p.requires_grad]
        optimiser = torch.optim.AdamW(params, lr=r.lr, weight_decay=r.weight_decay)
        total = r.epochs * math.ceil(len(train.texts) / r.batch_size)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: _schedule(s, total, int(r.warmup * total)))
        counts = np.bincount(train.labels, minlength=len(EMOTIONS))
        loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(len(train.labels) / (len(EMOTIONS) * counts), dtype=torch.float32))
        order = torch.Generator().manual_seed(r.seed)
        history: list[dict[str, float]] = []
        best: tuple[float, Adapter] | None = None
        for epoch in range(r.epochs):
            start = time.perf_counter()
            self.transformer.train()
            self.head.train()
            total_loss = 0.0
            permutation = torch.randperm(len(train.texts), generator=order).tolist()
            for i in range(0, len(permutation), r.batch_size):
                rows = permutation[i : i + r.batch_size]
                pooled = torch.nn.functional.dropout(self._pooled([train.texts[j] for j in rows]), r.dropout, training=True)
                loss = loss_fn(self.head(pooled), torch.from_numpy(train.labels[rows]))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                scheduler.step()
                total_loss += loss.item() * len(rows)
            score = float(f1_score(val.labels, self.probabilities(val.texts).argmax(1), average="macro"))
            history.append({"epoch": epoch + 1, "loss": round(total_loss / len(train.texts), 4), "val_macro_f1": round(score, 4),
                            "seconds": round(time.perf_counter() - start, 1)})
            log.info("epoch %s", history[-1])
            if best is None or score > best[0]:
                best = (score, self.adapter())
        if best is None:
            raise ValueError("the recipe trains no epochs")
        return best[1], history


def with_ngrams(adapter: Adapter, model_val: np.ndarray, train: Split, val: Split) -> tuple[Adapter, dict[str, float]]:
    """Fits the n-gram regression for each of :data:`NGRAM_C` and picks it and the mixture weight on validation.

    Args:
        model_val: ``[len(val), 4]`` the adapted model's validation probabilities.

    Returns:
        The adapter with the chosen n-gram head and weight (ties go to the smaller weight, then the
        smaller strength), and ``{"C", "mix", "val_macro_f1"}``.
    """
    features = NgramFeatures("en", NGRAM_FEATURES)
    x_train, x_val = features.transform(train.texts), features.transform(val.texts)
    best: tuple[float, float, float, tuple[np.ndarray, np.ndarray]] | None = None
    for C in NGRAM_C:
        model = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(x_train, train.labels)
        W, b = model.coef_.astype(np.float16).astype(np.float32), model.intercept_
        ngram_val = class_probabilities(W, b, x_val)
        for step in range(11):
            mix = step / 10
            score = float(f1_score(val.labels, ((1 - mix) * model_val + mix * ngram_val).argmax(1), average="macro"))
            if best is None or score > best[0] + 1e-12 or (abs(score - best[0]) <= 1e-12 and mix < best[2]):
                best = (score, C, mix, (W, b))
    score, C, mix, ngram = best
    chosen = Adapter(adapter.base, adapter.base_sha256, adapter.labels, adapter.max_length, adapter.scale, adapter.lora,
                     adapter.head, ngram, NGRAM_FEATURES, mix)
    return chosen, {"C": C, "mix": mix, "val_macro_f1": round(score, 4)}


def main(argv: Sequence[str] | None = None) -> int:
    """Trains the adapter and writes the weights file.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m text.train_emotion", description=__doc__.splitlines()[0])
    parser.add_argument("--tweeteval-emotion", type=Path, required=True, help="folder of tweeteval_emotion")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--epochs", type=int, default=Recipe.epochs)
    parser.add_argument("--lr", type=float, default=Recipe.lr)
    parser.add_argument("--rank", type=int, default=Recipe.rank, help="rank of each update (alpha stays twice the rank)")
    parser.add_argument("--seed", type=int, default=Recipe.seed)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the shipped file used 2)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    recipe = Recipe(rank=args.rank, alpha=2.0 * args.rank, lr=args.lr, epochs=args.epochs, seed=args.seed)
    train = tweeteval_split(args.tweeteval_emotion, "train", len(EMOTIONS))
    val = tweeteval_split(args.tweeteval_emotion, "val", len(EMOTIONS))
    adapter, history = Trainer(recipe).fit(train, val)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    adapter.save(args.out)
    # The mixture is chosen on what the shipped file computes: float16 factors merged into the model.
    merged = EmotionClassifier(args.out, sha256=sha256_of(args.out), device="cpu")
    adapter, mixture = with_ngrams(adapter, merged.model_probabilities(val.texts), train, val)
    adapter.save(args.out)
    print(json.dumps(
        {"out": str(args.out), "sha256": sha256_of(args.out), "recipe": asdict(recipe), "epochs": history, "ngrams": mixture},
        sort_keys=True,
    ))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
