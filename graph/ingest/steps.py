"""Load plans: an input becomes an ordered list of steps (nodes before the relationships that need them)."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from graph.digest import sha256_of
from graph.ingest.kinds import FOLLOWS, INTERACTED, NODE_KINDS, REL_KINDS, NodeKind, RelKind
from graph.ingest.loader import Loader, LoadSummary
from graph.ingest.readers import InputError, read_canonical, read_whitespace
from graph.ingest.rows import RawRow, Reject


@dataclass(frozen=True)
class Step:
    """One kind loaded from one input.

    Attributes:
        kind: what the rows become.
        rows: opens the input and returns its rows lazily (called once per load).
        source: the input's name in the summary.
        checkpoint: a key unique to this input's content and to how it is read (encoding, header
            line), for resuming: rows are counted as they are read, so a count taken under one
            reading does not hold under another.
        create_src / create_dst: create missing endpoints instead of rejecting the row.
    """

    kind: NodeKind | RelKind
    rows: Callable[[], Iterable[RawRow | Reject]]
    source: str
    checkpoint: str
    create_src: bool = False
    create_dst: bool | None = None


def file_digest(*paths: Path) -> str:
    """Returns a short SHA-256 digest over the contents of ``paths``, in order."""
    return sha256_of(*paths)[:24]


def _codec(encoding: str) -> str:
    """Returns Python's name for the codec ``encoding`` names (``UTF8`` and ``utf-8`` give one), else ``encoding``."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding


def _list_options(encoding: str, header: bool | None) -> str:
    """Returns how a generic list is read, for its checkpoint key: e.g. ``utf-8:header=auto``."""
    return f"{_codec(encoding)}:header={'auto' if header is None else 'yes' if header else 'no'}"


def _existing(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    return path


def canonical_steps(
    nodes: Mapping[str, Path], relationships: Mapping[str, Path], *, encoding: str = "utf-8"
) -> list[Step]:
    """Returns the steps that load canonical files: every node file first, then relationships.

    Raises:
        InputError: for an unknown kind or a missing file.
    """
    steps = []
    for name, path in nodes.items():
        if name not in NODE_KINDS:
            raise InputError(f"unknown node kind {name!r}; choose from {', '.join(NODE_KINDS)}")
        kind = NODE_KINDS[name]
        steps.append(_file_step(kind, _existing(path), encoding))
    for name, path in relationships.items():
        if name not in REL_KINDS:
            raise InputError(f"unknown relationship kind {name!r}; choose from {', '.join(REL_KINDS)}")
        steps.append(_file_step(REL_KINDS[name], _existing(path), encoding))
    return steps


def _file_step(kind: NodeKind | RelKind, path: Path, encoding: str) -> Step:
    return Step(
        kind,
        lambda: read_canonical(path, kind, encoding=encoding),
        str(path),
        f"{kind.name}:{_codec(encoding)}:{file_digest(path)}",
    )


def canonical_dir_steps(directory: Path, *, encoding: str = "utf-8") -> list[Step]:
    """Returns the steps for a directory holding ``<kind>.<csv|tsv|jsonl|parquet>`` files.

    Raises:
        InputError: when the directory holds no canonical file.
    """
    def find(kind_name: str) -> Path | None:
        for ext in (".csv", ".tsv", ".jsonl", ".parquet"):
            candidate = directory / f"{kind_name}{ext}"
            if candidate.exists():
                return candidate
        return None

    nodes = {name: p for name in NODE_KINDS if (p := find(name)) is not None}
    rels = {name: p for name in REL_KINDS if (p := find(name)) is not None}
    if not nodes and not rels:
        raise InputError(f"{directory}: no canonical files (<kind>.csv|.tsv|.jsonl|.parquet)")
    return canonical_steps(nodes, rels, encoding=encoding)


def interactions_steps(
    path: Path, *, kind: str = "interaction", encoding: str = "utf-8", header: bool | None = None
) -> list[Step]:
    """Returns the step for a generic ``user item [weight]`` list.

    Users and items (as ``Post``) are created as needed; each line becomes an
    ``INTERACTED {kind, weight}`` relationship (weight 1.0 when absent).
    """
    path = _existing(path)

    def rows() -> Iterable[RawRow | Reject]:
        for row in read_whitespace(path, ["src", "dst", "weight"], optional=1, encoding=encoding, header=header):
            if isinstance(row, RawRow):
                row.fields["kind"] = kind
                if row.fields["weight"] is None:
                    row.fields["weight"] = "1"
            yield row

    checkpoint = f"interactions:{kind}:{_list_options(encoding, header)}:{file_digest(path)}"
    return [Step(INTERACTED, rows, str(path), checkpoint, True, True)]


def edges_steps(path: Path, *, encoding: str = "utf-8", header: bool | None = None) -> list[Step]:
    """Returns the step for a generic ``src dst`` edge list, loaded as ``FOLLOWS`` between users created as needed."""
    path = _existing(path)
    return [
        Step(
            FOLLOWS,
            lambda: read_whitespace(path, ["src", "dst"], encoding=encoding, header=header),
            str(path),
            f"edges:{_list_options(encoding, header)}:{file_digest(path)}",
            True,
            True,
        )
    ]


def run_steps(loader: Loader, steps: Iterable[Step]) -> LoadSummary:
    """Runs every step through ``loader`` in order.

    Returns:
        The loader's summary of all steps.
    """
    for step in steps:
        loader.load(
            step.kind,
            step.rows(),
            step.source,
            checkpoint=step.checkpoint,
            create_src=step.create_src,
            create_dst=step.create_dst,
        )
    return loader.summary
