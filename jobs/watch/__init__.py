"""The watch service (``python -m jobs watch``): new and changed posts and people served within seconds, without retraining.

- :mod:`jobs.watch.service`: the loop, its high-water mark, lag, back-off and locks;
- :mod:`jobs.watch.text`: vectors, sentiment and emotion through the batch jobs' page functions;
- :mod:`jobs.watch.audience`: a new post into the recommendation lists it earns;
- :mod:`jobs.watch.newcomers`: friends and recommendations for people no run has served, and opt-outs;
- :mod:`jobs.watch.profiles`: text profiles as the recommend job scores them;
- :mod:`jobs.watch.lists`: the published runs, and rows merged into them;
- :mod:`jobs.watch.cli`: ``python -m jobs watch`` and ``python -m jobs status``.

How changes are found is :mod:`graph.changes`.
"""
