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

Modules:

* :mod:`graph.synthetic.generator`: :func:`generate`, which draws the pieces below in a fixed order.
* :mod:`graph.synthetic.vocabulary`: the planted topics, their word lists and the template renderer.
* :mod:`graph.synthetic.people`: communities, users, names, bios, opt-outs and user tags.
* :mod:`graph.synthetic.posts`: posts, their text, sentiment, tags and replies.
* :mod:`graph.synthetic.edges`: follows, likes and reposts.
* :mod:`graph.synthetic.columns`: ids and ISO-8601 times as string columns, and the data window.
* :mod:`graph.synthetic.canonical`: :class:`SyntheticGraph` and :func:`write_canonical`.
"""

from graph.synthetic.canonical import FORMATS, GROUND_TRUTH, KINDS, SyntheticGraph, write_canonical
from graph.synthetic.edges import INTERACTION_WEIGHTS
from graph.synthetic.generator import MAX_USERS, MIN_USERS, generate
from graph.synthetic.people import MAX_DEFAULT_COMMUNITIES, MIN_COMMUNITY_SIZE, default_n_communities
from graph.synthetic.vocabulary import TOPIC_NAMES, TOPICS, Topic

__all__ = [
    "FORMATS",
    "GROUND_TRUTH",
    "INTERACTION_WEIGHTS",
    "KINDS",
    "MAX_DEFAULT_COMMUNITIES",
    "MAX_USERS",
    "MIN_COMMUNITY_SIZE",
    "MIN_USERS",
    "SyntheticGraph",
    "TOPICS",
    "TOPIC_NAMES",
    "Topic",
    "default_n_communities",
    "generate",
    "write_canonical",
]
