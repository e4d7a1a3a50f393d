"""The string columns of the tables: zero-padded ids and ISO-8601 times inside the data window."""

from __future__ import annotations

import functools

import numpy as np

_START = np.datetime64("2025-01-01T00:00:00", "s")
_END = np.datetime64("2026-03-01T00:00:00", "s")
SPAN_S = int((_END - _START) / np.timedelta64(1, "s"))
"""The data window's length in seconds: every post and every interaction falls inside it."""
_DAY_S = 86_400


def padded_ids(prefix: str, n: int, min_width: int) -> np.ndarray:
    """Return ``prefix`` + zero-padded numbers ``0..n-1`` as an object array of str."""
    width = max(min_width, len(str(max(n - 1, 0))))
    # Writing ASCII digit bytes directly avoids formatting millions of ints
    # one by one and works on numpy 1.26 as well as 2.x.
    chars = np.empty((n, len(prefix) + width), dtype=np.uint8)
    chars[:, : len(prefix)] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    chars[:, len(prefix):] = np.arange(n, dtype=np.int64)[:, None] // powers % 10 + ord("0")
    return chars.view(f"S{chars.shape[1]}").ravel().astype(f"U{chars.shape[1]}").astype(object)


def iso_times(secs: np.ndarray) -> np.ndarray:
    """Return ISO-8601 UTC strings (``YYYY-MM-DDTHH:MM:SSZ``) for seconds since the window start."""
    # Joining a day prefix and a time-of-day suffix from lookup tables is
    # several times faster than np.datetime_as_string on millions of values.
    days = _START.astype("datetime64[D]") + np.arange(SPAN_S // _DAY_S + 1)
    day_prefix = np.array([f"{day}T" for day in days.tolist()], dtype=object)
    return day_prefix[secs // _DAY_S] + _clock_suffixes()[secs % _DAY_S]


@functools.cache
def _clock_suffixes() -> np.ndarray:
    """Return ``"HH:MM:SSZ"`` for every second of a day (read-only, shared between calls)."""
    table = np.array(
        [f"{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60)], dtype=object
    )
    table.flags.writeable = False
    return table
