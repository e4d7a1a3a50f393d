"""Reply drafts on the project's reply set: they answer the post's feeling, name its topic, keep its language."""

from __future__ import annotations

import pytest

from jobs.reply.reply_set import read_set, score_set
from text.embeddings import Encoder
from text.emotion import EmotionClassifier
from text.replies.feeling import PostTone
from text.replies.ranking import ReplyDrafter
from text.replies.signals import ToneReader
from text.sentiment import SentimentClassifier

pytestmark = pytest.mark.quality


def test_drafts_for_the_reply_set_answer_their_posts() -> None:
    posts = read_set()
    encoder = Encoder("use-multilingual-v3", device="cpu")
    drafter = ReplyDrafter(encoder.encode, ToneReader())
    emotion, sentiment = EmotionClassifier(device="cpu"), SentimentClassifier(device="cpu")
    texts = [p.text for p in posts]
    # The tone the emotion and sentiment jobs would have written for each post.
    emotions, sentiments = emotion.predict(texts), sentiment.predict(texts)
    drafts = {
        p.id: drafter.draft(
            p.text, PostTone(emotions.labels[i], float(emotions.scores[i]), sentiments.labels[i], float(sentiments.scores[i]))
        )
        for i, p in enumerate(posts)
    }
    scores = score_set(posts, drafts, encoder.encode, emotion.probabilities, lambda t: sentiment.predict(t).probabilities)
    for language in ("en", "zh"):
        got = scores[language]
        assert got["with_drafts"] == got["posts"] and got["language_match"] == 1.0, got
        assert got["others_posts"] == 0.0
        assert got["names_topic"] >= 0.7 and got["emotion_fit"] >= 0.8 and got["relevance"] >= 0.4, got
