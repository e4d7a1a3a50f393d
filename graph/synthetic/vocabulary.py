"""The planted topics and their vocabularies, and the helpers that turn them into text.

Every topic has a tag name, a label for bios, three finer tags and a list of
phrases; bios and posts pick their words from the lists of their topics.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

_FORMATTER = string.Formatter()


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


@dataclass(frozen=True)
class Vocabulary:
    """Per-topic word lists flattened into one array so words can be picked by fancy indexing."""

    words: np.ndarray
    offsets: np.ndarray
    sizes: np.ndarray

    @classmethod
    def from_lists(cls, lists: list[tuple[str, ...]]) -> Vocabulary:
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


def render(templates: tuple[str, ...], choice: np.ndarray, fields: dict[str, np.ndarray]) -> np.ndarray:
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
