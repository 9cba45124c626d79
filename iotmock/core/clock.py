"""The one clock behind every timestamp the mock produces.

It reads `time.time()` at each call (never caches), so freezegun and time-machine, which
patch the time functions, move every timestamp of the mock together.
"""

from __future__ import annotations

import datetime as dt
import time


def now() -> float:
    """Seconds since the epoch, as a float."""
    return time.time()


def now_datetime() -> dt.datetime:
    return dt.datetime.fromtimestamp(now(), tz=dt.timezone.utc)


def now_millis() -> int:
    return int(now() * 1000)
