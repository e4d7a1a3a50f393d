"""The shipped sentiment classifier on fixed samples of the real TweetEval and weibo2018 test sets, and its evaluate command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.cli import main
from jobs.sentiment.evaluate import evaluate_sentiment
from text.sentiment import SentimentClassifier
from text.sentiment_data import tweeteval_split, weibo_split

# Thresholds from the project's goals (README, evaluation table), not from the model's own
# output: a constant, shuffled or untrained classifier falls far below each of them.
TWEETEVAL_FLOOR = {"macro_recall": 0.65, "accuracy": 0.60}
"""On the first 2,000 TweetEval test tweets (goal: macro-recall 0.65 on the whole split)."""
WEIBO_FLOOR = {"macro_recall": 0.82, "accuracy": 0.87}
"""On the weibo2018 test split (goal: accuracy 0.87)."""


def test_tweeteval_sample_reaches_the_goal_and_beats_vader(classifier: SentimentClassifier, datasets: Path) -> None:
    split = tweeteval_split(datasets / "tweeteval_sentiment", "test").head(2_000)
    result = evaluate_sentiment(classifier, "tweeteval", split)
    for metric, floor in TWEETEVAL_FLOOR.items():
        assert result["model"][metric] >= floor, (metric, result)
    assert result["model"]["macro_recall"] > result["baselines"]["vader"]["macro_recall"] + 0.05


def test_weibo_test_reaches_the_goal_and_beats_snownlp(classifier: SentimentClassifier, datasets: Path) -> None:
    split = weibo_split(datasets / "weibo2018_sentiment", "test")
    result = evaluate_sentiment(classifier, "weibo2018", split)
    for metric, floor in WEIBO_FLOOR.items():
        assert result["model"][metric] >= floor, (metric, result)
    assert result["model"]["accuracy"] > result["baselines"]["snownlp"]["accuracy"]


def test_evaluate_command_prints_metrics_as_json_on_the_last_line(datasets: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = datasets / "weibo2018_sentiment"
    assert main(["evaluate", "sentiment", "--dataset", "weibo2018", "--path", str(path), "--limit", "100", "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["rows"] == 100 and set(result["baselines"]) == {"snownlp"}
    for scores in (result["model"], result["baselines"]["snownlp"]):
        assert {"macro_recall", "accuracy", "macro_f1"} <= set(scores)
        assert all(0.0 <= scores[m] <= 1.0 for m in ("macro_recall", "accuracy", "macro_f1"))
