"""Timestamps in capture files → µs since the Unix epoch (UTC).

Naive ISO timestamps are the recorder's clock with no zone; rugslab treats them as UTC
(captures/README.md: "treat as UTC unless you know better"). Numbers are read by magnitude
(browser interceptors write `Date.now()` ms, some tools seconds or ns).
"""

from __future__ import annotations

from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_to_us(text: str) -> int:
    """µs since the epoch of an ISO-8601 timestamp; naive means UTC.

    Accepts `2025-12-12T17:16:58.624285`, a trailing `Z`, or an offset `+01:00`.

    Raises:
        ValueError: `text` is not an ISO-8601 timestamp (the caller makes a BadRecord).
    """
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def number_to_us(value: int | float) -> int:
    """µs since the epoch of an epoch number whose unit is told by its magnitude.

    < 1e11 seconds (up to year 5138), < 1e14 ms, < 1e17 µs, else ns.

    Raises:
        ValueError: `value` is negative, NaN or infinite.
    """
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        raise ValueError(f"timestamp {value!r} is not a non-negative epoch number")
    if value < 1e11:
        return round(value * 1_000_000)
    if value < 1e14:
        return round(value * 1_000)
    if value < 1e17:
        return round(value)
    return int(value) // 1_000


def any_to_us(value: object) -> int:
    """`iso_to_us` for strings (digits-only strings are numbers), `number_to_us` for numbers.

    Raises:
        ValueError: neither form, or a bool.
    """
    if isinstance(value, str):
        s = value.strip()
        if s.replace(".", "", 1).isdigit():
            return number_to_us(float(s) if "." in s else int(s))
        return iso_to_us(s)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"timestamp {value!r} is neither an ISO string nor an epoch number")
    return number_to_us(value)
