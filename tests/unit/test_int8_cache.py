"""The int8 model's cache key: it follows the source weights and the exporter (no Neo4j, no model run)."""

from pathlib import Path

from text.int8 import cache_key, verified, weights_sha256


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
