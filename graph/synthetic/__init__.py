"""Synthetic social network with planted interest communities.

The generator produces the canonical tables that the ingest layer loads into
Neo4j (users, posts and the relationships between them) together with the
ground truth it planted, so that community detection, recommendation and text
jobs can be checked against a known answer.

What is planted:

* Communities.  Every user belongs to exactly one community; each community has
  a primary and a secondary topic.  Community 0 is always hiking + photography
  and community 1 (when there are at least two) is always ai + blockchain,
  because those two pairings are the product's demo stories.
* Homophily.  Most follows stay inside the community, popular users attract
  many followers, a share of follows is reciprocated and a triadic-closure pass
  adds "friend of a friend" follows.
* Interest-driven engagement.  Likes and reposts mostly land on posts from
  followed users, from the user's own community or about the user's topics.
  Replies are posts answering an earlier post on the same topic.
* Text signal.  Bios and posts are built from per-topic vocabularies, and
  some posts carry a positive, negative or neutral sentiment phrase.

Everything is vectorised with numpy and driven by a single
``np.random.default_rng(seed)``, so the same seed gives identical tables.
"""

from __future__ import annotations

import functools
import logging
import math
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from graph.arrays import row_pointers, unique_pairs

logger = logging.getLogger(__name__)

MIN_USERS = 100
MAX_USERS = 1_000_000
MIN_COMMUNITY_SIZE = 5
MAX_DEFAULT_COMMUNITIES = 64

KINDS: tuple[str, ...] = (
    "users",
    "posts",
    "follows",
    "posted",
    "interacted",
    "reply_to",
    "post_tagged",
    "user_tagged",
)
"""Canonical table kinds written by :func:`write_canonical` (plus ``ground_truth``)."""

GROUND_TRUTH = "ground_truth"
FORMATS: tuple[str, ...] = ("csv", "parquet")

INTERACTION_WEIGHTS: dict[str, float] = {"like": 1.0, "repost": 2.0, "reply": 3.0}

_START = np.datetime64("2025-01-01T00:00:00", "s")
_END = np.datetime64("2026-03-01T00:00:00", "s")
_SPAN_S = int((_END - _START) / np.timedelta64(1, "s"))
_DAY_S = 86_400


