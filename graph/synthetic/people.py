"""The planted users: their communities and topics, names, bios, opt-outs and tags.

Community 0 is always hiking + photography and community 1 (when there are at
least two) is always ai + blockchain, because those two pairings are the
product's demo stories.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from graph.synthetic.columns import padded_ids
from graph.synthetic.vocabulary import TOPIC_NAMES, TOPICS, Vocabulary, render

MIN_COMMUNITY_SIZE = 5
MAX_DEFAULT_COMMUNITIES = 64

# Each topic is the primary of exactly one of these, so the first len(TOPICS)
# communities cover every topic; the first two are the demo stories and must
# stay in front so that they exist for any n_communities >= 2.
_CURATED_PAIRS: tuple[tuple[str, str], ...] = (
    ("hiking", "photography"),
    ("ai", "blockchain"),
    ("jazz", "film"),
    ("cooking", "travel"),
    ("football", "fitness"),
    ("gaming", "ai"),
    ("photography", "travel"),
    ("startups", "ai"),
    ("blockchain", "startups"),
    ("film", "books"),
    ("gardening", "cooking"),
    ("fitness", "hiking"),
    ("books", "astronomy"),
    ("fashion", "photography"),
    ("astronomy", "photography"),
    ("travel", "hiking"),
)

_FIRST_NAMES: tuple[str, ...] = (
    "Aisha", "Alex", "Amelia", "Ana", "Ben", "Carlos", "Chloe", "Daniel", "Diego", "Elena",
    "Emma", "Ethan", "Fatima", "Grace", "Hannah", "Hiro", "Isabel", "Jack", "James", "Julia",
    "Kai", "Laura", "Leo", "Lucas", "Maya", "Mei", "Mohammed", "Nadia", "Noah", "Olivia",
    "Omar", "Priya", "Rafael", "Rosa", "Sam", "Sara", "Sofia", "Tom", "Yusuf", "Zoe",
)
_LAST_NAMES: tuple[str, ...] = (
    "Ahmed", "Andersen", "Brown", "Chen", "Costa", "Davies", "Diaz", "Dubois", "Evans", "Fischer",
    "Garcia", "Gupta", "Hansen", "Ito", "Jones", "Kim", "Kowalski", "Lee", "Lopez", "Martin",
    "Meyer", "Moreau", "Nguyen", "Novak", "Okafor", "Park", "Patel", "Rossi", "Santos", "Schmidt",
    "Silva", "Singh", "Smith", "Tanaka", "Taylor", "Walker", "Wang", "Williams", "Wilson", "Yilmaz",
)

_BIO_OPENERS: tuple[str, ...] = (
    "{label} enthusiast who loves {a}.",
    "Into {a} and {b}.",
    "Writing mostly about {a}.",
    "Lifelong fan of {a}.",
    "Here for {a} and good conversation.",
    "{label} person, usually found talking about {a}.",
)
_BIO_CLOSERS: tuple[str, ...] = (
    "Also into {a}.",
    "Weekends are for {a}.",
    "Occasionally posting about {a}.",
    "Part-time {label} fan.",
)


@dataclass(frozen=True)
class People:
    """The planted users, one row per user in every array.

    Attributes:
        ids: user ids (``str``).
        community: planted community per user.
        primary / secondary: topic index of the user's community.
        popularity: Pareto weight (>= 1) that draws follows and engagement.
        users: the ``users`` table: ``id``, ``name``, ``bio``, ``opt_out``.
    """

    ids: np.ndarray
    community: np.ndarray
    primary: np.ndarray
    secondary: np.ndarray
    popularity: np.ndarray
    users: pd.DataFrame


def plant_people(n_users: int, k: int, vocab: Vocabulary, rng: np.random.Generator) -> People:
    """Return ``n_users`` users spread over ``k`` communities, with their names, bios and opt-outs."""
    primary_of, secondary_of = _community_topics(k, rng)
    community = _assign_communities(n_users, k, rng)
    primary = primary_of[community]
    secondary = secondary_of[community]
    ids = padded_ids("u", n_users, 6)
    # Pareto popularity makes in-degree and engagement heavy-tailed: a few
    # users attract a large share of follows and likes.
    popularity = rng.pareto(1.5, n_users) + 1.0
    users = pd.DataFrame(
        {
            "id": ids,
            "name": _names(n_users, rng),
            "bio": _bios(primary, secondary, vocab, rng),
            "opt_out": _opt_out(n_users, rng),
        }
    )
    return People(ids, community, primary, secondary, popularity, users)


def ground_truth(people: People) -> pd.DataFrame:
    """Return one row per user: ``user``, ``community`` (int), ``topic`` and ``secondary_topic``."""
    topic_names = np.array(TOPIC_NAMES, dtype=object)
    return pd.DataFrame(
        {
            "user": people.ids,
            "community": people.community.astype(np.int64),
            "topic": topic_names[people.primary],
            "secondary_topic": topic_names[people.secondary],
        }
    )


def default_n_communities(n_users: int) -> int:
    """Return the default number of planted communities, growing like ``sqrt(n_users)``."""
    return max(4, min(MAX_DEFAULT_COMMUNITIES, round(math.sqrt(n_users) / 4)))


def _community_topics(k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    index = {name: i for i, name in enumerate(TOPIC_NAMES)}
    pairs = [(index[p], index[s]) for p, s in _CURATED_PAIRS[:k]]
    used = set(pairs)
    n_topics = len(TOPICS)
    for c in range(len(pairs), k):
        primary = c % n_topics
        fresh = [s for s in range(n_topics) if s != primary and (primary, s) not in used]
        # Once every pairing for this primary exists, repeats are unavoidable.
        options = fresh or [s for s in range(n_topics) if s != primary]
        secondary = options[int(rng.integers(len(options)))]
        pairs.append((primary, secondary))
        used.add((primary, secondary))
    arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def _assign_communities(n_users: int, k: int, rng: np.random.Generator) -> np.ndarray:
    # Power-law shares with gamma noise, in random order, give uneven sizes
    # without letting one community swallow the network; the guaranteed
    # minimum keeps even the smallest community detectable.
    shares = rng.permutation(np.arange(1, k + 1) ** -0.6 * rng.gamma(6.0, size=k))
    shares /= shares.sum()
    sizes = MIN_COMMUNITY_SIZE + rng.multinomial(n_users - MIN_COMMUNITY_SIZE * k, shares)
    return rng.permutation(np.repeat(np.arange(k, dtype=np.int64), sizes))


def _names(n: int, rng: np.random.Generator) -> np.ndarray:
    first = np.array(_FIRST_NAMES, dtype=object)[rng.integers(len(_FIRST_NAMES), size=n)]
    last = np.array(_LAST_NAMES, dtype=object)[rng.integers(len(_LAST_NAMES), size=n)]
    return first + " " + last


def _opt_out(n: int, rng: np.random.Generator) -> np.ndarray:
    flags = np.zeros(n, dtype=bool)
    flags[rng.choice(n, size=max(1, round(0.01 * n)), replace=False)] = True
    return flags


def _bios(
    primary: np.ndarray, secondary: np.ndarray, vocab: Vocabulary, rng: np.random.Generator
) -> np.ndarray:
    n = primary.size
    labels = np.array([t.label for t in TOPICS], dtype=object)
    a, b = vocab.pick_pair(primary, rng)
    bio = render(
        _BIO_OPENERS,
        rng.integers(len(_BIO_OPENERS), size=n),
        {"a": a, "b": b, "label": labels[primary]},
    )
    # The second sentence mostly brings in the secondary interest, so bios
    # carry both community topics but lean on the primary one.
    rows = np.flatnonzero(rng.random(n) < 0.6)
    closer_topic = np.where(rng.random(rows.size) < 0.75, secondary[rows], primary[rows])
    closer = render(
        _BIO_CLOSERS,
        rng.integers(len(_BIO_CLOSERS), size=rows.size),
        {"a": vocab.pick(closer_topic, rng), "label": labels[closer_topic]},
    )
    bio[rows] = bio[rows] + " " + closer
    return bio


def user_tags(
    user_ids: np.ndarray, primary: np.ndarray, secondary: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Return the ``user_tagged`` table: both community topics per user, and a finer tag for half of them."""
    n = user_ids.size
    names = np.array(TOPIC_NAMES, dtype=object)
    fine = np.array([list(t.fine_tags) for t in TOPICS], dtype=object)
    users = np.arange(n, dtype=np.int64)
    fine_rows = np.flatnonzero(rng.random(n) < 0.5)
    src = np.concatenate((users, users, fine_rows))
    dst = np.concatenate(
        (
            names[primary],
            names[secondary],
            fine[primary[fine_rows], rng.integers(fine.shape[1], size=fine_rows.size)],
        )
    )
    weight = np.concatenate(
        (
            np.round(rng.uniform(0.7, 1.0, n), 3),
            np.round(rng.uniform(0.3, 0.7, n), 3),
            np.round(rng.uniform(0.1, 0.5, fine_rows.size), 3),
        )
    )
    order = np.argsort(src, kind="stable")
    return pd.DataFrame({"src": user_ids[src[order]], "dst": dst[order], "weight": weight[order]})
