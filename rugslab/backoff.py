"""The one backoff of rugslab: capped exponential delays with full jitter, and when to reset.

    delay_n = U((1 − jitter) · c_n, c_n),   c_n = min(cap_s, base_s · 2^n),   n = attempts so far

With the default `jitter=1` ("full jitter") the delay is uniform in [0, c_n]: retries of many
clients, or of one client against a flapping server, do not fall into step, and the mean wait
is half the ceiling. Source: M. Brooker, "Exponential Backoff and Jitter", AWS Architecture
Blog (2015), which finds full jitter does the least work for the same completion time.

Three uses, each with its own constants:

- reconnecting to the feed (`RECONNECT_*`, `listen`);
- retrying a failed lake write (`LAKE_RETRY_*`, the collector's write timer);
- retrying a failed journal write (`JOURNAL_RETRY_*`, disk full).

Reset (`is_healthy_connection`): a connection counts as healthy, and the reconnect delays
start over, when it delivered at least one frame and stayed up `HEALTHY_MIN_UP_S`, or when it
stayed up `HEALTHY_UP_S` whatever it delivered. Without a reset after short healthy
connections, a server that drops the transport every few seconds pushes the delays to the cap
and the collector spends most of its time away (seen: delays 0.7 → 19 s, connected 11 s of 30).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

#: First reconnect ceiling. The feed's `partialPrices` is a sliding window of the last 5 ticks
#: (~1.25 s at 250 ms/tick, PROTOCOL.md): a wait of at most 0.5 s plus a handshake of a few
#: hundred ms stays inside it, so one dropped connection loses no tick.
RECONNECT_BASE_S = 0.5
#: Longest reconnect ceiling: while the feed is down, at most ~4 attempts a minute (mean wait
#: 15 s), and once it is back the collector misses at most 30 s of it.
RECONNECT_CAP_S = 30.0
#: A connection that stayed up this long was not a flap, even if the feed was silent (the
#: longest silence measured between ticks is 5.2 s, PROTOCOL.md "Timing").
HEALTHY_UP_S = 10.0
#: ... and one that delivered frames counts only if it stayed up this long: a server that
#: accepts, sends its greeting and cuts at once (a refusal in all but name) still gets backoff.
HEALTHY_MIN_UP_S = 1.0

#: Lake writes: a failed write is retried after ~1 s first (a write that failed for a passing
#: reason), then less and less often up to once a minute: each try writes a whole batch of
#: Parquet files, and the journal keeps the frames meanwhile.
LAKE_RETRY_BASE_S = 1.0
LAKE_RETRY_CAP_S = 60.0

#: Journal writes (disk full): a try is one small append and an fsync, and the journal's
#: promise is "on disk within a second": retry soon and at least every 5 s, so the held
#: frames are on disk within seconds of space returning.
JOURNAL_RETRY_BASE_S = 0.5
JOURNAL_RETRY_CAP_S = 5.0
#: Delta commits lost to a concurrent writer: the next attempt re-reads and commits in tens of
#: ms, so retry at once-ish, spread out (full jitter) so racing writers fall out of step.
COMMIT_RETRY_BASE_S = 0.04
COMMIT_RETRY_CAP_S = 2.0


@dataclass(slots=True)
class Backoff:
    """Capped exponential backoff with jitter (module docstring: formula, constants, source).

    Args:
        base_s: the first ceiling, seconds.
        cap_s: the largest ceiling, seconds (no delay is ever longer).
        jitter: the fraction of the ceiling that is random: 1 = full jitter (uniform in
            [0, ceiling]), 0 = no jitter (exactly the ceiling).
        rng: the random source (tests pass a seeded `random.Random`).
    """

    base_s: float = RECONNECT_BASE_S
    cap_s: float = RECONNECT_CAP_S
    jitter: float = 1.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def __post_init__(self) -> None:
        if not (0 < self.base_s <= self.cap_s):
            raise ValueError(f"Invalid backoff base_s {self.base_s!r} / cap_s {self.cap_s!r}: "
                             "expected 0 < base_s <= cap_s.")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"Invalid backoff jitter {self.jitter!r}: expected 0..1.")

    def ceiling(self) -> float:
        """The ceiling of the next delay: min(cap_s, base_s · 2^attempt), seconds."""
        # 2**attempt overflows a float past ~1024 attempts; the cap is reached long before
        return min(self.cap_s, self.base_s * 2.0 ** min(self.attempt, 64))

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt (and count the attempt)."""
        c = self.ceiling()
        self.attempt += 1
        return c * (1.0 - self.jitter * self.rng.random())

    def reset(self) -> None:
        """Back to the first, shortest ceiling (after a success or a healthy connection)."""
        self.attempt = 0


def is_healthy_connection(frames: int, up_s: float) -> bool:
    """Whether a connection that ended after `up_s` seconds and `frames` frames resets the
    reconnect backoff (module docstring: `HEALTHY_UP_S`, `HEALTHY_MIN_UP_S`)."""
    return up_s >= HEALTHY_UP_S or (frames > 0 and up_s >= HEALTHY_MIN_UP_S)
