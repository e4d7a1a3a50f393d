"""Load plan for hetrec2011-lastfm-2k: users, artists (as Posts), friendships, listens and tags.

The release's ``.dat`` files are tab-separated with a header line and no quoting;
``tags.dat`` is latin-1.  Tag assignments (``user_taggedartists.dat``) are read once
per plan and feed both TAGGED steps: artist -> tag and user -> tag.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import NamedTuple

from graph.ingest.datasets.common import checkpoint_key, namespaced, renamed, require_file
from graph.ingest.kinds import FOLLOWS, INTERACTED, POST_TAGGED, POSTS, USER_TAGGED, USERS
from graph.ingest.readers import InputError, text_lines
from graph.ingest.rows import RawRow, Reject
from graph.ingest.steps import Step

log = logging.getLogger(__name__)

LASTFM = "lastfm"

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


class _Files(NamedTuple):
    """The release's files that a plan reads."""

    artists: Path
    tags: Path
    friends: Path
    listens: Path
    tagged: Path

    @classmethod
    def find(cls, path: Path) -> _Files:
        """Returns the files in the folder ``path``.

        Raises:
            InputError: naming the first missing file.
        """
        return cls(
            require_file(path, "artists.dat"),
            require_file(path, "tags.dat"),
            require_file(path, "user_friends.dat"),
            require_file(path, "user_artists.dat"),
            require_file(path, "user_taggedartists.dat"),
        )


def _users_step(files: _Files) -> Step:
    """Returns the step that loads every user id seen in ``user_friends.dat`` or ``user_artists.dat``."""
    friends, listens = files.friends, files.listens
    return Step(
        USERS,
        lambda: _lastfm_users(friends, listens),
        f"{friends} + {listens.name}",
        checkpoint_key(LASTFM, USERS.name, friends, listens),
    )


def _artists_step(files: _Files) -> Step:
    """Returns the step that loads ``artists.dat`` as Posts, the artist's name as text."""
    artists = files.artists
    return Step(
        POSTS,
        lambda: renamed(_read_tab(artists, ("id", "name")), LASTFM, {"id": "id"}, {"name": "text"}),
        str(artists),
        checkpoint_key(LASTFM, POSTS.name, artists),
    )


def _friends_step(files: _Files) -> Step:
    """Returns the step that loads ``user_friends.dat`` (which already lists both directions) as FOLLOWS."""
    friends = files.friends
    return Step(
        FOLLOWS,
        lambda: renamed(_read_tab(friends, ("userID", "friendID")), LASTFM, {"userID": "src", "friendID": "dst"}),
        str(friends),
        checkpoint_key(LASTFM, FOLLOWS.name, friends),
    )


def _listens_step(files: _Files) -> Step:
    """Returns the step that loads ``user_artists.dat`` as INTERACTED ``listen`` weighted by the listening count."""
    listens = files.listens
    return Step(
        INTERACTED,
        lambda: renamed(
            _read_tab(listens, ("userID", "artistID", "weight")),
            LASTFM,
            {"userID": "src", "artistID": "dst"},
            {"weight": "weight"},
            {"kind": "listen"},
        ),
        str(listens),
        checkpoint_key(LASTFM, INTERACTED.name, listens),
    )


def _tag_steps(files: _Files, tags_encoding: str) -> list[Step]:
    """Returns the two TAGGED steps of ``user_taggedartists.dat``: artist -> tag, then user -> tag."""
    tagged = files.tagged
    tag_files = (tagged, files.artists, files.tags)
    # Both TAGGED steps read the same assignments: parse user_taggedartists.dat once per plan.
    assignments = cache(lambda: list(_tag_assignments(*tag_files, tags_encoding)))
    return [
        Step(
            POST_TAGGED,
            lambda: _post_tagged_rows(tagged, assignments()),
            str(tagged),
            checkpoint_key(LASTFM, POST_TAGGED.name, *tag_files, extra=tags_encoding),
        ),
        Step(
            USER_TAGGED,
            lambda: _user_tagged_rows(tagged, assignments()),
            str(tagged),
            checkpoint_key(LASTFM, USER_TAGGED.name, *tag_files, extra=tags_encoding),
        ),
    ]


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
    files = _Files.find(path)
    steps = [
        _users_step(files),
        _artists_step(files),
        _friends_step(files),
        _listens_step(files),
        *_tag_steps(files, tags_encoding),
    ]
    log.info("%s: %d lastfm steps planned", path, len(steps))
    return steps
