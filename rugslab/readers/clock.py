"""The recorder's time zone: inferred from server-stamped events in a capture, stated by the
user, or kept from the frames of the same recording already read, so that one recording never
gets two zones.

Capture wrappers stamp each frame with the recorder's local clock and no zone
(captures/README.md: "treat as UTC unless you know better"). Some payloads carry the server's
own UTC time in ms: a chat message's `timestamp` is set when the message is posted and
broadcast at once. The difference local − server over such messages is the recorder's UTC
offset plus a second or so of delivery; rounded to the nearest 15 minutes (every civil time
zone is a multiple of 15 minutes) it is the zone offset, which the readers then subtract, so
`recv_ts` is true UTC. Intervals between frames are unchanged.

Example: in `2025-12-12_two-rugs.jsonl` a chat message stamped 1765577835613 ms
(22:17:15.6 UTC) was received at `17:17:14.785930` local: the recorder ran at UTC−05:00.

One recording, one zone. A short slice of a recording may hold too few chat messages to infer
the zone (its stamps are then taken as UTC), while the whole recording infers it: ingesting
both would put the same frames 5 hours apart. So a frame's id does not depend on the zone
(`feed.frames.Frame.frame_id` hashes its stamp as written, `Frame.local_ts_us`), and before a
capture is read its stamps are looked up (`RecordingZones.decide`) among the frames already
read in this run and the frames already in the lake: a frame of this file that is already
there, with the same event and a receive time a whole number of quarter hours from its stamp,
gives the zone the recording already has, and the whole file is read under it. The order of
precedence is: the zone the recording already has > a zone the user states (`--utc-offset`,
`parse_utc_offset`) > the zone its chat messages infer > UTC.

Lakes written before frame ids ignored the zone hold capture frames under ids over their
receive time; a recording found there under such ids is read with the same recipe (the
decision's `receipt_ids`), so it is not added again.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Protocol, TypeVar

from rugslab.errors import ConfigError
from rugslab.feed.frames import content_frame_id

QUARTER_HOUR_US = 15 * 60 * 1_000_000
#: how far one sample may sit from the rounded offset (delivery delay, clock error)
TOLERANCE_US = 5 * 60 * 1_000_000
#: fewest agreeing samples that make an inference (one message could be a stale replay)
MIN_SAMPLES = 3
#: civil time zones lie within UTC−12:00 .. UTC+14:00
MAX_OFFSET_US = 14 * 3600 * 1_000_000
MIN_OFFSET_US = -12 * 3600 * 1_000_000
#: samples looked at per file
MAX_SAMPLES = 64
#: events whose payload `timestamp` (ms, UTC) is the server's clock at broadcast
SERVER_STAMPED_EVENTS = frozenset({"newChatMessage"})
#: matched lake frames whose ids are checked to tell the id recipe they were written with
_ID_CHECKS = 8
_K = TypeVar("_K")
#: A zone is taken from frames read before (the lake's, or an earlier file's of the run) only
#: when at least this many of the file's frames match under it, and at least
#: `MATCH_SHARE` of them, and twice as many as under any other offset: a stamp can match an
#: unrelated recording's frame by chance (same event, same microsecond of the quarter hour),
#: and one such match must not move a whole file.
MIN_MATCHES = 3
MATCH_SHARE = 0.05


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


def why_unknown(samples: Sequence[tuple[int, int]]) -> str:
    """Why `zone_offset_us(samples)` is None, in words for the ingest summary."""
    if not samples:
        return "no chat messages to infer its zone from"
    if len(samples) < MIN_SAMPLES:
        return f"{len(samples)} chat message(s), {MIN_SAMPLES} needed to infer its zone"
    if abs(median(local - server for local, server in samples)) > MAX_OFFSET_US + TOLERANCE_US:
        return "its chat messages put its clock more than 14 h off UTC"
    return "its chat messages do not agree on a zone"


def describe_offset(offset_us: int) -> str:
    """`UTC-05:00` style text of a local − UTC offset."""
    minutes = round(offset_us / 60_000_000)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_OFFSET_TEXT = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def parse_utc_offset(text: str, *, arg: str = "--utc-offset") -> int:
    """The recorder's offset from UTC (local − UTC, µs) from text like `-05:00`, `+0530`,
    `UTC-5` or `Z`.

    Raises:
        ConfigError: not such an offset, not a whole quarter hour, or outside the civil
            zones (−12:00..+14:00); the message names `arg`, the value and the fix.
    """
    s = text.strip()
    if s.upper() in ("Z", "UTC", "GMT", "0", "+00:00", "-00:00"):
        return 0
    m = _OFFSET_TEXT.match(s)
    hint = (f"Invalid {arg} {text!r}: expected the recorder's offset from UTC as ±HH:MM "
            "(e.g. -05:00 for New York in winter, +05:30 for India, Z for UTC)")
    if m is None or int(m.group(3) or 0) >= 60:
        raise ConfigError(hint + ".")
    us = (int(m.group(2)) * 60 + int(m.group(3) or 0)) * 60_000_000
    return check_offset_us(-us if m.group(1) == "-" else us, arg=arg, text=text)


def check_offset_us(offset_us: int, *, arg: str = "utc_offset_us", text: str | None = None) -> int:
    """`offset_us` itself when it is a civil zone offset (a whole quarter hour within
    −12:00..+14:00).

    Raises:
        ConfigError: it is not; the message names `arg`, the value and the fix.
    """
    shown = text if text is not None else offset_us
    if type(offset_us) is not int or offset_us % QUARTER_HOUR_US:
        raise ConfigError(f"Invalid {arg} {shown!r}: a zone offset is a whole number of "
                          "quarter hours, e.g. -05:00 (or -18_000_000_000 µs).")
    if not MIN_OFFSET_US <= offset_us <= MAX_OFFSET_US:
        raise ConfigError(f"Invalid {arg} {shown!r}: civil time zones lie within -12:00 and "
                          "+14:00 of UTC; give the recorder's offset within them.")
    return offset_us


class LakeReceipts(Protocol):
    """What `RecordingZones` asks of a lake (`rugslab.lake.zones.LakeReceipts`)."""

    def receipts(self, lo_us: int, hi_us: int) -> list[tuple[int, str, str]]:
        """(recv_ts µs, event, frame_id) of the lake's frames without (session_id, seq)
        received in [lo_us, hi_us]."""
        ...

    def args_of(self, frame_ids: Sequence[str]) -> dict[str, str]:
        """frame_id → args_json of those of `frame_ids` the last `receipts` call found."""
        ...


@dataclass(frozen=True, slots=True)
class ZoneDecision:
    """The zone a recording already has, found by `RecordingZones.decide`.

    Attributes:
        offset_us: local − UTC, µs (0: its stamps were taken as UTC).
        where: "the lake" or "an earlier file of this run".
        receipt_ids: its frames carry ids over their receive time (a lake written before
            ids ignored the zone): the reader leaves `Frame.local_ts_us` unset.
    """

    offset_us: int
    where: str
    receipt_ids: bool = False


@dataclass(frozen=True, slots=True)
class _Read:
    """A capture read earlier in the run: its sorted stamps (µs as written) and decision."""

    stamps: array[int]
    offset_us: int
    receipt_ids: bool


def _winner(votes: Counter[_K], n_frames: int) -> _K | None:
    """The offset most of a file's matched frames agree on, when the matches are many enough
    to be the same recording rather than chance (`MIN_MATCHES`, `MATCH_SHARE`, and twice the
    runner-up); else None."""
    ranked = votes.most_common(2)
    if not ranked:
        return None
    best, n = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    if n < max(MIN_MATCHES, MATCH_SHARE * n_frames) or n < 2 * runner_up:
        return None
    return best


class RecordingZones:
    """The zone decisions of one ingest run, so every file of one recording gets one zone.

    Give one instance to every capture reader of a run (`read_frames(..., zones=)`); it
    remembers each file's stamps (8 bytes a frame) and decision, and asks the lake (when
    given) for the frames it already holds.

    Args:
        lake: the lake's receipts, or None to compare the run's files only.
    """

    def __init__(self, lake: LakeReceipts | None = None) -> None:
        self._lake = lake
        self._read: list[_Read] = []
        self._asked: tuple[int, int, list[tuple[int, str, str]]] | None = None

    def may_know(self, lo_us: int, hi_us: int) -> bool:
        """False when no frame read earlier in the run, nor in the lake, can be one of a file
        whose stamps lie in [lo_us, hi_us]: the reader then needs no `decide` pass."""
        if any(r.stamps and r.stamps[0] <= hi_us and r.stamps[-1] >= lo_us for r in self._read):
            return True
        return bool(self._receipts(lo_us, hi_us))

    def _receipts(self, lo: int, hi: int) -> list[tuple[int, str, str]]:
        """The lake's receipts that frames stamped in [lo, hi] can match (the last answer is
        kept: `decide` usually asks for a window inside the one `may_know` asked for)."""
        if self._lake is None:
            return []
        if self._asked is not None and self._asked[0] <= lo and hi <= self._asked[1]:
            return self._asked[2]
        rows = self._lake.receipts(lo - MAX_OFFSET_US, hi - MIN_OFFSET_US)
        self._asked = (lo, hi, rows)
        return rows

    def decide(self, frames: Sequence[tuple[int, str]]) -> ZoneDecision | None:
        """The zone the recording of `frames` already has, or None when none of them was read.

        Args:
            frames: (stamp µs as written, event) of a file's frames.

        Returns:
            The decision most of the file's known frames were read under: the lake's when
            the lake holds any of them, else the run's.
        """
        if not frames:
            return None
        lo, hi = min(f[0] for f in frames), max(f[0] for f in frames)
        if self._lake is not None:
            found = self._lake_decision(frames, lo, hi)
            if found is not None:
                return found
        votes: Counter[tuple[int, bool]] = Counter()
        for r in self._read:
            if r.stamps and r.stamps[0] <= hi and r.stamps[-1] >= lo:
                hits = sum(_contains(r.stamps, s) for s, _e in frames)
                if hits:
                    votes[(r.offset_us, r.receipt_ids)] += hits
        won = _winner(votes, len(frames))
        if won is None:
            return None
        offset, receipt_ids = won
        return ZoneDecision(offset, "an earlier file of this run", receipt_ids)

    def remember(self, stamps: Iterable[int], offset_us: int, receipt_ids: bool) -> None:
        """Note a file read under `offset_us` (its frames' stamps as written)."""
        self._read.append(_Read(array("q", sorted(stamps)), offset_us, receipt_ids))
        self._asked = None  # the lake may hold this file's frames by the next question

    def _lake_decision(
        self, frames: Sequence[tuple[int, str]], lo: int, hi: int
    ) -> ZoneDecision | None:
        rows = self._receipts(lo, hi)
        if not rows:
            return None
        # a frame of the recording sits in the lake at stamp − offset, the offset a whole
        # number of quarter hours: index the lake's receipts by their time within the hour
        by_phase: dict[tuple[int, str], list[tuple[int, str]]] = {}
        for recv, event, fid in rows:
            by_phase.setdefault((recv % QUARTER_HOUR_US, event), []).append((recv, fid))
        votes: Counter[int] = Counter()
        matched: dict[int, list[tuple[str, int, str]]] = {}
        for stamp, event in frames:
            for recv, fid in by_phase.get((stamp % QUARTER_HOUR_US, event), ()):
                offset = stamp - recv
                if MIN_OFFSET_US <= offset <= MAX_OFFSET_US:
                    votes[offset] += 1
                    matched.setdefault(offset, []).append((fid, stamp, event))
        offset = _winner(votes, len(frames))
        if offset is None:
            return None
        return ZoneDecision(offset, "the lake", self._receipt_ids(matched[offset], offset))

    def _receipt_ids(self, matched: list[tuple[str, int, str]], offset: int) -> bool:
        """True when the lake's ids of these frames hash their receive time (old lakes)."""
        if offset == 0:
            return False  # both recipes agree
        sample = matched[:_ID_CHECKS]
        assert self._lake is not None
        args = self._lake.args_of([fid for fid, _s, _e in sample])
        old = new = 0
        for fid, stamp, event in sample:
            text = args.get(fid)
            if text is None:
                continue
            new += content_frame_id(event, stamp, text.encode()) == fid
            old += content_frame_id(event, stamp - offset, text.encode()) == fid
        return old > new


def _contains(sorted_stamps: array[int], stamp: int) -> bool:
    i = bisect_left(sorted_stamps, stamp)
    return i < len(sorted_stamps) and sorted_stamps[i] == stamp
