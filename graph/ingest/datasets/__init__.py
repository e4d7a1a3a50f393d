"""Load plans for the public datasets: each dataset folder becomes an ordered list of :class:`Step`.

Every plan lists node steps before the relationship steps that reference them,
keeps each row's real origin (``RawRow.source`` is the file read, ``RawRow.line``
its 1-based line) so that a reject reads ``file:line:field: reason``, and gives
every step a checkpoint key made of the dataset, the kind and a digest of the
files the step reads.

Modules: one per dataset, :mod:`~graph.ingest.datasets.lastfm`,
:mod:`~graph.ingest.datasets.gowalla`, :mod:`~graph.ingest.datasets.email_eu_core`,
:mod:`~graph.ingest.datasets.epinions` and
:mod:`~graph.ingest.datasets.rumoureval`, and :mod:`~graph.ingest.datasets.common` for
what they share (namespaced ids, required files, checkpoint keys, renamed columns).
This package holds the registry (:data:`DATASETS`, :func:`dataset_steps`) and
re-exports each dataset's plan.

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
- ``epinions`` (``epinions_trust``; 22,165 users and 296,277 products, as Posts, by its
  ``SOURCE.md``): FOLLOWS from the 355,754 trust rows, INTERACTED ``rating`` from the 922,267
  ratings.  4,578 rejects: the 224 self-loops of ``trust.tsv.gz`` (field ``dst``) and 4,354 rows of ``ratings.tsv.gz`` that repeat
  a user-product pair with a different rating (field ``weight``, "duplicate of line N with a
  different value"); a repeat with the same rating is dropped silently.
- ``rumoureval`` (RumourEval 2017): 5,568 posts (4,519 traindev + 1,049 test),
  5,241 REPLY_TO (4,222 + 1,019); 322 rejects (320 + 2) from ``structures.json``:
  reply edges with an end that is not in ``posts.json`` (tweets missing from the
  release), refused by the loader as "edge to unknown node".  The
  347 tree nodes without text (341 + 6) do not become Posts.  How JSON rows get
  their line numbers: :mod:`graph.ingest.datasets.rumoureval`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from graph.ingest.datasets.common import namespaced
from graph.ingest.datasets.email_eu_core import EMAIL_EU_CORE, email_eu_core_steps
from graph.ingest.datasets.epinions import EPINIONS, epinions_steps
from graph.ingest.datasets.gowalla import GOWALLA, gowalla_steps
from graph.ingest.datasets.lastfm import LASTFM, lastfm_steps
from graph.ingest.datasets.rumoureval import RUMOUREVAL, rumoureval_steps
from graph.ingest.readers import InputError
from graph.ingest.steps import Step

__all__ = [
    "DATASETS",
    "EMAIL_EU_CORE",
    "EPINIONS",
    "GOWALLA",
    "KNOWN_REJECTS",
    "LASTFM",
    "RUMOUREVAL",
    "dataset_steps",
    "email_eu_core_steps",
    "epinions_steps",
    "gowalla_steps",
    "lastfm_steps",
    "namespaced",
    "rumoureval_steps",
]

DATASETS: dict[str, Callable[[Path], list[Step]]] = {
    LASTFM: lastfm_steps,
    GOWALLA: gowalla_steps,
    EMAIL_EU_CORE: email_eu_core_steps,
    EPINIONS: epinions_steps,
    RUMOUREVAL: rumoureval_steps,
}
"""Each dataset's name (as ``--dataset`` takes it) and the function that plans its load from its folder."""

KNOWN_REJECTS: dict[str, int] = {LASTFM: 1538, EMAIL_EU_CORE: 642, EPINIONS: 4578}
"""Rows each public release is known to have that validation rejects (see the package docstring)."""


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
