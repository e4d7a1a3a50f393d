"""Reply drafts: a post's feeling and topic, composed and retrieved candidates, and their ranking.

- :mod:`text.replies.phrases`: the per-language phrase tables (data, ``phrases/*.toml``).
- :mod:`text.replies.feeling`: which section of a table a reply to a post draws from.
- :mod:`text.replies.topics`: the post's topic phrases.
- :mod:`text.replies.compose`: drafts written from the table.
- :mod:`text.replies.retrieval`: existing replies as candidates.
- :mod:`text.replies.signals`: tone of drafts from the n-gram heads.
- :mod:`text.replies.ranking`: safety filters, scoring and the final choice (:class:`ReplyDrafter`).
"""
