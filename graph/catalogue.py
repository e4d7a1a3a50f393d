"""The query catalogue: Cypher files in the top-level ``queries/`` folder, run by name.

A query file states its parameters as ``$name``; an optional one has a default on a
comment line of its own, ``// default $name = JSON``, which the runners here fill in
when the caller leaves it out.  A line ``// param $name: TYPE`` (``string``, ``integer``,
``float``, ``boolean`` or ``any``) declares how a value given as text on the command line
is read: ``user=123`` stays the text ``"123"`` for a ``string`` parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import neo4j
import pandas as pd

from graph.store import GraphStore

QUERIES_DIR = Path(__file__).resolve().parents[1] / "queries"

_DEFAULT = re.compile(r"^\s*//\s*default\s+\$(\w+)\s*=\s*(.+?)\s*$", re.MULTILINE)
_TYPE = re.compile(r"^\s*//\s*param\s+\$(\w+)\s*:\s*(\w+)\s*$", re.MULTILINE)
_PARAMETER = re.compile(r"\$(\w+)")
_COMMENT = re.compile(r"//.*$", re.MULTILINE)


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


def query_parameters(text: str) -> dict[str, Any]:
    """Returns each ``$parameter`` of a query mapped to its declared default, or to ``...`` when it is required."""
    defaults = {name: json.loads(value) for name, value in _DEFAULT.findall(text)}
    names = dict.fromkeys(_PARAMETER.findall(_COMMENT.sub("", text)))
    return {name: defaults.get(name, ...) for name in names}


class ParameterError(ValueError):
    """Raised for a missing, malformed or mistyped query parameter; the message says what to give."""


def _as_integer(raw: str) -> int:
    return int(raw)


def _as_float(raw: str) -> float:
    return float(raw)


def _as_boolean(raw: str) -> bool:
    if raw.lower() not in ("true", "false"):
        raise ValueError(raw)
    return raw.lower() == "true"


def _as_string(raw: str) -> str:
    # A value the shell passed in JSON quotes ('"123"') is the text inside them.
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        decoded = json.loads(raw)
        if isinstance(decoded, str):
            return decoded
    return raw


def _as_any(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


_CONVERTERS = {"string": _as_string, "integer": _as_integer, "float": _as_float, "boolean": _as_boolean, "any": _as_any}


def parameter_types(text: str) -> dict[str, str]:
    """Returns each parameter's declared type (``// param $name: TYPE``); undeclared ones are ``any``.

    Raises:
        ParameterError: for a type that is not one of ``string``, ``integer``, ``float``, ``boolean``, ``any``.
    """
    declared = dict(_TYPE.findall(text))
    for name, kind in declared.items():
        if kind not in _CONVERTERS:
            raise ParameterError(f"parameter ${name} declares unknown type {kind!r}; use one of {', '.join(_CONVERTERS)}")
    return {name: declared.get(name, "any") for name in query_parameters(text)}


def parse_arguments(name: str, text: str, arguments: Iterable[str]) -> dict[str, Any]:
    """Returns ``NAME=VALUE`` command-line arguments as parameters of query ``name``, each value read as
    its declared type (``null`` is null for every type).

    Raises:
        ParameterError: for an argument without ``=``, a parameter the query does not take, or a value
            that is not of the declared type.
    """
    types = parameter_types(text)
    params: dict[str, Any] = {}
    for argument in arguments:
        key, sep, raw = argument.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParameterError(f"expected NAME=VALUE, got {argument!r}")
        if key not in types:
            raise ParameterError(f"query {name!r} takes no parameter {key!r}; it takes: {', '.join(types) or 'none'}")
        if raw == "null":
            params[key] = None
            continue
        try:
            params[key] = _CONVERTERS[types[key]](raw)
        except ValueError as exc:
            raise ParameterError(f"query {name!r}: {key}={raw!r} is not of type {types[key]}") from exc
    return params


def bind_parameters(name: str, text: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Returns ``params`` completed with the query's declared defaults.

    Raises:
        ParameterError: naming the required parameters that ``params`` lacks, with an example call.
    """
    declared = query_parameters(text)
    missing = [p for p, default in declared.items() if default is ... and p not in params]
    if missing:
        example = " ".join(f"{p}=…" for p in missing)
        raise ParameterError(f"query {name!r} needs {', '.join(missing)}: python -m jobs query {name} {example}")
    return {**{p: d for p, d in declared.items() if d is not ...}, **params}


def run_query(name: str, store: GraphStore | None = None, **params: Any) -> pd.DataFrame:
    """Runs catalogue query ``name`` in a read transaction, on ``store`` or on the configured server.

    Optional parameters take their declared defaults; Neo4j dates and times become pandas timestamps.

    Returns:
        One row per record, one column per returned key, in the query's order.
    """
    text = load_query(name)
    bound = bind_parameters(name, text, params)

    def work(tx: neo4j.ManagedTransaction) -> pd.DataFrame:
        return tx.run(text, bound).to_df(parse_dates=True)

    # A store the caller passed stays open; one opened here is closed here.
    with nullcontext(store) if store is not None else GraphStore.from_settings() as target:
        with target.session() as session:
            return session.execute_read(work)
