"""``python -m text.train_sentiment --tweeteval DIR --weibo DIR``: train the shipped sentiment weights.

English: logistic regressions over MiniLM vectors and over hashed n-grams,
trained on the SemEval-2017 compilation (less the tweets that are also in
TweetEval's validation split); their mixture weight is the one with the best
macro-recall on TweetEval validation.  Chinese: the same over weibo2018's train
split, the mixture chosen on a fixed held-out tenth of it, then refitted on the
whole split.  Test splits are never read here.  Deterministic: the solver is
lbfgs and the held-out tenth comes from a seeded permutation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, recall_score

from text.embeddings import Encoder
from text.ngrams import NgramFeatures
from text.sentiment import NGRAM, WEIGHTS, class_probabilities
from text.sentiment_data import LABELS, Split, semeval_training, tweeteval_split, weibo_split

log = logging.getLogger("text.train_sentiment")


@dataclass(frozen=True)
class Recipe:
    """How one language's head is trained.

    Attributes:
        features: feature names (:data:`text.sentiment.NGRAM` or embedding model names).
        C: inverse L2 strength of each feature's regression.
        class_weight: ``balanced`` or None.
        n_features: hash buckets per n-gram analyser.
        nb_scale: scale binary n-gram features by their naive-Bayes log-count ratios (NB-LR, Wang & Manning 2012).
    """

    language: str
    features: tuple[str, ...]
    C: tuple[float, ...]
    class_weight: str | None
    n_features: int
    nb_scale: bool = False


RECIPES = {
    "en": Recipe("en", ("all-MiniLM-L6-v2", NGRAM), (3.0, 10.0), "balanced", 2**18),
    "zh": Recipe("zh", (NGRAM,), (30.0,), None, 2**18, nb_scale=True),
}


class FeatureCache:
    """Embeddings of training texts, kept under ``root`` as ``.npy`` files named by model and text digest."""

    def __init__(self, root: Path | None, device: str) -> None:
        self.root = root
        self.device = device
        self._encoders: dict[str, Encoder] = {}

    def features(self, name: str, language: str, n_features: int, texts: Sequence[str]) -> object:
        """Returns ``[len(texts), D]`` features: sparse n-grams, or dense float32 unit vectors of model ``name``."""
        if name == NGRAM:
            return NgramFeatures(language, n_features).transform(texts)
        digest = hashlib.sha256("\x00".join(texts).encode("utf-8", "surrogatepass")).hexdigest()[:16]
        path = self.root / f"{name}-{digest}.npy" if self.root else None
        if path is not None and path.exists():
            return np.load(path, allow_pickle=False)
        if name not in self._encoders:
            self._encoders[name] = Encoder(name, device=self.device, batch_size=128)
        log.info("encoding %d texts with %s", len(texts), name)
        vectors = self._encoders[name].encode(texts)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, vectors)
        return vectors


@dataclass
class Fitted:
    """One feature's trained regression and, for NB-LR, its feature scale."""

    model: LogisticRegression
    scale: np.ndarray | None


def nb_ratios(x: object, labels: np.ndarray) -> np.ndarray:
    """Returns ``[D]`` log-ratios of the smoothed feature mass in the higher class to that in the lower one."""
    positive = labels == labels.max()
    p = np.asarray(x[positive].sum(axis=0)).ravel() + 1.0
    q = np.asarray(x[~positive].sum(axis=0)).ravel() + 1.0
    return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)


def _features(recipe: Recipe, cache: FeatureCache, name: str, split: Split, scale: np.ndarray | None) -> object:
    x = cache.features(name, recipe.language, recipe.n_features, split.texts)
    return x if scale is None else x.multiply(scale).tocsr()


def _fit(recipe: Recipe, cache: FeatureCache, train: Split) -> dict[str, Fitted]:
    fitted = {}
    for name, C in zip(recipe.features, recipe.C):
        scale = None
        if recipe.nb_scale and name == NGRAM:
            scale = nb_ratios(cache.features(name, recipe.language, recipe.n_features, train.texts), train.labels)
        x = _features(recipe, cache, name, train, scale)
        model = LogisticRegression(C=C, class_weight=recipe.class_weight, max_iter=5000).fit(x, train.labels)
        fitted[name] = Fitted(model, scale)
        log.info("%s/%s fitted on %d texts", recipe.language, name, len(train.texts))
    return fitted


def _probabilities(recipe: Recipe, cache: FeatureCache, fitted: dict[str, Fitted], split: Split) -> list[np.ndarray]:
    out = []
    for name in recipe.features:
        x = _features(recipe, cache, name, split, fitted[name].scale)
        model = fitted[name].model
        out.append(class_probabilities(model.coef_.astype(np.float32), model.intercept_, x))
    return out


