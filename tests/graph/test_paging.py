"""graph.store.keyset_pages over an in-memory sorted list of keys (no Neo4j)."""

from graph.store import keyset_pages

KEYS = ["a", "b", "c", "d", "e"]


def _fetch(after: str, size: int) -> tuple[list[str], list[str]]:
    page = [key for key in KEYS if key > after][:size]
    return page, page


def test_pages_start_after_the_last_key_and_stop_at_a_short_page():
    assert list(keyset_pages(_fetch, 2)) == [["a", "b"], ["c", "d"], ["e"]]


def test_a_full_last_page_ends_with_no_empty_page():
    assert list(keyset_pages(_fetch, 5)) == [KEYS]


def test_limit_caps_the_keys_read():
    assert list(keyset_pages(_fetch, 2, limit=3)) == [["a", "b"], ["c"]]
    assert list(keyset_pages(_fetch, 2, limit=0)) == []
