"""An int8 ONNX Runtime backend for packaged sentence-transformers models on a CPU.

The int8 model is derived locally from the packaged weights, never downloaded: the first use
exports the transformer and its mean pooling to ONNX with ``torch.onnx.export``, fuses it with
ONNX Runtime's transformer optimiser and quantises its matrix products to int8 with dynamic
activation scales.  The artefact goes to the cache directory under a key made of the source
weights' sha256 and the exporter's version, so new weights or a new exporter build a new one.
A build is kept only if its vectors match the fp32 model's on probe sentences; a cached one is
used only if its sha256 still matches the one recorded when it was built.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from graph.digest import sha256_of
from text.models import weights_sha256

log = logging.getLogger(__name__)

RECIPE = 1
"""Version of the export and quantisation steps below; part of the cache key."""

MIN_PROBE_COSINE = 0.99
"""A build whose vectors fall below this cosine to fp32 on any probe sentence is rejected."""

PROBES = (
    "Just finished a 20 mile hike up the ridge, legs are done but the view was worth it",
    "@user the new phone update drained my battery in two hours, absolutely useless",
    "Anyone else think the season finale was rushed? So many loose ends.",
    "Reading about transformers and graph neural networks on a rainy Sunday",
    "Congrats to the team on the championship!!! What a game",
    "Traffic on the bridge again. Late for work for the third time this week.",
    "I love jazz, vinyl records and long walks with my dog",
    "Bitcoin fell 8% overnight; analysts blame the new regulations",
)


class BuildError(RuntimeError):
    """Raised when an exported int8 model does not reproduce the fp32 vectors."""


def require_runtime() -> None:
    """Raises ModuleNotFoundError, naming the extra to install, when ONNX or ONNX Runtime is missing."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"the int8 embedding backend needs {exc.name!r}: pip install 'sociograph[int8]'") from None


def exporter_version() -> str:
    """Returns the versions that shape an export: this recipe, torch, onnx and ONNX Runtime."""
    import onnx
    import onnxruntime

    return f"recipe{RECIPE}-torch{torch.__version__}-onnx{onnx.__version__}-ort{onnxruntime.__version__}"


def cache_key(weights: str, exporter: str) -> str:
    """Returns the 16-hex-digit key of an artefact built from ``weights`` (a sha256) by ``exporter``."""
    return hashlib.sha256(f"{weights}\x00{exporter}".encode()).hexdigest()[:16]


class _MeanPooled(torch.nn.Module):
    """The transformer followed by sentence-transformers' mean pooling and L2 normalisation."""

    def __init__(self, transformer: torch.nn.Module) -> None:
        super().__init__()
        self.transformer = transformer

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)


def _check_mean_pooled(model_dir: Path) -> None:
    """Raises ValueError unless the model is a transformer, mean pooling and (optionally) normalisation."""
    modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((model_dir / "modules.json").read_text())]
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text()) if (model_dir / "1_Pooling").is_dir() else {}
    if modules[:2] != ["Transformer", "Pooling"] or not pooling.get("pooling_mode_mean_tokens") or set(modules[2:]) - {"Normalize"}:
        raise ValueError(f"the int8 backend exports mean-pooled transformers only; {model_dir} has {modules}")


def _export(model_dir: Path, out: Path) -> tuple[np.ndarray, int]:
    """Writes the fp32 ONNX graph of the model to ``out``.

    Returns:
        The fp32 vectors of :data:`PROBES` (``[len(PROBES), dim]``) and the hidden size.
    """
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    reference = model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    wrapped = _MeanPooled(model[0].model).eval()
    sample = torch.ones(2, 8, dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            wrapped, (sample, sample), str(out),
            input_names=["input_ids", "attention_mask"], output_names=["embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}},
            opset_version=17, dynamo=False,
        )
    return reference, int(model[0].model.config.hidden_size)


def build(model_dir: Path, out: Path) -> None:
    """Exports, fuses and quantises the model in ``model_dir`` to the int8 ONNX file ``out``, with ``out.json`` beside it.

    Raises:
        BuildError: when the int8 vectors of the probe sentences fall below :data:`MIN_PROBE_COSINE` to fp32.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    _check_mean_pooled(model_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        fp32, fused, int8 = (Path(tmp) / name for name in ("fp32.onnx", "fused.onnx", "int8.onnx"))
        reference, hidden = _export(model_dir, fp32)
        config = json.loads((model_dir / "config.json").read_text())
        optimizer.optimize_model(
            str(fp32), model_type="bert", num_heads=config["num_attention_heads"], hidden_size=hidden, opt_level=1
        ).save_model_to_file(str(fused))
        # Per-channel weight scales keep MiniLM's vectors within the cosine bound; per-tensor ones do not.
        # The fused graph holds com.microsoft operators that ONNX shape inference cannot type; their
        # outputs are float32, and ONNX Runtime 1.32's quantiser refuses to guess that.
        quantize_dynamic(str(fused), str(int8), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        cosines = (Int8Model(int8, model_dir).encode(list(PROBES)) * reference).sum(axis=1)
        if cosines.min() < MIN_PROBE_COSINE:
            raise BuildError(f"int8 export of {model_dir} reaches cosine {cosines.min():.4f} to fp32 on a probe sentence")
        manifest = {"sha256": sha256_of(int8), "exporter": exporter_version(), "probe_min_cosine": float(cosines.min())}
        int8.replace(out)
        out.with_suffix(".json").write_text(json.dumps(manifest, indent=1))
    log.info("built int8 model %s (probe cosine to fp32 >= %.4f)", out, cosines.min())


@contextlib.contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """Holds an exclusive lock on ``lock``, so two processes never build the same artefact at once."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def verified(path: Path) -> bool:
    """Returns whether ``path`` exists and its sha256 is the one its manifest recorded at build."""
    manifest = path.with_suffix(".json")
    if not path.is_file() or not manifest.is_file():
        return False
    return json.loads(manifest.read_text()).get("sha256") == sha256_of(path)


def artefact(model_name: str, model_dir: Path, cache_dir: Path) -> Path:
    """Returns the path of the verified int8 model of ``model_dir``, building it first when missing or corrupt."""
    require_runtime()
    path = cache_dir / "embeddings" / f"{model_name}-int8-{cache_key(weights_sha256(model_dir), exporter_version())}.onnx"
    with _exclusive(path.with_suffix(".lock")):
        if not verified(path):
            log.info("building the int8 model of %s into %s (once per weights and exporter)", model_name, path)
            build(model_dir, path)
    return path


class Int8Model:
    """Runs an int8 ONNX sentence model with the packaged tokenizer.

    Args:
        path: the ONNX file.
        model_dir: the packaged model directory (tokenizer and maximum sequence length).
        threads: intra-op threads; default torch's thread count, so ``OMP_NUM_THREADS`` applies to both backends.
    """

    def __init__(self, path: Path, model_dir: Path, threads: int | None = None) -> None:
        import onnxruntime
        from transformers import AutoTokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        self.max_length = int(json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"])

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Returns ``[len(texts), dim]`` float32 unit vectors, encoding the texts in batches of similar length."""
        # Longest first, as sentence-transformers batches, so padding stays small and the first batch shows peak memory.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out: np.ndarray | None = None
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            tokens = self.tokenizer(
                [texts[i] for i in rows], padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
            )
            feed = {"input_ids": tokens["input_ids"].astype(np.int64), "attention_mask": tokens["attention_mask"].astype(np.int64)}
            vectors = self.session.run(None, feed)[0]
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)
