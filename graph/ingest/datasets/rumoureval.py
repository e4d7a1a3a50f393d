"""Load plan for RumourEval 2017: posts with text, time, stance and thread, and the reply trees.

JSON line numbers
-----------------
``posts.json`` and ``structures.json`` are JSON documents, whose line breaks are
formatting, not records.  Their rows use ``line`` = the 1-based index of the
post in ``posts.json``'s key order, or of the reply edge in a depth-first,
pre-order walk of ``structures.json`` in key order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from graph.ingest.datasets.common import checkpoint_key, namespaced, require_file
from graph.ingest.kinds import POSTS, REPLY_TO
from graph.ingest.readers import InputError
from graph.ingest.rows import RawRow, Reject
from graph.ingest.steps import Step

RUMOUREVAL = "rumoureval"

_RUMOUREVAL_PARTS = ("traindev", "test")


def _load_json(path: Path) -> Any:
    try:
        with path.open("r", encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8: {exc.reason}") from None


def _json_object(path: Path) -> dict[str, Any]:
    data = _load_json(path)
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object at the top level")
    return data


def _reply_walk(structures: Path) -> Iterator[tuple[int, str, str | None, str]]:
    """Walks ``structures.json`` depth-first in key order.

    Yields:
        ``(edge_index, node, parent, thread)`` per tree node; ``parent`` is None
        for a top-level node, which has no edge and keeps the previous index.
    """
    index = 0
    for thread, tree in _json_object(structures).items():
        # An explicit stack, reversed on push, keeps pre-order without recursion limits on deep reply chains.
        stack: list[tuple[str, Any, str | None]] = [(node, sub, None) for node, sub in reversed(_subtree_items(tree))]
        while stack:
            node, sub, parent = stack.pop()
            if parent is not None:
                index += 1
            yield index, node, parent, thread
            stack.extend((child, grand, node) for child, grand in reversed(_subtree_items(sub)))


def _subtree_items(sub: Any) -> list[tuple[str, Any]]:
    # A leaf is written as [] in this release; anything else that is not an object has no children either.
    return list(sub.items()) if isinstance(sub, dict) else []


def _stances(post_ids: Path, post_labels: Path, categories: Path) -> tuple[dict[str, str], list[Reject]]:
    """Returns stance names by post id from the line-aligned id and label files, and rejects for unknown labels.

    Raises:
        InputError: when the two files do not have the same number of lines.
    """
    names = {str(code): name for name, code in _json_object(categories).items()}
    ids = [line.strip() for line in post_ids.read_text(encoding="utf-8").splitlines()]
    labels = [line.strip() for line in post_labels.read_text(encoding="utf-8").splitlines()]
    if len(ids) != len(labels):
        raise InputError(f"{post_labels}: {len(labels)} lines, but {post_ids.name} has {len(ids)}; they must be line-aligned")
    stances: dict[str, str] = {}
    rejects: list[Reject] = []
    for number, (post, label) in enumerate(zip(ids, labels), start=1):
        if not post and not label:
            continue
        if label not in names:
            rejects.append(Reject(str(post_labels), number, "stance", f"unknown stance label {label!r}; known: {', '.join(names)}"))
            continue
        stances[post] = names[label]
    return stances, rejects


def _rumoureval_posts(part: Path, categories: Path) -> Iterator[RawRow | Reject]:
    """Posts of one part (``traindev`` or ``test``) with text, time, stance and thread."""
    posts_file = part / "posts.json"
    source = str(posts_file)
    stances, rejects = _stances(part / "post_id.txt", part / "post_label.txt", categories)
    yield from rejects
    threads = {node: thread for _, node, _, thread in _reply_walk(part / "structures.json")}
    for number, (post, body) in enumerate(_json_object(posts_file).items(), start=1):
        if not isinstance(body, dict):
            yield Reject(source, number, "*", "expected a JSON object with text and time")
            continue
        text, time = body.get("text"), body.get("time")
        thread = threads.get(post)
        yield RawRow(
            source,
            number,
            {
                "id": namespaced(RUMOUREVAL, post),
                "text": None if text is None else str(text),
                "created_at": None if time is None else str(time),
                "lang": "en",
                "stance": stances.get(post),
                "thread": None if thread is None else namespaced(RUMOUREVAL, thread),
            },
        )


def _rumoureval_replies(structures: Path) -> Iterator[RawRow]:
    """One REPLY_TO row (child -> parent) per edge of the reply trees."""
    source = str(structures)
    for index, node, parent, _ in _reply_walk(structures):
        if parent is not None:
            yield RawRow(source, index, {"src": namespaced(RUMOUREVAL, node), "dst": namespaced(RUMOUREVAL, parent)})


def rumoureval_steps(path: Path) -> list[Step]:
    """Returns the steps that load RumourEval 2017 (``traindev/`` and ``test/``) from its folder.

    Posts come first (text, ``created_at`` from the Unix ``time``, lang ``en``,
    ``stance`` as its name from ``stanceCategory.json``, ``thread`` = the
    namespaced id of the thread's source tweet, i.e. the root Post's id), then
    REPLY_TO from each reply to its parent.  Tree nodes without text are not
    Posts, so their edges are rejected by the loader as edges to unknown nodes.

    Raises:
        InputError: naming the first missing file.
    """
    categories = require_file(path, "stanceCategory.json")
    post_steps, reply_steps = [], []
    for name in _RUMOUREVAL_PARTS:
        part = path / name
        posts = require_file(part, "posts.json")
        structures = require_file(part, "structures.json")
        post_ids = require_file(part, "post_id.txt")
        post_labels = require_file(part, "post_label.txt")
        post_steps.append(
            Step(
                POSTS,
                lambda part=part: _rumoureval_posts(part, categories),
                str(posts),
                checkpoint_key(RUMOUREVAL, POSTS.name, posts, structures, post_ids, post_labels, categories, extra=name),
            )
        )
        reply_steps.append(
            Step(
                REPLY_TO,
                lambda structures=structures: _rumoureval_replies(structures),
                str(structures),
                checkpoint_key(RUMOUREVAL, REPLY_TO.name, structures, extra=name),
            )
        )
    return post_steps + reply_steps