def _metric(language: str, labels: np.ndarray, predicted: np.ndarray) -> float:
    if language == "en":
        return float(recall_score(labels, predicted, average="macro"))
    return float(accuracy_score(labels, predicted))


def choose_mix(language: str, parts: list[np.ndarray], classes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    """Returns the mixture weights (a grid of tenths over the features) with the best validation metric, and that metric.

    Ties go to the first grid point, so the choice is deterministic.
    """
    if len(parts) == 1:
        return np.ones(1), _metric(language, labels, classes[parts[0].argmax(1)])
    if len(parts) != 2:
        raise ValueError("the grid search mixes one or two features")
    best = (-1.0, np.ones(2) / 2)
    for step in range(11):
        mix = np.array([step / 10, 1 - step / 10])
        score = _metric(language, labels, classes[(mix[0] * parts[0] + mix[1] * parts[1]).argmax(1)])
        if score > best[0] + 1e-12:
            best = (score, mix)
    return best[1], best[0]


def _arrays(recipe: Recipe, fitted: dict[str, Fitted], mix: np.ndarray, classes: np.ndarray) -> dict[str, np.ndarray]:
    lang = recipe.language
    arrays = {
        f"{lang}.features": np.array(recipe.features),
        f"{lang}.mix": mix.astype(np.float32),
        f"{lang}.classes": classes.astype(np.int64),
        f"{lang}.n_features": np.array(recipe.n_features),
    }
    for name, fit in fitted.items():
        # n-gram weights are many and small: half precision keeps the file small at no measurable cost.
        dtype = np.float16 if name == NGRAM else np.float32
        arrays[f"{lang}.{name}.W"] = fit.model.coef_.astype(dtype)
        arrays[f"{lang}.{name}.b"] = fit.model.intercept_.astype(np.float32)
        if fit.scale is not None:
            arrays[f"{lang}.{name}.scale"] = fit.scale.astype(np.float16)
    return arrays


def train_english(root: Path, cache: FeatureCache) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Returns the English head's arrays and its validation figures."""
    recipe = RECIPES["en"]
    train, val = semeval_training(root), tweeteval_split(root, "val")
    fitted = _fit(recipe, cache, train)
    classes = np.arange(len(LABELS))
    parts = _probabilities(recipe, cache, fitted, val)
    mix, score = choose_mix("en", parts, classes, val.labels)
    single = {f"val_macro_recall_{n}": _metric("en", val.labels, p.argmax(1)) for n, p in zip(recipe.features, parts)}
    return _arrays(recipe, fitted, mix, classes), {"val_macro_recall": score, **single}


def _rows(split: Split, idx: np.ndarray) -> Split:
    return Split([split.texts[i] for i in idx], split.labels[idx])


def train_chinese(root: Path, cache: FeatureCache) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Returns the Chinese head's arrays (refitted on all of train) and its held-out figures."""
    recipe = RECIPES["zh"]
    full = weibo_split(root, "train")
    order = np.random.default_rng(0).permutation(len(full.texts))
    held, rest = order[: len(order) // 10], order[len(order) // 10 :]
    classes = np.array([LABELS.index("negative"), LABELS.index("positive")])
    fitted = _fit(recipe, cache, _rows(full, rest))
    parts = _probabilities(recipe, cache, fitted, _rows(full, held))
    mix, score = choose_mix("zh", parts, classes, full.labels[held])
    single = {f"heldout_accuracy_{n}": _metric("zh", full.labels[held], classes[p.argmax(1)]) for n, p in zip(recipe.features, parts)}
    fitted = _fit(recipe, cache, full)
    return _arrays(recipe, fitted, mix, classes), {"heldout_accuracy": score, **single}


def main(argv: Sequence[str] | None = None) -> int:
    """Trains both heads and writes the weights file.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m text.train_sentiment", description=__doc__.splitlines()[0])
    parser.add_argument("--tweeteval", type=Path, required=True, help="folder of tweeteval_sentiment")
    parser.add_argument("--weibo", type=Path, required=True, help="folder of weibo2018_sentiment")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--cache", type=Path, help="keep the training texts' embeddings here between runs")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cache = FeatureCache(args.cache, args.device)
    en, en_figures = train_english(args.tweeteval, cache)
    zh, zh_figures = train_chinese(args.weibo, cache)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, languages=np.array(["en", "zh"]), **en, **zh)
    print(json.dumps({"out": str(args.out), "en": en_figures, "zh": zh_figures}, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
