"""The opt-in NRC lexicon baseline (``sociograph[lexicon]``): the emotion with the most lexicon words."""

from __future__ import annotations

import pytest

pytest.importorskip("nrclex", reason="the NRC lexicon is the opt-in extra sociograph[lexicon]")

from text.emotion import EMOTIONS  # noqa: E402
from text.emotion_lexicon import lexicon_labels  # noqa: E402


def test_lexicon_labels_follow_the_words_and_fall_back_without_any() -> None:
    texts = ["I am furious and angry", "What a happy wonderful day", "so sad, my dog died", "The report has three tables", "我很生气"]
    labels = lexicon_labels(texts, fallback=EMOTIONS.index("anger"))
    assert [EMOTIONS[i] for i in labels] == ["anger", "joy", "sadness", "anger", "anger"]
    assert [EMOTIONS[i] for i in lexicon_labels(texts[3:], fallback=EMOTIONS.index("joy"))] == ["joy", "joy"]
