"""When each provider is polled next: spread start, interval, back-off."""

from __future__ import annotations

import random

BACKOFF_CEILING_SECONDS = 3600.0
BACKOFF_CEILING_INTERVALS = 10


def effective_interval(configured: float, min_interval: float) -> float:
    """Return the poll interval, never shorter than the global minimum."""
    return max(configured, min_interval)


def first_delay(interval: float, rng: random.Random) -> float:
    """Spread first polls over the first interval so they never come at once."""
    return rng.uniform(0.0, interval)


def backoff_ceiling(interval: float) -> float:
    """Return the longest wait after failures: 10 intervals or 1 h."""
    ceiling = min(interval * BACKOFF_CEILING_INTERVALS, BACKOFF_CEILING_SECONDS)
    return max(interval, ceiling)


def next_delay(
    interval: float,
    consecutive_failures: int,
    retry_after: float | None,
    rng: random.Random,
) -> float:
    """Return how long to wait before the next poll of a provider."""
    if consecutive_failures == 0:
        return interval
    ceiling = backoff_ceiling(interval)
    exponential = min(interval * 2 ** (consecutive_failures - 1), ceiling)
    # Jitter keeps many failing providers from retrying in lockstep.
    delay = rng.uniform(max(interval, exponential / 2), exponential)
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(ceiling, BACKOFF_CEILING_SECONDS)))
    return delay
