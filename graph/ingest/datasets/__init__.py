"""Load plans for the public datasets: each dataset folder becomes an ordered list of :class:`Step`.

Every plan lists node steps before the relationship steps that reference them,
keeps each row's real origin (``RawRow.source`` is the file read, ``RawRow.line``
its 1-based line) so that a reject reads ``file:line:field: reason``, and gives
every step a checkpoint key made of the dataset, the kind and a digest of the
files the step reads.

Id scheme
---------
User and Post ids are namespaced by dataset, ``f"{dataset}:{raw_id}"`` (see
:func:`namespaced`), so that several datasets share one database without
merging different people or items: User ``lastfm:2``, Post ``lastfm:51``
(artist 51), User ``gowalla:0``, Post ``gowalla:7580`` (a place),
User ``email-eu-core:0``, Post ``rumoureval:<tweet id>``.  An empty raw id stays
empty so that validation rejects it as "missing or empty id".  Tags are a
shared vocabulary: a Tag's name is the stripped, lower-cased tag text
(``metal``, ``fußball``), never namespaced.

Expected rejects when a dataset is loaded into an empty graph (measured)
--------------------------------------------------------------------------
- ``lastfm`` (hetrec2011-lastfm-2k): 1,892 users, 17,632 posts (artists),
  25,434 FOLLOWS, 92,834 INTERACTED ``listen``, 108,437 Post-TAGGED and 35,730
  User-TAGGED relationships over 9,718 tags.  1,538 rejects, all in
  ``user_taggedartists.dat`` with field ``artistID``: tag assignments to the 390
  artist ids that ``artists.dat`` lacks.  They are reported once (by the
  Post-TAGGED step), create no Post and count in neither tag weight.  No tagID
  is unknown.  Tags used only by rejected assignments get no Tag node.
- ``gowalla`` (LightGCN split): split ``train`` gives 810,128 INTERACTED
  ``check-in`` rows between 29,858 users and 40,981 places (Posts); ``test``
  217,242 rows; 0 rejects.
- ``email-eu-core``: 1,005 users with ``community`` (department), 24,929 FOLLOWS;
  642 rejects, the self-loops of ``email-Eu-core.txt`` (field ``dst``, "self-loop
  not allowed for FOLLOWS"), which the validator refuses since FOLLOWS forbids
  them.
- ``rumoureval`` (RumourEval 2017): 5,568 posts (4,519 traindev + 1,049 test),
  5,241 REPLY_TO (4,222 + 1,019); 322 rejects (320 + 2) from ``structures.json``:
  reply edges with an end that is not in ``posts.json`` (tweets missing from the
  release), refused by the loader as "edge to unknown node".  The
  347 tree nodes without text (341 + 6) do not become Posts.

JSON line numbers
-----------------
``posts.json`` and ``structures.json`` are JSON documents, whose line breaks are
formatting, not records.  Their rows use ``line`` = the 1-based index of the
post in ``posts.json``'s key order, or of the reply edge in a depth-first,
pre-order walk of ``structures.json`` in key order.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from graph.ingest.kinds import (
    FOLLOWS,
    INTERACTED,
    POST_TAGGED,
    POSTS,
    REPLY_TO,
    USER_TAGGED,
    USERS,
)
from graph.ingest.readers import InputError, read_whitespace, text_lines
from graph.ingest.rows import RawRow, Reject
from graph.ingest.steps import Step, file_digest

log = logging.getLogger(__name__)

LASTFM = "lastfm"
GOWALLA = "gowalla"
EMAIL_EU_CORE = "email-eu-core"
RUMOUREVAL = "rumoureval"

_INTEGER = re.compile(r"[0-9]+")


def namespaced(dataset: str, raw: str) -> str:
    """Returns the dataset-qualified id ``f"{dataset}:{raw}"`` (``raw`` stripped).

    A blank ``raw`` is returned unchanged, so validation still rejects it as a
    missing id instead of loading a node called ``"dataset:"``.
    """
    stripped = raw.strip()
    return f"{dataset}:{stripped}" if stripped else raw


def _require(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return path


def _checkpoint(dataset: str, kind_name: str, *paths: Path, extra: str = "") -> str:
    parts = [dataset, kind_name, *([extra] if extra else []), file_digest(*paths)]
    return ":".join(parts)


_UNDECODABLE = re.compile("[\udc80-\udcff]")
"""The lone surrogates that ``surrogateescape`` puts in place of bytes that are not UTF-8."""


def _read_tab(path: Path, columns: Sequence[str], *, encoding: str = "utf-8") -> Iterator[RawRow | Reject]:
    """Reads a HetRec ``.dat`` file: a header line, then tab-separated values without quoting.

    The csv module cannot be used: artist names hold bare double quotes
    (``"Weird Al" Yankovic``) that it would take for quoting.

    Returns:
        A lazy iterator of rows keyed by the file's own column names (only
        ``columns`` are kept) or of rejects for wrong column counts and
        undecodable bytes.

    Raises:
        InputError: when the header lacks one of ``columns``.
    """
    source = str(path)
    lines = enumerate(text_lines(path, encoding), start=1)
    first = next(lines, None)
    header = first[1].rstrip("\r\n").lstrip("\ufeff").split("\t") if first else []
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(f"{source}:1:{missing[0]}: column missing from the header {header!r}")
    wanted = [(c, header.index(c)) for c in columns]
    width = len(header)
    for number, text in lines:
        text = text.rstrip("\r\n")
        if not text or text.isspace():
            continue
        values = text.split("\t")
        if len(values) != width:
            yield Reject(source, number, "*", f"wrong column count: expected {width}, found {len(values)}")
            continue
        # One scan of the whole line is far cheaper than one per field, and almost every line is clean.
        if not text.isascii() and _UNDECODABLE.search(text):
            bad = next((c for c, i in wanted if _UNDECODABLE.search(values[i])), None)
            if bad is not None:
                yield Reject(source, number, bad, "bytes that are not valid UTF-8 (set the file's encoding)")
                continue
        yield RawRow(source, number, {c: values[i] for c, i in wanted})


def _renamed(
    rows: Iterable[RawRow | Reject],
    dataset: str,
    ids: dict[str, str],
    values: dict[str, str] | None = None,
    constants: dict[str, str] | None = None,
) -> Iterator[RawRow | Reject]:
    """Maps raw columns to canonical fields: ``ids`` are namespaced, ``values`` copied, ``constants`` added."""
    for row in rows:
        if isinstance(row, Reject):
            yield row
            continue
        fields: dict[str, str | None] = {}
        for raw, canonical in ids.items():
            value = row.fields.get(raw)
            fields[canonical] = None if value is None else namespaced(dataset, value)
        for raw, canonical in (values or {}).items():
            fields[canonical] = row.fields.get(raw)
        fields.update(constants or {})
        yield RawRow(row.source, row.line, fields)


# --- lastfm (hetrec2011-lastfm-2k) -------------------------------------------------


class _Assignment(NamedTuple):
    """A valid line of ``user_taggedartists.dat``: who put which tag (by name) on which artist."""

    line: int
    user: str
    artist: str
    tag: str


def _lastfm_users(friends: Path, listens: Path) -> Iterator[RawRow]:
    """One USERS row per distinct user id, located at its first occurrence.

    Malformed lines and empty ids are skipped here: the FOLLOWS and INTERACTED
    steps read the same lines and report them once.
    """
    seen: set[str] = set()
    sources = ((friends, ("userID", "friendID")), (listens, ("userID",)))
    for path, columns in sources:
        for row in _read_tab(path, columns):
            if isinstance(row, Reject):
                continue
            for column in columns:
                raw = (row.fields[column] or "").strip()
                if raw and raw not in seen:
                    seen.add(raw)
                    yield RawRow(row.source, row.line, {"id": namespaced(LASTFM, raw)})


def _known_ids(rows: Iterable[RawRow | Reject], column: str) -> set[str]:
    return {v.strip() for row in rows if isinstance(row, RawRow) and (v := row.fields.get(column) or "").strip()}


def _tag_names(path: Path, encoding: str) -> tuple[dict[str, str], list[Reject]]:
    """Returns tag names (lower-cased) by tagID, and the rejects for unusable lines of ``tags.dat``."""
    names: dict[str, str] = {}
    rejects: list[Reject] = []
    for row in _read_tab(path, ("tagID", "tagValue"), encoding=encoding):
        if isinstance(row, Reject):
            rejects.append(row)
            continue
        tag_id, value = (row.fields["tagID"] or "").strip(), (row.fields["tagValue"] or "").strip()
        if not tag_id:
            rejects.append(Reject(row.source, row.line, "tagID", "missing or empty id"))
        elif not value:
            rejects.append(Reject(row.source, row.line, "tagValue", "empty tag name"))
        else:
            names[tag_id] = value.lower()
    return names, rejects


def _tag_assignments(tagged: Path, artists: Path, tags: Path, encoding: str) -> Iterator[_Assignment | Reject]:
    """Yields the valid assignments of ``user_taggedartists.dat`` and rejects for the others.

    An assignment is refused when an id is empty, its artist is not in
    ``artists.dat`` or its tag is not in ``tags.dat``; unusable lines of
    ``tags.dat`` are reported first.
    """
    artist_ids = _known_ids(_read_tab(artists, ("id",)), "id")
    names, tag_rejects = _tag_names(tags, encoding)
    yield from tag_rejects
    kept = refused = 0
    for row in _read_tab(tagged, ("userID", "artistID", "tagID")):
        if isinstance(row, Reject):
            refused += 1
            yield row
            continue
        fields = row.fields
        user = (fields["userID"] or "").strip()
        artist = (fields["artistID"] or "").strip()
        tag_id = (fields["tagID"] or "").strip()
        if not (user and artist and tag_id):
            empty = "userID" if not user else "artistID" if not artist else "tagID"
            reject = Reject(row.source, row.line, empty, "missing or empty id")
        elif artist not in artist_ids:
            reject = Reject(row.source, row.line, "artistID", f"unknown artist {artist!r}: not in {artists.name}")
        elif tag_id not in names:
            reject = Reject(row.source, row.line, "tagID", f"unknown tag {tag_id!r}: not in {tags.name}")
        else:
            kept += 1
            yield _Assignment(row.line, user, artist, names[tag_id])
            continue
        refused += 1
        yield reject
    log.info("%s: %d tag assignments kept, %d refused", tagged, kept, refused)


def _post_tagged_rows(tagged: Path, assignments: list[_Assignment | Reject]) -> Iterator[RawRow | Reject]:
    """Artist -> tag rows weighted by the number of distinct users who assigned the tag.

    This step is the one that reports the refused assignments.
    """
    source = str(tagged)
    first: dict[tuple[str, str], int] = {}
    users: dict[tuple[str, str], set[str]] = {}
    for item in assignments:
        if isinstance(item, Reject):
            yield item
            continue
        key = (item.artist, item.tag)
        first.setdefault(key, item.line)
        users.setdefault(key, set()).add(item.user)
    for (artist, tag), line in first.items():
        yield RawRow(source, line, {"src": namespaced(LASTFM, artist), "dst": tag, "weight": str(len(users[(artist, tag)]))})


def _user_tagged_rows(tagged: Path, assignments: list[_Assignment | Reject]) -> Iterator[RawRow]:
    """User -> tag rows weighted by how many valid assignments the user made with the tag.

    Refused assignments are skipped silently: the Post-TAGGED step reports them.
    """
    source = str(tagged)
    first: dict[tuple[str, str], int] = {}
    counts: dict[tuple[str, str], int] = {}
    for item in assignments:
        if isinstance(item, Reject):
            continue
        key = (item.user, item.tag)
        first.setdefault(key, item.line)
        counts[key] = counts.get(key, 0) + 1
    for (user, tag), line in first.items():
        yield RawRow(source, line, {"src": namespaced(LASTFM, user), "dst": tag, "weight": str(counts[(user, tag)])})


def lastfm_steps(path: Path, *, tags_encoding: str = "latin-1") -> list[Step]:
    """Returns the steps that load hetrec2011-lastfm-2k from its folder.

    Order: Users (every id seen in ``user_friends.dat`` or ``user_artists.dat``),
    Posts (``artists.dat``: id and name as text), FOLLOWS (``user_friends.dat``,
    which already lists both directions), INTERACTED ``listen`` weighted by the
    listening count, then TAGGED from ``user_taggedartists.dat``: artist -> tag
    weighted by the number of users, and user -> tag weighted by the number of
    uses.  ``tags.dat`` is decoded with ``tags_encoding`` (the release is latin-1).

    Raises:
        InputError: naming the first missing file.
    """
    artists = _require(path, "artists.dat")
    tags = _require(path, "tags.dat")
    friends = _require(path, "user_friends.dat")
    listens = _require(path, "user_artists.dat")
    tagged = _require(path, "user_taggedartists.dat")
    tag_files = (tagged, artists, tags)
    # Both TAGGED steps read the same assignments: parse user_taggedartists.dat once per plan.
    assignments = cache(lambda: list(_tag_assignments(*tag_files, tags_encoding)))
    steps = [
        Step(
            USERS,
            lambda: _lastfm_users(friends, listens),
            f"{friends} + {listens.name}",
            _checkpoint(LASTFM, USERS.name, friends, listens),
        ),
        Step(
            POSTS,
            lambda: _renamed(_read_tab(artists, ("id", "name")), LASTFM, {"id": "id"}, {"name": "text"}),
            str(artists),
            _checkpoint(LASTFM, POSTS.name, artists),
        ),
        Step(
            FOLLOWS,
            lambda: _renamed(_read_tab(friends, ("userID", "friendID")), LASTFM, {"userID": "src", "friendID": "dst"}),
            str(friends),
            _checkpoint(LASTFM, FOLLOWS.name, friends),
        ),
        Step(
            INTERACTED,
            lambda: _renamed(
                _read_tab(listens, ("userID", "artistID", "weight")),
                LASTFM,
                {"userID": "src", "artistID": "dst"},
                {"weight": "weight"},
                {"kind": "listen"},
            ),
            str(listens),
            _checkpoint(LASTFM, INTERACTED.name, listens),
        ),
        Step(
            POST_TAGGED,
            lambda: _post_tagged_rows(tagged, assignments()),
            str(tagged),
            _checkpoint(LASTFM, POST_TAGGED.name, *tag_files, extra=tags_encoding),
        ),
        Step(
            USER_TAGGED,
            lambda: _user_tagged_rows(tagged, assignments()),
            str(tagged),
            _checkpoint(LASTFM, USER_TAGGED.name, *tag_files, extra=tags_encoding),
        ),
    ]
    log.info("%s: %d lastfm steps planned", path, len(steps))
    return steps


# --- gowalla (LightGCN split) ------------------------------------------------------

_GOWALLA_SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("train.txt",),
    "test": ("test.txt",),
    "all": ("train.txt", "test.txt"),
}


def _gowalla_rows(path: Path) -> Iterator[RawRow | Reject]:
    """One INTERACTED row per item of each ``user item item ...`` line, streamed.

    A line whose user is not an integer id is refused whole; a bad item token is
    refused alone.  A user without items has nothing to load and is skipped.
    """
    source = str(path)
    prefix = f"{GOWALLA}:"
    for number, text in enumerate(text_lines(path, "utf-8"), start=1):
        tokens = text.split()
        if not tokens:
            continue
        user, items = tokens[0], tokens[1:]
        if not _INTEGER.fullmatch(user):
            yield Reject(source, number, "src", f"user id is not a non-negative integer: {user!r}")
            continue
        src = prefix + user
        # Almost every line is all ASCII digits: one check for the line instead of one per token.
        clean = text.isascii() and "".join(items).isdigit()
        for item in items:
            if not clean and not _INTEGER.fullmatch(item):
                yield Reject(source, number, "dst", f"item id is not a non-negative integer: {item!r}")
                continue
            yield RawRow(source, number, {"src": src, "dst": prefix + item, "kind": "check-in", "weight": "1.0"})


def gowalla_steps(path: Path, *, split: str = "train") -> list[Step]:
    """Returns the steps that load the LightGCN Gowalla split from its folder.

    ``split`` is ``train`` (``train.txt``), ``test`` (``test.txt``) or ``all``
    (both, one step each).  Every (user, place) pair becomes INTERACTED
    ``check-in`` with weight 1.0; users and places (as Posts) are created as needed.

    Raises:
        InputError: for an unknown split or a missing file.
    """
    if split not in _GOWALLA_SPLITS:
        raise InputError(f"unknown gowalla split {split!r}; choose from {', '.join(_GOWALLA_SPLITS)}")
    steps = []
    for name in _GOWALLA_SPLITS[split]:
        file = _require(path, name)
        steps.append(
            Step(
                INTERACTED,
                lambda file=file: _gowalla_rows(file),
                str(file),
                _checkpoint(GOWALLA, INTERACTED.name, file, extra=file.stem),
                create_src=True,
                create_dst=True,
            )
        )
    return steps


# --- email-Eu-core (SNAP) ----------------------------------------------------------


def email_eu_core_steps(path: Path) -> list[Step]:
    """Returns the steps that load SNAP email-Eu-core from its folder.

    First Users from ``email-Eu-core-department-labels.txt`` with ``community`` =
    department id (the ground truth), then FOLLOWS from ``email-Eu-core.txt``
    (src emailed dst), creating users as needed.  The 642 self-loops of the edge
    list are rejected by validation, since FOLLOWS forbids self-loops.

    Raises:
        InputError: naming the first missing file.
    """
    labels = _require(path, "email-Eu-core-department-labels.txt")
    edges = _require(path, "email-Eu-core.txt")
    return [
        Step(
            USERS,
            lambda: _renamed(
                read_whitespace(labels, ["id", "community"], header=False),
                EMAIL_EU_CORE,
                {"id": "id"},
                {"community": "community"},
            ),
            str(labels),
            _checkpoint(EMAIL_EU_CORE, USERS.name, labels),
        ),
        Step(
            FOLLOWS,
            lambda: _renamed(read_whitespace(edges, ["src", "dst"], header=False), EMAIL_EU_CORE, {"src": "src", "dst": "dst"}),
            str(edges),
            _checkpoint(EMAIL_EU_CORE, FOLLOWS.name, edges),
            create_src=True,
            create_dst=True,
        ),
    ]


# --- RumourEval 2017 ---------------------------------------------------------------

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
    categories = _require(path, "stanceCategory.json")
    post_steps, reply_steps = [], []
    for name in _RUMOUREVAL_PARTS:
        part = path / name
        posts = _require(part, "posts.json")
        structures = _require(part, "structures.json")
        post_ids = _require(part, "post_id.txt")
        post_labels = _require(part, "post_label.txt")
        post_steps.append(
            Step(
                POSTS,
                lambda part=part: _rumoureval_posts(part, categories),
                str(posts),
                _checkpoint(RUMOUREVAL, POSTS.name, posts, structures, post_ids, post_labels, categories, extra=name),
            )
        )
        reply_steps.append(
            Step(
                REPLY_TO,
                lambda structures=structures: _rumoureval_replies(structures),
                str(structures),
                _checkpoint(RUMOUREVAL, REPLY_TO.name, structures, extra=name),
            )
        )
    return post_steps + reply_steps


# --- registry ----------------------------------------------------------------------

DATASETS: dict[str, Callable[[Path], list[Step]]] = {
    LASTFM: lastfm_steps,
    GOWALLA: gowalla_steps,
    EMAIL_EU_CORE: email_eu_core_steps,
    RUMOUREVAL: rumoureval_steps,
}
"""Each dataset's name (as ``--dataset`` takes it) and the function that plans its load from its folder."""

KNOWN_REJECTS: dict[str, int] = {LASTFM: 1538, EMAIL_EU_CORE: 642}
"""Rows each public release is known to have that validation rejects (see the module docstring)."""


def dataset_steps(name: str, path: Path) -> list[Step]:
    """Returns the load steps of dataset ``name`` read from the folder ``path``.

    Raises:
        InputError: for an unknown dataset name, a missing folder or a missing file.
    """
    if name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    if not path.is_dir():
        raise InputError(f"{path}: no such folder (dataset {name!r})")
    return DATASETS[name](path)
