"""Poll timing: spread start, minimum interval, back-off and Retry-After."""

from __future__ import annotations

import random

from exporter.schedule import (
    backoff_ceiling,
    effective_interval,
    first_delay,
    next_delay,
)


def test_minimum_interval_wins_over_a_shorter_configured_one() -> None:
    assert effective_interval(5, 15) == 15
    assert effective_interval(120, 15) == 120


def test_first_polls_spread_over_the_first_interval() -> None:
    rng = random.Random(7)
    delays = [first_delay(60, rng) for _ in range(1000)]
    assert all(0 <= d <= 60 for d in delays)
    # Spread, not bunched: every tenth of the interval gets some first polls.
    assert {int(d // 6) for d in delays} == set(range(10))


def test_success_waits_one_interval() -> None:
    assert next_delay(60, 0, None, random.Random(1)) == 60


def test_failures_back_off_exponentially_up_to_the_ceiling() -> None:
    rng = random.Random(3)
    upper = [max(next_delay(60, n, None, rng) for _ in range(200)) for n in range(1, 8)]
    assert upper[0] <= 60 * 1.001
    assert upper[1] > 60 and upper[2] > upper[1]
    assert max(upper) <= backoff_ceiling(60) == 600


def test_ceiling_is_one_hour_for_long_intervals_but_never_below_the_interval() -> None:
    assert backoff_ceiling(600) == 3600
    assert backoff_ceiling(7200) == 7200


def test_backoff_is_jittered() -> None:
    rng = random.Random(5)
    assert len({round(next_delay(60, 4, None, rng), 3) for _ in range(20)}) > 10


def test_retry_after_is_honoured_when_longer_than_the_backoff() -> None:
    assert next_delay(60, 1, 900, random.Random(2)) == 900


def test_absurd_retry_after_is_capped() -> None:
    assert next_delay(60, 1, 10**9, random.Random(2)) == 3600
