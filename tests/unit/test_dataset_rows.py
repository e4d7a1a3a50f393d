"""Public dataset rows from small files written by the tests: ids, Gowalla's line rules, LastFM's tag assignments."""

from __future__ import annotations

import gzip
from pathlib import Path

from graph.ingest.datasets import (
    epinions_steps,
    gowalla_steps,
    lastfm_steps,
    namespaced,
)
from graph.ingest.rows import RawRow, Reject

def test_namespaced_prefixes_non_empty_ids_only() -> None:
    assert namespaced("lastfm", "2") == "lastfm:2"
    assert namespaced("email-eu-core", " 17 ") == "email-eu-core:17"
    assert namespaced("lastfm", "") == ""
    assert namespaced("lastfm", "  ") == "  "


def test_gowalla_rows_keep_lines_and_refuse_bad_tokens(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text("0 5 6\nx 7\n1 8 y 9\n\n2\n3 10\n4 11 \u0663\n", encoding="utf-8")
    (step,) = gowalla_steps(tmp_path)
    assert step.create_src and step.create_dst
    rows = list(step.rows())
    good = [(r.line, r.fields["src"], r.fields["dst"]) for r in rows if isinstance(r, RawRow)]
    bad = [(r.source, r.line, r.field) for r in rows if isinstance(r, Reject)]
    assert good == [
        (1, "gowalla:0", "gowalla:5"),
        (1, "gowalla:0", "gowalla:6"),
        (3, "gowalla:1", "gowalla:8"),
        (3, "gowalla:1", "gowalla:9"),
        (6, "gowalla:3", "gowalla:10"),
        (7, "gowalla:4", "gowalla:11"),
    ]
    assert bad == [(str(path), 2, "src"), (str(path), 3, "dst"), (str(path), 7, "dst")]
    assert all(r.fields["kind"] == "check-in" and float(r.fields["weight"]) == 1.0 for r in rows if isinstance(r, RawRow))


def test_lastfm_tagging_aggregates_valid_assignments_only(tmp_path: Path) -> None:
    (tmp_path / "artists.dat").write_text(
        'id\tname\turl\tpictureURL\n1\t"Weird Al" Yankovic\tu\tp\n2\tAbba\tu\tp\n', encoding="utf-8"
    )
    (tmp_path / "tags.dat").write_bytes("tagID\ttagValue\n10\tFußball\n11\tmetal\n".encode("latin-1"))
    (tmp_path / "user_friends.dat").write_text("userID\tfriendID\n5\t6\n6\t5\n", encoding="utf-8")
    (tmp_path / "user_artists.dat").write_text("userID\tartistID\tweight\n5\t1\t3\n7\t2\t4\n", encoding="utf-8")
    (tmp_path / "user_taggedartists.dat").write_text(
        "userID\tartistID\ttagID\tday\tmonth\tyear\n"
        "5\t1\t10\t1\t1\t2009\n"  # line 2
        "6\t1\t10\t1\t1\t2009\n"  # line 3
        "5\t99\t10\t1\t1\t2009\n"  # line 4: unknown artist
        "5\t2\t77\t1\t1\t2009\n"  # line 5: unknown tag
        "5\t2\t11\t1\t1\t2009\n",  # line 6
        encoding="utf-8",
    )
    steps = {s.kind.name: s for s in lastfm_steps(tmp_path)}
    users = [(r.line, r.fields["id"]) for r in steps["users"].rows()]
    assert users == [(2, "lastfm:5"), (2, "lastfm:6"), (3, "lastfm:7")]
    assert [r.source.endswith("user_artists.dat") for r in steps["users"].rows()] == [False, False, True]
    posts = [r.fields for r in steps["posts"].rows()]
    assert posts[0] == {"id": "lastfm:1", "text": '"Weird Al" Yankovic'}
    post_tagged = list(steps["post_tagged"].rows())
    rejects = [(r.line, r.field) for r in post_tagged if isinstance(r, Reject)]
    assert rejects == [(4, "artistID"), (5, "tagID")]
    rows = [(r.line, r.fields["src"], r.fields["dst"], r.fields["weight"]) for r in post_tagged if isinstance(r, RawRow)]
    assert rows == [(2, "lastfm:1", "fußball", "2"), (6, "lastfm:2", "metal", "1")]
    user_tagged = list(steps["user_tagged"].rows())
    assert all(isinstance(r, RawRow) for r in user_tagged)
    assert [(r.line, r.fields["src"], r.fields["dst"], r.fields["weight"]) for r in user_tagged] == [
        (2, "lastfm:5", "fußball", "1"),
        (3, "lastfm:6", "fußball", "1"),
        (6, "lastfm:5", "metal", "1"),
    ]


def test_epinions_reads_gzipped_trust_and_ratings_with_their_lines(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "trust.tsv.gz", "wt") as trust:
        trust.write("truster_id\ttrustee_id\n15373\t9831\n4247\t4247\n")
    with gzip.open(tmp_path / "ratings.tsv.gz", "wt") as ratings:
        ratings.write("user_id\titem_id\tcategory_id\trating\n1\t7\t3\t5\n2\t7\n")
    follows, rated = epinions_steps(tmp_path)
    assert [(r.line, r.fields["src"], r.fields["dst"]) for r in follows.rows()] == [
        (2, "epinions:15373", "epinions:9831"), (3, "epinions:4247", "epinions:4247"),
    ]
    rows = list(rated.rows())
    assert isinstance(rows[0], RawRow) and rows[0].line == 2
    assert {k: rows[0].fields[k] for k in ("src", "dst", "weight", "kind")} == {
        "src": "epinions:1", "dst": "epinions:7", "weight": "5", "kind": "rating",
    }
    assert isinstance(rows[1], Reject) and (rows[1].line, rows[1].field) == (3, "*")
