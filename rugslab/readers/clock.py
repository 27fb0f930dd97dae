"""The recorder's time zone, inferred from server-stamped events in a capture.

Capture wrappers stamp each frame with the recorder's local clock and no zone
(captures/README.md: "treat as UTC unless you know better"). Some payloads carry the server's
own UTC time in ms: a chat message's `timestamp` is set when the message is posted and
broadcast at once. The difference local − server over such messages is the recorder's UTC
offset plus a second or so of delivery; rounded to the nearest 15 minutes (every civil time
zone is a multiple of 15 minutes) it is the zone offset, which the readers then subtract, so
`recv_ts` is true UTC. Intervals between frames are unchanged.

Example: in `2025-12-12_two-rugs.jsonl` a chat message stamped 1765577835613 ms
(22:17:15.6 UTC) was received at `17:17:14.785930` local: the recorder ran at UTC−05:00.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

QUARTER_HOUR_US = 15 * 60 * 1_000_000
#: how far one sample may sit from the rounded offset (delivery delay, clock error)
TOLERANCE_US = 5 * 60 * 1_000_000
#: fewest agreeing samples that make an inference (one message could be a stale replay)
MIN_SAMPLES = 3
#: civil time zones lie within UTC−12:00 .. UTC+14:00
MAX_OFFSET_US = 14 * 3600 * 1_000_000
#: samples looked at per file
MAX_SAMPLES = 64
#: events whose payload `timestamp` (ms, UTC) is the server's clock at broadcast
SERVER_STAMPED_EVENTS = frozenset({"newChatMessage"})


def zone_offset_us(samples: Sequence[tuple[int, int]]) -> int | None:
    """The recorder's UTC offset (local − UTC, µs, a multiple of 15 min), or None if unknown.

    Args:
        samples: (receive time read as if UTC, server time), both µs since the epoch.

    Returns:
        None when there are fewer than `MIN_SAMPLES` samples, when they disagree (more than a
        fifth of them farther than 5 minutes from the rounded median), or when the offset is
        beyond any civil time zone (±14 h).
    """
    if len(samples) < MIN_SAMPLES:
        return None
    diffs = [local - server for local, server in samples]
    rounded = round(median(diffs) / QUARTER_HOUR_US) * QUARTER_HOUR_US
    close = sum(abs(d - rounded) <= TOLERANCE_US for d in diffs)
    if close * 5 < len(diffs) * 4 or abs(rounded) > MAX_OFFSET_US:
        return None
    return rounded


def describe_offset(offset_us: int) -> str:
    """`UTC-05:00` style text of a local − UTC offset."""
    minutes = round(offset_us / 60_000_000)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