@dataclass(frozen=True)
class Topic:
    """One planted interest: its tag name, a label for bios, finer tags and vocabulary."""

    name: str
    label: str
    fine_tags: tuple[str, ...]
    vocab: tuple[str, ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        "ai",
        "AI",
        ("machinelearning", "llm", "robotics"),
        (
            "neural networks", "transformers", "prompt engineering", "fine-tuning", "embeddings",
            "language models", "computer vision", "reinforcement learning", "gradient descent",
            "training data", "benchmarks", "inference costs", "attention heads", "diffusion models",
            "model evals", "vector search", "open weights", "GPU clusters", "tokenizers", "agents",
            "alignment research", "synthetic data", "chatbots", "speech recognition", "AI safety",
            "recommendation systems",
        ),
    ),
    Topic(
        "blockchain",
        "Crypto",
        ("crypto", "ethereum", "defi"),
        (
            "smart contracts", "bitcoin", "layer two rollups", "stablecoins", "NFTs", "DAOs",
            "gas fees", "hardware wallets", "staking", "consensus protocols", "token launches",
            "proof of stake", "mining rigs", "DeFi protocols", "on-chain data", "crypto exchanges",
            "cold storage", "hash rates", "validators", "airdrops", "web3 apps", "seed phrases",
            "zero-knowledge proofs", "the halving", "block explorers", "ledger audits",
        ),
    ),
    Topic(
        "hiking",
        "Hiking",
        ("trails", "backpacking", "mountains"),
        (
            "trail maps", "switchbacks", "summit views", "alpine lakes", "trekking poles",
            "hiking boots", "ridge walks", "national parks", "trailheads", "day hikes", "thru-hikes",
            "mountain huts", "waterfalls", "wildflower meadows", "bear canisters", "elevation gain",
            "sunrise hikes", "forest trails", "canyon loops", "backcountry permits", "camping gear",
            "scrambles", "base camps", "rain shells", "trail mix", "glacier views",
        ),
    ),
    Topic(
        "photography",
        "Photography",
        ("landscapes", "portraits", "streetphotography"),
        (
            "golden hour", "prime lenses", "long exposures", "wide-angle shots", "film cameras",
            "tripods", "portrait lighting", "street photography", "aperture settings",
            "shutter speed", "Lightroom edits", "RAW files", "night skies", "bokeh", "composition",
            "landscape shots", "photo walks", "mirrorless cameras", "drone shots",
            "black and white prints", "darkroom prints", "camera bags", "ND filters", "macro lenses",
            "color grading", "photo essays",
        ),
    ),
    Topic(
        "film",
        "Film",
        ("cinema", "documentaries", "screenwriting"),
        (
            "indie films", "film festivals", "cinematography", "screenplays", "director's cuts",
            "film noir", "horror movies", "box office numbers", "Criterion releases",
            "foreign films", "movie soundtracks", "practical effects", "film scores",
            "opening scenes", "character arcs", "film critics", "midnight screenings",
            "classic westerns", "animated features", "short films", "period dramas", "sci-fi epics",
            "the Oscars", "35mm prints", "plot twists", "documentary premieres",
        ),
    ),
    Topic(
        "jazz",
        "Jazz",
        ("bebop", "saxophone", "vinyl"),
        (
            "saxophone solos", "jazz standards", "walking basslines", "big bands", "modal jazz",
            "Coltrane records", "Miles Davis albums", "jam sessions", "jazz clubs", "piano trios",
            "improvisation", "swing rhythms", "vinyl pressings", "blue notes", "trumpet lines",
            "live sets", "chord changes", "fusion records", "late-night radio", "double bass",
            "scat singing", "jazz festivals", "brushes on snare", "Blue Note reissues", "hard bop",
            "bebop heads",
        ),
    ),
    Topic(
        "cooking",
        "Cooking",
        ("recipes", "baking", "vegan"),
        (
            "sourdough", "cast iron pans", "homemade pasta", "knife skills", "slow braises",
            "fermentation", "spice blends", "weeknight dinners", "meal prep", "roast chicken",
            "ramen broth", "farmers market produce", "baking bread", "stir fries", "dumplings",
            "curry pastes", "chocolate cake", "pickles", "olive oil", "brunch recipes", "grilling",
            "soups and stews", "tacos", "kitchen gadgets", "pie crusts", "fresh herbs",
        ),
    ),
    Topic(
        "football",
        "Football",
        ("premierleague", "worldcup", "tactics"),
        (
            "the Premier League", "transfer rumours", "match highlights", "tactical breakdowns",
            "set pieces", "clean sheets", "derby day", "the Champions League", "pressing systems",
            "youth academies", "goalkeeping", "penalty shootouts", "away kits", "league tables",
            "stoppage-time winners", "expected goals", "fantasy football", "the World Cup",
            "free kicks", "match tickets", "counter attacks", "title races", "VAR decisions",
            "pre-season friendlies", "centre backs", "football podcasts",
        ),
    ),
    Topic(
        "gaming",
        "Gaming",
        ("esports", "indiegames", "speedrun"),
        (
            "speedruns", "indie games", "open-world RPGs", "co-op campaigns", "patch notes",
            "esports finals", "retro consoles", "boss fights", "game soundtracks",
            "mechanical keyboards", "loot drops", "ranked matches", "roguelikes", "level design",
            "streaming setups", "controller mods", "early access builds", "pixel art",
            "strategy games", "save files", "frame rates", "couch co-op", "game jams", "side quests",
            "battle passes", "handheld PCs",
        ),
    ),
    Topic(
        "travel",
        "Travel",
        ("wanderlust", "roadtrip", "cityguides"),
        (
            "cheap flights", "night trains", "hostels", "carry-on packing", "street food",
            "city breaks", "visa queues", "road trips", "layovers", "travel itineraries",
            "old towns", "island hopping", "local markets", "boutique hotels", "passport stamps",
            "ferry rides", "hidden beaches", "travel insurance", "jet lag", "language apps",
            "slow travel", "museum passes", "border crossings", "coastal towns", "rail passes",
            "airport lounges",
        ),
    ),
    Topic(
        "gardening",
        "Gardening",
        ("houseplants", "composting", "vegetables"),
        (
            "tomato seedlings", "raised beds", "compost bins", "pruning shears", "perennial borders",
            "potted houseplants", "seed swaps", "potting mix", "rose bushes", "vegetable patches",
            "pollinator gardens", "mulching", "succulents", "greenhouses", "garden pests", "dahlias",
            "herb planters", "rain barrels", "bulb planting", "soil tests", "fruit trees",
            "allotments", "native plants", "watering schedules", "cuttings", "climbing beans",
        ),
    ),
    Topic(
        "fitness",
        "Fitness",
        ("running", "weightlifting", "yoga"),
        (
            "morning runs", "deadlifts", "interval training", "yoga flows", "rest days",
            "protein shakes", "marathon training", "kettlebells", "mobility drills",
            "personal bests", "squat form", "cycling classes", "home workouts", "step counts",
            "swim sets", "recovery routines", "pull-ups", "training plans", "gym playlists",
            "stretching", "heart rate zones", "half marathons", "core workouts", "resistance bands",
            "trail running", "leg day",
        ),
    ),
    Topic(
        "books",
        "Book",
        ("fiction", "bookclub", "poetry"),
        (
            "novels", "short stories", "book clubs", "poetry collections", "literary fiction",
            "memoirs", "audiobooks", "used bookshops", "fantasy series", "reading lists",
            "first editions", "library holds", "crime novels", "book reviews", "annotated margins",
            "classic literature", "debut authors", "translated fiction", "bedside reading",
            "graphic novels", "author interviews", "sci-fi novels", "essay collections",
            "reading challenges", "paperbacks", "book fairs",
        ),
    ),
    Topic(
        "fashion",
        "Fashion",
        ("streetwear", "vintage", "sustainablefashion"),
        (
            "streetwear drops", "vintage jackets", "capsule wardrobes", "sneaker releases",
            "thrift finds", "runway shows", "tailoring", "raw denim", "fashion week", "linen shirts",
            "statement coats", "sustainable brands", "outfit grids", "leather boots", "knitwear",
            "colour palettes", "accessories", "silk scarves", "trench coats", "designer collabs",
            "wardrobe staples", "pattern mixing", "second-hand stores", "tote bags", "hemlines",
            "lookbooks",
        ),
    ),
    Topic(
        "astronomy",
        "Astronomy",
        ("stargazing", "telescopes", "exoplanets"),
        (
            "backyard stargazing", "refractor telescopes", "the Milky Way", "meteor showers",
            "lunar eclipses", "exoplanet surveys", "dark sky parks", "nebulae", "star charts",
            "the James Webb telescope", "Jupiter's moons", "astrophotography", "black holes",
            "solar flares", "the aurora", "binocular astronomy", "comet sightings",
            "planetary alignments", "rocket launches", "space telescopes", "the Andromeda galaxy",
            "star clusters", "observatories", "red dwarfs", "light pollution",
            "the ISS passing over",
        ),
    ),
    Topic(
        "startups",
        "Startup",
        ("founders", "venturecapital", "saas"),
        (
            "seed rounds", "product-market fit", "pitch decks", "first-time founders",
            "venture capital", "SaaS metrics", "growth experiments", "cap tables", "bootstrapping",
            "demo days", "user interviews", "churn rates", "MVPs", "accelerators",
            "hiring engineers", "burn rate", "term sheets", "go-to-market plans", "side projects",
            "B2B sales", "remote teams", "angel investors", "launch days", "pricing pages",
            "runway planning", "customer discovery",
        ),
    ),
)
"""The planted topics; a topic's ``name`` doubles as its tag name."""

