"""The query catalogue: Cypher files in the top-level ``queries/`` folder, run by name."""

from __future__ import annotations

from pathlib import Path

QUERIES_DIR = Path(__file__).resolve().parents[1] / "queries"


def query_names() -> list[str]:
    """Returns the names (file stems) of every query in the catalogue, sorted."""
    return sorted(p.stem for p in QUERIES_DIR.glob("*.cypher"))


def load_query(name_or_path: str) -> str:
    """Returns the Cypher text of a catalogue query (by name) or of a file (by path).

    Raises:
        FileNotFoundError: naming the catalogue when there is no such query.
    """
    path = Path(name_or_path)
    if not path.exists():
        path = QUERIES_DIR / f"{name_or_path.removesuffix('.cypher')}.cypher"
    if not path.exists():
        raise FileNotFoundError(f"no query {name_or_path!r}; the catalogue has: {', '.join(query_names())}")
    return path.read_text(encoding="utf-8")