TOPIC_NAMES: tuple[str, ...] = tuple(t.name for t in TOPICS)

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

_POST_TEMPLATES: tuple[str, ...] = (
    "Spent the whole weekend on {a} and {b}.",
    "Anyone else obsessed with {a} lately?",
    "Hot take: people sleep on {a}.",
    "Just read a great thread about {a}.",
    "Can't stop thinking about {a}.",
    "Today was all about {a}.",
    "Looking for tips on {a} and {b}.",
    "Finally made time for {a} this week.",
    "Still comparing notes on {a} with friends.",
    "Big week for {a}.",
    "Quick question about {a}: where do I start?",
    "Nothing beats {a} after a long day.",
    "My favourite thing right now is {a}.",
    "Deep dive into {a} and {b} coming soon.",
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
_SENTIMENT_PHRASES: tuple[tuple[str, ...], ...] = (
    ("Loved it!", "Absolutely brilliant.", "Made my day.", "Highly recommend.", "So good!"),
    ("So disappointed.", "What a letdown.", "Honestly, it was terrible.", "Not worth it.",
     "Really frustrating."),
    ("Not sure what to think yet.", "It was fine, I guess.", "Mixed feelings.", "Will report back."),
)
_SENTIMENT_SHARES = (0.45, 0.35, 0.20)

_KIND_NAMES = np.array(["like", "repost", "reply"], dtype=object)
_KIND_WEIGHTS = np.array([INTERACTION_WEIGHTS[k] for k in _KIND_NAMES], dtype=np.float64)
_LIKE, _REPOST, _REPLY = 0, 1, 2

_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class SyntheticGraph:
    """Generated tables plus ground truth; every id column holds plain ``str`` values.

    Attributes:
        users: ``id``, ``name``, ``bio``, ``opt_out`` (bool).
        posts: ``id``, ``text``, ``created_at`` (ISO-8601 UTC, ``...Z``), ``lang``.
        follows: ``src`` -> ``dst`` user ids, directed, no self-loops or duplicates.
        posted: ``src`` user id -> ``dst`` post id.
        interacted: ``src`` user id, ``dst`` post id, ``kind`` (like/repost/reply),
            ``weight`` (1, 2, 3) and ``at`` (ISO-8601 UTC, not before the post).
        reply_to: ``src`` reply post id -> ``dst`` the earlier post it answers.
        post_tagged: ``src`` post id -> ``dst`` tag name, ``weight``.
        user_tagged: ``src`` user id -> ``dst`` tag name, ``weight`` in (0, 1].
        communities: ground truth, one row per user: ``user``, ``community`` (int),
            ``topic`` (the community's primary topic) and ``secondary_topic``.
    """

    users: pd.DataFrame
    posts: pd.DataFrame
    follows: pd.DataFrame
    posted: pd.DataFrame
    interacted: pd.DataFrame
    reply_to: pd.DataFrame
    post_tagged: pd.DataFrame
    user_tagged: pd.DataFrame
    communities: pd.DataFrame


@dataclass(frozen=True)
class _Vocabulary:
    """Per-topic word lists flattened into one array so words can be picked by fancy indexing."""

    words: np.ndarray
    offsets: np.ndarray
    sizes: np.ndarray

    @classmethod
    def from_lists(cls, lists: list[tuple[str, ...]]) -> _Vocabulary:
        """Return the vocabulary whose topic ``i`` has the words ``lists[i]``."""
        sizes = np.array([len(words) for words in lists], dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        words = np.array([w for words in lists for w in words], dtype=object)
        return cls(words, offsets, sizes)

    def pick(self, topic: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return one uniformly chosen word of ``topic[i]`` for every row."""
        return self.words[self.offsets[topic] + self._index(topic, rng)]

    def pick_pair(self, topic: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return two different words of ``topic[i]`` for every row."""
        first = self._index(topic, rng)
        size = self.sizes[topic]
        # Shifting by 1..size-1 modulo size can never land back on the first word.
        second = (first + 1 + (rng.random(topic.size) * (size - 1)).astype(np.int64)) % size
        base = self.offsets[topic]
        return self.words[base + first], self.words[base + second]

    def _index(self, topic: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return (rng.random(topic.size) * self.sizes[topic]).astype(np.int64)


@dataclass(frozen=True)
class _GroupedSampler:
    """Draws items from a requested group, uniformly or proportionally to a weight.

    Items are sorted by group once; a draw for group ``g`` is then a uniform
    position (or a point on the cumulative weight) inside ``g``'s slice, which
    keeps millions of draws fully vectorised.
    """

    order: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    cum: np.ndarray | None

    @classmethod
    def build(cls, groups: np.ndarray, n_groups: int, weights: np.ndarray | None = None) -> _GroupedSampler:
        """Return a sampler over items ``0..len(groups)-1`` grouped by ``groups`` (ids < ``n_groups``)."""
        order = np.argsort(groups, kind="stable")
        counts = np.bincount(groups, minlength=n_groups)
        stop = np.cumsum(counts)
        start = stop - counts
        cum = None if weights is None else np.cumsum(weights[order], dtype=np.float64)
        return cls(order, start, stop, cum)

    def sample(self, query: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(items, ok)``: one item per query group; ``ok`` is False for empty groups."""
        u = rng.random(query.size)
        if self.order.size == 0:
            return np.zeros(query.size, dtype=np.int64), np.zeros(query.size, dtype=bool)
        lo = self.start[query]
        hi = self.stop[query]
        last = np.maximum(hi - 1, 0)
        if self.cum is None:
            pos = lo + (u * (hi - lo)).astype(np.int64)
        else:
            below = np.where(lo > 0, self.cum[np.maximum(lo - 1, 0)], 0.0)
            target = below + u * (self.cum[last] - below)
            # Sorted needles let the binary search reuse cache lines; on
            # millions of draws this beats random-order lookups several-fold.
            by_target = np.argsort(target)
            pos = np.empty(query.size, dtype=np.int64)
            pos[by_target] = np.searchsorted(self.cum, target[by_target], side="right")
        # Empty groups clip to a valid index; callers drop them through ``ok``.
        return self.order[np.clip(pos, lo, last)], hi > lo


def default_n_communities(n_users: int) -> int:
    """Return the default number of planted communities, growing like ``sqrt(n_users)``."""
    return max(4, min(MAX_DEFAULT_COMMUNITIES, round(math.sqrt(n_users) / 4)))


def generate(
    n_users: int,
    seed: int = 0,
    *,
    posts_per_user: float = 3.0,
    n_communities: int | None = None,
) -> SyntheticGraph:
    """Generate a synthetic social network with planted interest communities.

    Args:
        n_users: number of users, between 100 and 1,000,000.
        seed: seed for ``np.random.default_rng``; equal seeds give equal tables.
        posts_per_user: mean posts per user (heavy-tailed across users), > 0.
        n_communities: planted communities; default :func:`default_n_communities`.
            Every community gets at least 5 users, so at most ``n_users // 5``.

    Returns:
        A :class:`SyntheticGraph` whose ``communities`` frame maps each user to its
        planted community id, primary ``topic`` and ``secondary_topic``.

    Raises:
        ValueError: when an argument is out of range.
    """
    n_users = _check_n_users(n_users)
    if isinstance(posts_per_user, bool) or not (
        isinstance(posts_per_user, (int, float)) and math.isfinite(posts_per_user) and posts_per_user > 0
    ):
        raise ValueError(f"posts_per_user must be a finite number > 0, got {posts_per_user!r}")
    k = _check_n_communities(n_communities, n_users)
    rng = np.random.default_rng(seed)
    vocab = _Vocabulary.from_lists([t.vocab for t in TOPICS])

    primary_of, secondary_of = _community_topics(k, rng)
    community = _assign_communities(n_users, k, rng)
    user_primary = primary_of[community]
    user_secondary = secondary_of[community]
    user_ids = _ids("u", n_users, 6)
    # Pareto popularity makes in-degree and engagement heavy-tailed: a few
    # users attract a large share of follows and likes.
    popularity = rng.pareto(1.5, n_users) + 1.0

    users = pd.DataFrame(
        {
            "id": user_ids,
            "name": _names(n_users, rng),
            "bio": _bios(user_primary, user_secondary, vocab, rng),
            "opt_out": _opt_out(n_users, rng),
        }
    )
    src, dst = _follows(community, popularity, k, rng)
    follows = pd.DataFrame({"src": user_ids[src], "dst": user_ids[dst]})

    posts_raw = _posts(user_primary, user_secondary, community, popularity, posts_per_user, vocab, rng)
    post_ids = _ids("p", posts_raw.author.size, 7)
    created_at = _iso(posts_raw.secs)
    posts = pd.DataFrame(
        {
            "id": post_ids,
            "text": posts_raw.text,
            "created_at": created_at,
            "lang": np.full(post_ids.size, "en", dtype=object),
        }
    )
    posted = pd.DataFrame({"src": user_ids[posts_raw.author], "dst": post_ids})
    reply_to = pd.DataFrame({"src": post_ids[posts_raw.reply_child], "dst": post_ids[posts_raw.reply_parent]})
    post_tagged = pd.DataFrame(
        {
            "src": post_ids[posts_raw.tag_post],
            "dst": posts_raw.tag_name,
            "weight": posts_raw.tag_weight,
        }
    )

    actor, target, kind, at = _interactions(
        src, dst, community, user_primary, user_secondary, posts_raw, k, rng
    )
    interacted = pd.DataFrame(
        {
            "src": user_ids[actor],
            "dst": post_ids[target],
            "kind": _KIND_NAMES[kind],
            "weight": _KIND_WEIGHTS[kind],
            "at": _iso(at),
        }
    )
    topic_names = np.array(TOPIC_NAMES, dtype=object)
    communities = pd.DataFrame(
        {
            "user": user_ids,
            "community": community.astype(np.int64),
            "topic": topic_names[user_primary],
            "secondary_topic": topic_names[user_secondary],
        }
    )
    graph = SyntheticGraph(
        users=users,
        posts=posts,
        follows=follows,
        posted=posted,
        interacted=interacted,
        reply_to=reply_to,
        post_tagged=post_tagged,
        user_tagged=_user_tags(user_ids, user_primary, user_secondary, rng),
        communities=communities,
    )
    logger.info(
        "synthetic graph seed=%s: %d users, %d communities, %d posts, %d follows, "
        "%d interactions, %d replies",
        seed, n_users, k, len(posts), len(follows), len(interacted), len(reply_to),
    )
    return graph


def write_canonical(graph: SyntheticGraph, out_dir: Path, fmt: str = "csv") -> dict[str, Path]:
    """Write one ``<kind>.<fmt>`` file per table plus ``ground_truth.<fmt>``.

    CSV files have a header line, standard quoting for text and ``opt_out`` as
    ``true``/``false``; parquet keeps native dtypes.  Tag nodes have no file of
    their own: they are the tag names referenced by the tagged tables.

    Returns:
        Mapping from kind (``users`` ... ``user_tagged``, ``ground_truth``) to the written path.

    Raises:
        ValueError: when ``fmt`` is not ``csv`` or ``parquet``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {kind: getattr(graph, kind) for kind in KINDS}
    tables[GROUND_TRUTH] = graph.communities
    paths: dict[str, Path] = {}
    for kind, frame in tables.items():
        path = out_dir / f"{kind}.{fmt}"
        if fmt == "csv":
            if kind == "users":
                # Neo4j's toBoolean and most loaders expect lowercase literals.
                frame = frame.assign(opt_out=np.where(frame["opt_out"].to_numpy(), "true", "false"))
            frame.to_csv(path, index=False, lineterminator="\n")
        else:
            frame.to_parquet(path, index=False)
        paths[kind] = path
        logger.debug("wrote %d rows to %s", len(frame), path)
    return paths


def _check_n_users(n_users: int) -> int:
    if isinstance(n_users, bool) or not isinstance(n_users, (int, np.integer)):
        raise ValueError(f"n_users must be an integer, got {n_users!r}")
    if not MIN_USERS <= n_users <= MAX_USERS:
        raise ValueError(f"n_users must be between {MIN_USERS} and {MAX_USERS}, got {n_users}")
    return int(n_users)


def _check_n_communities(n_communities: int | None, n_users: int) -> int:
    if n_communities is None:
        return default_n_communities(n_users)
    limit = n_users // MIN_COMMUNITY_SIZE
    if isinstance(n_communities, bool) or not isinstance(n_communities, (int, np.integer)):
        raise ValueError(f"n_communities must be an integer, got {n_communities!r}")
    if not 1 <= n_communities <= limit:
        raise ValueError(
            f"n_communities must be between 1 and {limit} for {n_users} users "
            f"(each community needs {MIN_COMMUNITY_SIZE} users), got {n_communities}"
        )
    return int(n_communities)


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


def _ids(prefix: str, n: int, min_width: int) -> np.ndarray:
    """Return ``prefix`` + zero-padded numbers ``0..n-1`` as an object array of str."""
    width = max(min_width, len(str(max(n - 1, 0))))
    # Writing ASCII digit bytes directly avoids formatting millions of ints
    # one by one and works on numpy 1.26 as well as 2.x.
    chars = np.empty((n, len(prefix) + width), dtype=np.uint8)
    chars[:, : len(prefix)] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    chars[:, len(prefix):] = np.arange(n, dtype=np.int64)[:, None] // powers % 10 + ord("0")
    return chars.view(f"S{chars.shape[1]}").ravel().astype(f"U{chars.shape[1]}").astype(object)


def _names(n: int, rng: np.random.Generator) -> np.ndarray:
    first = np.array(_FIRST_NAMES, dtype=object)[rng.integers(len(_FIRST_NAMES), size=n)]
    last = np.array(_LAST_NAMES, dtype=object)[rng.integers(len(_LAST_NAMES), size=n)]
    return first + " " + last


def _opt_out(n: int, rng: np.random.Generator) -> np.ndarray:
    flags = np.zeros(n, dtype=bool)
    flags[rng.choice(n, size=max(1, round(0.01 * n)), replace=False)] = True
    return flags


def _render(templates: tuple[str, ...], choice: np.ndarray, fields: dict[str, np.ndarray]) -> np.ndarray:
    """Return ``templates[choice[i]]`` filled from ``fields[name][i]`` for every row."""
    out = np.empty(choice.size, dtype=object)
    for t, template in enumerate(templates):
        rows = np.flatnonzero(choice == t)
        if rows.size == 0:
            continue
        text = np.full(rows.size, "", dtype=object)
        for literal, field, _, _ in _FORMATTER.parse(template):
            if literal:
                text = text + literal
            if field is not None:
                text = text + fields[field][rows]
        out[rows] = text
    return out


def _bios(
    primary: np.ndarray, secondary: np.ndarray, vocab: _Vocabulary, rng: np.random.Generator
) -> np.ndarray:
    n = primary.size
    labels = np.array([t.label for t in TOPICS], dtype=object)
    a, b = vocab.pick_pair(primary, rng)
    bio = _render(
        _BIO_OPENERS,
        rng.integers(len(_BIO_OPENERS), size=n),
        {"a": a, "b": b, "label": labels[primary]},
    )
    # The second sentence mostly brings in the secondary interest, so bios
    # carry both community topics but lean on the primary one.
    rows = np.flatnonzero(rng.random(n) < 0.6)
    closer_topic = np.where(rng.random(rows.size) < 0.75, secondary[rows], primary[rows])
    closer = _render(
        _BIO_CLOSERS,
        rng.integers(len(_BIO_CLOSERS), size=rows.size),
        {"a": vocab.pick(closer_topic, rng), "label": labels[closer_topic]},
    )
    bio[rows] = bio[rows] + " " + closer
    return bio


@dataclass(frozen=True)
class _Posts:
    """Posts in chronological order (index = post number) with their replies and tags."""

    author: np.ndarray
    secs: np.ndarray
    topic: np.ndarray
    appeal: np.ndarray
    text: np.ndarray
    reply_child: np.ndarray
    reply_parent: np.ndarray
    tag_post: np.ndarray
    tag_name: np.ndarray
    tag_weight: np.ndarray


def _posts(
    primary: np.ndarray,
    secondary: np.ndarray,
    community: np.ndarray,
    popularity: np.ndarray,
    posts_per_user: float,
    vocab: _Vocabulary,
    rng: np.random.Generator,
) -> _Posts:
    n_users = primary.size
    n_topics = len(TOPICS)
    activity = rng.lognormal(-(1.0**2) / 2, 1.0, n_users)  # mean 1, heavy-tailed
    counts = rng.poisson(posts_per_user * activity)
    if counts.sum() == 0:
        counts[int(np.argmax(activity))] = 1
    author = np.repeat(np.arange(n_users, dtype=np.int64), counts)
    secs = rng.integers(0, _SPAN_S, size=author.size)
    # Numbering posts by time makes post ids chronological, as snowflake ids are.
    order = np.argsort(secs, kind="stable")
    author = author[order]
    secs = secs[order]
    n_posts = author.size

    u = rng.random(n_posts)
    topic = np.where(u < 0.65, primary[author], secondary[author])
    off_topic = u >= 0.92
    topic[off_topic] = rng.integers(n_topics, size=int(off_topic.sum()))
    other = np.where(topic == primary[author], secondary[author], primary[author])
    appeal = rng.lognormal(0.0, 0.75, n_posts) * np.sqrt(popularity[author])

    child, parent = _replies(author, secs, topic, community, n_topics, rng)
    text, mixed = _post_text(topic, other, vocab, rng)
    tag_post, tag_name, tag_weight, hashtag = _post_tags(topic, other, mixed, rng)
    with_hashtag = np.flatnonzero(rng.random(n_posts) < 0.3)
    text[with_hashtag] = text[with_hashtag] + " #" + hashtag[with_hashtag]
    return _Posts(author, secs, topic, appeal, text, child, parent, tag_post, tag_name, tag_weight)


def _post_text(
    topic: np.ndarray, other: np.ndarray, vocab: _Vocabulary, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return post texts and whether the second sentence used the author's other topic."""
    n = topic.size
    n_templates = len(_POST_TEMPLATES)
    sentiment = rng.random(n) < 0.4
    n_sentences = rng.integers(1, 4, size=n)
    # The sentiment phrase counts as a sentence, keeping every post at 1-3.
    n_sentences = np.where(sentiment & (n_sentences == 3), 2, n_sentences)

    # Consecutive sentences shift the template by 1..n-1 so a post never
    # repeats the same sentence frame back to back.
    template = rng.integers(n_templates, size=(3, n))
    template[1:] = 1 + template[1:] % (n_templates - 1)
    template = np.cumsum(template, axis=0) % n_templates

    a, b = vocab.pick_pair(topic, rng)
    text = _render(_POST_TEMPLATES, template[0], {"a": a, "b": b})

    second = np.flatnonzero(n_sentences >= 2)
    use_other = rng.random(second.size) < 0.5
    second_topic = np.where(use_other, other[second], topic[second])
    a, b = vocab.pick_pair(second_topic, rng)
    text[second] = text[second] + " " + _render(_POST_TEMPLATES, template[1, second], {"a": a, "b": b})
    third = np.flatnonzero(n_sentences == 3)
    a, b = vocab.pick_pair(topic[third], rng)
    text[third] = text[third] + " " + _render(_POST_TEMPLATES, template[2, third], {"a": a, "b": b})

    rows = np.flatnonzero(sentiment)
    polarity = rng.choice(len(_SENTIMENT_PHRASES), size=rows.size, p=_SENTIMENT_SHARES)
    phrases = np.empty(rows.size, dtype=object)
    for p, options in enumerate(_SENTIMENT_PHRASES):
        sel = np.flatnonzero(polarity == p)
        phrases[sel] = np.array(options, dtype=object)[rng.integers(len(options), size=sel.size)]
    text[rows] = text[rows] + " " + phrases

    mixed = np.zeros(n, dtype=bool)
    mixed[second[use_other]] = True
    return text, mixed & (other != topic)


def _post_tags(
    topic: np.ndarray, other: np.ndarray, mixed: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(post, tag, weight)`` rows sorted by post, 1-3 per post, and a hashtag per post."""
    n = topic.size
    names = np.array(TOPIC_NAMES, dtype=object)
    fine = np.array([list(t.fine_tags) for t in TOPICS], dtype=object)
    posts = np.arange(n, dtype=np.int64)

    fine_rows = np.flatnonzero(rng.random(n) < 0.6)
    fine_tag = fine[topic[fine_rows], rng.integers(fine.shape[1], size=fine_rows.size)]
    mixed_rows = np.flatnonzero(mixed)

    tag_post = np.concatenate((posts, fine_rows, mixed_rows))
    tag_name = np.concatenate((names[topic], fine_tag, names[other[mixed_rows]]))
    tag_weight = np.concatenate(
        (
            np.ones(n),
            np.round(rng.uniform(0.4, 0.9, fine_rows.size), 3),
            np.round(rng.uniform(0.2, 0.6, mixed_rows.size), 3),
        )
    )
    order = np.argsort(tag_post, kind="stable")

    hashtag = names[topic]
    hashtag[fine_rows] = fine_tag
    return tag_post[order], tag_name[order], tag_weight[order], hashtag


def _replies(
    author: np.ndarray,
    secs: np.ndarray,
    topic: np.ndarray,
    community: np.ndarray,
    n_topics: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(child, parent)`` post indices; parents are earlier posts on the child's topic."""
    n_posts = author.size
    child = np.flatnonzero(rng.random(n_posts) < 0.15)
    # Most conversations happen inside the community; the rest reach anyone
    # posting on the same topic.
    local = rng.random(child.size) < 0.7
    parent = np.empty(child.size, dtype=np.int64)
    ok = np.empty(child.size, dtype=bool)
    for mask, key in ((local, community[author] * n_topics + topic), (~local, topic)):
        parent[mask], ok[mask] = _earlier_in_group(key, child[mask], rng)
    ok &= secs[parent] < secs[child]
    ok &= author[parent] != author[child]
    return child[ok], parent[ok]


def _earlier_in_group(
    key: np.ndarray, child: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pick for each child an earlier post with the same key, favouring recent ones."""
    order = np.argsort(key, kind="stable")
    position = np.empty(key.size, dtype=np.int64)
    position[order] = np.arange(key.size)
    sorted_key = key[order]
    pos = position[child]
    earlier = pos - np.searchsorted(sorted_key, sorted_key[pos], side="left")
    ok = earlier > 0
    # Squaring a uniform skews the look-back towards the latest posts.
    back = (earlier * rng.random(child.size) ** 2).astype(np.int64)
    parent = order[np.where(ok, pos - 1 - back, pos)]
    return parent, ok


def _unique_edges(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return edges without self-loops or duplicates, sorted by (src, dst)."""
    keep = src != dst
    return unique_pairs(src[keep], dst[keep], n)


def _follows(
    community: np.ndarray, popularity: np.ndarray, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    n = community.size
    # mu = log(mean) - sigma^2 / 2 gives a lognormal with mean 9 follows before
    # reciprocation and closure, which lands the final mean out-degree near 14.
    activity = rng.lognormal(math.log(9.0) - 0.9**2 / 2, 0.9, n)
    src = np.repeat(np.arange(n, dtype=np.int64), rng.poisson(activity))
    inside = rng.random(src.size) < 0.82
    dst = np.empty(src.size, dtype=np.int64)
    by_community = _GroupedSampler.build(community, k, popularity)
    dst[inside], _ = by_community.sample(community[src[inside]], rng)
    anyone = _GroupedSampler.build(np.zeros(n, dtype=np.int64), 1, popularity)
    dst[~inside], _ = anyone.sample(np.zeros(int((~inside).sum()), dtype=np.int64), rng)
    src, dst = _unique_edges(src, dst, n)

    back = rng.random(src.size) < 0.25
    src, dst = _unique_edges(np.concatenate((src, dst[back])), np.concatenate((dst, src[back])), n)

    # Triadic closure: for sampled two-hop paths u->v->w also add u->w.
    ptr = row_pointers(src, n)
    paths = rng.integers(src.size, size=int(0.3 * src.size))
    u, v = src[paths], dst[paths]
    degree = ptr[v + 1] - ptr[v]
    has_next = degree > 0
    w = dst[np.minimum(ptr[v] + (rng.random(paths.size) * degree).astype(np.int64), src.size - 1)]
    keep = has_next & (w != u)
    return _unique_edges(np.concatenate((src, u[keep])), np.concatenate((dst, w[keep])), n)


def _interactions(
    follow_src: np.ndarray,
    follow_dst: np.ndarray,
    community: np.ndarray,
    primary: np.ndarray,
    secondary: np.ndarray,
    posts: _Posts,
    k: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(user, post, kind, secs)`` rows, unique per (user, post, kind)."""
    n_users = community.size
    n_posts = posts.author.size
    n_topics = len(TOPICS)
    activity = rng.lognormal(math.log(6.0) - 1.0**2 / 2, 1.0, n_users)  # mean 6 likes/reposts
    user = np.repeat(np.arange(n_users, dtype=np.int64), rng.poisson(activity))

    # Where each like/repost comes from: a followed account, the user's
    # community, the primary topic, the secondary topic, or anywhere.
    source = rng.choice(5, size=user.size, p=(0.25, 0.25, 0.25, 0.10, 0.15))
    post = np.zeros(user.size, dtype=np.int64)
    ok = np.zeros(user.size, dtype=bool)

    rows = np.flatnonzero(source == 0)
    followee, follows_someone = _GroupedSampler.build(follow_src, n_users).sample(user[rows], rng)
    by_author = _GroupedSampler.build(posts.author, n_users, posts.appeal)
    post[rows], ok[rows] = by_author.sample(follow_dst[followee] if follow_dst.size else followee, rng)
    ok[rows] &= follows_someone

    by_community = _GroupedSampler.build(community[posts.author], k, posts.appeal)
    by_topic = _GroupedSampler.build(posts.topic, n_topics, posts.appeal)
    anywhere = _GroupedSampler.build(np.zeros(n_posts, dtype=np.int64), 1, posts.appeal)
    for s, sampler, query in (
        (1, by_community, community),
        (2, by_topic, primary),
        (3, by_topic, secondary),
        (4, anywhere, np.zeros(n_users, dtype=np.int64)),
    ):
        rows = np.flatnonzero(source == s)
        post[rows], ok[rows] = sampler.sample(query[user[rows]], rng)

    ok &= posts.author[post] != user
    user, post = user[ok], post[ok]
    kind = np.where(rng.random(user.size) < 0.8, _LIKE, _REPOST)
    # Engagement follows the post within hours, but never after the data window.
    delay = 1 + rng.exponential(6 * 3600, size=user.size).astype(np.int64)
    secs = np.minimum(posts.secs[post] + delay, _SPAN_S - 1)

    user = np.concatenate((user, posts.author[posts.reply_child]))
    post = np.concatenate((post, posts.reply_parent))
    kind = np.concatenate((kind, np.full(posts.reply_child.size, _REPLY)))
    secs = np.concatenate((secs, posts.secs[posts.reply_child]))

    code = (user * n_posts + post) * 3 + kind
    order = np.argsort(code, kind="stable")
    code = code[order]
    first = order[np.concatenate(([True], code[1:] != code[:-1]))] if code.size else order
    return user[first], post[first], kind[first], secs[first]


def _iso(secs: np.ndarray) -> np.ndarray:
    """Return ISO-8601 UTC strings (``YYYY-MM-DDTHH:MM:SSZ``) for seconds since the window start."""
    # Joining a day prefix and a time-of-day suffix from lookup tables is
    # several times faster than np.datetime_as_string on millions of values.
    days = _START.astype("datetime64[D]") + np.arange(_SPAN_S // _DAY_S + 1)
    day_prefix = np.array([f"{day}T" for day in days.tolist()], dtype=object)
    return day_prefix[secs // _DAY_S] + _clock_suffixes()[secs % _DAY_S]


@functools.cache
def _clock_suffixes() -> np.ndarray:
    """Return ``"HH:MM:SSZ"`` for every second of a day (read-only, shared between calls)."""
    table = np.array(
        [f"{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60)], dtype=object
    )
    table.flags.writeable = False
    return table


def _user_tags(
    user_ids: np.ndarray, primary: np.ndarray, secondary: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
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
