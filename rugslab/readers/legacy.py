"""Legacy: import the Oct–Nov 2025 per-tick recordings (Dutchthenomad/REPLAYER) into lake rows.

    import_recording(path) -> RowBatch             one file: ticks, games, rejects, counters
    import_recordings(paths) -> Iterator[RowBatch] many files, deduplicated across files

What the files hold (learned by reading all 125 files in ../shared/recordings):

- One JSON object a line: `game_start {timestamp, game_id}`, `tick {timestamp, game_id, tick,
  price, phase, active, rugged, cooldown_timer, trade_count}`, `game_end {..., total_ticks,
  tick_range, price_range, peak_price, final_price}` (the recorder's own summary, not the rug;
  its timestamp can be days late), `session_start` in another file style (counted, no rows).
- Tick records by (phase, active, rugged):
    UNKNOWN / PRESALE, false, false   cooldown and presale (`cooldown_timer` 15000 → 100, tick 0,
                                      price 1): pre-game, no tick row
    GAME_ACTIVATION, true, false      tick 0 at price 1 (an int `1` in the file)  → active tick
    ACTIVE_GAMEPLAY, true, false      ticks 1..N-1                                → active tick
    ACTIVE_GAMEPLAY, true, true       THE RUG: tick N with the crash price        → is_rug row
    RUG_EVENT_1, true, true           the post-rug frame: tick N+1..N+3, same crash price,
                                      `trade_count` 0 (PROTOCOL.md: the rug comes as two frames)
  When only the post-rug record survived (torn lines), the crash price is known but not the
  rug tick (anywhere in N+1-3..N-1): the game row gets `crash_price_x`, `end_ts` (the post-rug
  record's time) and `rug_tick` null; counted in `legacy.rug_tick_unknown`.
- Defects: torn writes (records cut short and the next one glued on, stray `{`/`{"`, lines
  holding a tail or a lone `}`) are split by `rugslab.readers.salvage`; whole records are
  kept (`legacy.salvaged_records`), the rest become `rejects` rows (`legacy.fragments_rejected`).
  Cut-short records are never repaired. Ticks missing (torn away, or before a late join) show
  in `games.ticks_missing`. One game is recorded in two overlapping files by two recorder
  processes, with receive times µs apart: the duplicate ticks are counted and the earliest
  received is kept. Game ids dated the day after the file name (21:03–21:25 on 2025-10-29)
  are counted in `legacy.date_mismatch`.
- Timestamps are naive and treated as UTC as instructed (captures/README.md), BUT the date
  mismatches above fit a recorder clock 3–5 h behind UTC (game ids carry the server's UTC
  date): `recv_ts` of imported rows is probably local time.

Counters (all prefixed `legacy.`): files, lines, torn_lines, records, salvaged_records,
fragments_rejected, invalid_records, type.<record type>, pre_game_records, post_rug_records,
active_ticks (active tick records read), rug_records, duplicate_ticks (same tick and price
again, incl. rug records), price_conflicts (same tick, other price; the earliest is kept),
date_mismatch ((file, game) pairs), games, games_in_multiple_files, joined_late (the game's
first record is an active tick), no_rug_record (games with no rugged record at all),
rug_tick_unknown, games_without_ticks (no active or rug tick), tick_rows, unclassified_ticks
(tick records with a phase/flag combination not listed above: counted, no row),
ticks_after_rug (active ticks above the rug tick: dropped; none in the real files).

Measured on the 125 real files: 40,366 lines, 322 torn, 40,440 whole records (396 salvaged),
1,168 fragments rejected, 23,238 tick rows of 119 games (109 rugs with known tick), 124 games.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rugslab.assembly.game_facts import GameFacts, TickCoverage, game_row
from rugslab.assembly.ticks import LIVE, TickValues, tick_appender, tick_row
from rugslab.feed.payloads import short_number
from rugslab.feed.rules import GAME_ID_PATTERN, PRICE_MAX_X, TICK_MAX
from rugslab.readers.files import iter_lines, line_text, source_name
from rugslab.readers.salvage import RECORD_START, split_records
from rugslab.readers.timestamps import iso_to_us
from rugslab.tables.batch import RowBatch
from rugslab.tables.rejects import reject_row

TICK_SOURCE = "import"
ACTIVE_PHASES = frozenset({"GAME_ACTIVATION", "ACTIVE_GAMEPLAY"})
PRE_GAME_PHASES = frozenset({"UNKNOWN", "PRESALE"})
POST_RUG_PHASE = "RUG_EVENT_1"
RECORD_TYPES = frozenset({"game_start", "tick", "game_end", "session_start"})
_GAME_ID = re.compile(GAME_ID_PATTERN)
_FILE_DATE = re.compile(r"(?:^|_)(\d{8})_")
_TS_IN_TEXT = re.compile(r'"timestamp":\s*"([^"]{19,32})"')
_TYPE_IN_TEXT = re.compile(r'"type":\s*"(\w+)"')


def fragment_key(source_name: str, line_no: int, offset: int, raw: str) -> tuple[str, ...]:
    """The `reject_id` parts of a rejected piece of a recording (`tables.rejects.reject_id`):
    file basename, line, offset in the line (0-based), raw text. The row's reason names the
    first three (`legacy recording <name> line <n> col <offset + 1>: ...`)."""
    return (source_name, str(line_no), str(offset), raw)


@dataclass(slots=True)
class _Game:
    """What the importer knows of one game so far (over all files)."""

    first_seen_us: int
    files: set[str] = field(default_factory=set)
    # tick -> (recv_us, price, is_rug); the earliest received record wins
    ticks: dict[int, tuple[int, float, bool]] = field(default_factory=dict)
    rug_tick: int | None = None
    post_rug: tuple[int, float] | None = None  # (recv_us, crash price) of the earliest
    rugged_seen: bool = False
    # receive time of the earliest tick record, and whether it was a pre-game one
    first_tick: tuple[int, bool] | None = None


def _bad_field(rec: dict[str, Any]) -> str | None:
    """Why a decoded record cannot be used, or None."""
    if rec.get("type") not in RECORD_TYPES:
        return f"unknown record type {rec.get('type')!r}"
    if not isinstance(rec.get("timestamp"), str):
        return "missing or non-string 'timestamp'"
    if rec["type"] == "session_start":
        return None
    gid = rec.get("game_id")
    if not isinstance(gid, str) or not _GAME_ID.match(gid):
        return f"'game_id' {gid!r} is not YYYYMMDD-<16 hex>"
    if rec["type"] != "tick":
        return None
    tick, price = rec.get("tick"), rec.get("price")
    if not isinstance(tick, int) or isinstance(tick, bool) or not 0 <= tick <= TICK_MAX:
        return f"'tick' {tick!r} is not a whole number in 0..{TICK_MAX}"
    if not isinstance(price, int | float) or isinstance(price, bool):
        return f"'price' {price!r} is not a number"
    if not math.isfinite(price) or price < 0:
        return f"'price' {price!r} is not a finite number >= 0"
    if price > PRICE_MAX_X:  # it would become the game's peak_x
        bound = short_number(PRICE_MAX_X)
        return f"'price' {price!r}: price_x <= {bound} failed, beyond what the game allows"
    for key in ("active", "rugged"):
        if not isinstance(rec.get(key), bool):
            return f"missing or non-boolean {key!r}"
    if not isinstance(rec.get("phase"), str):
        return "missing or non-string 'phase'"
    return None


class LegacyImporter:
    """Stateful importer: feed files with `add_file`, then take game rows with `finish`.

    Ticks are held until `finish` so that a tick recorded in several files keeps its earliest
    receipt; per-file batches carry the file's rejects and counters.
    """

    def __init__(self) -> None:
        self.games: dict[str, _Game] = {}

    def add_file(self, path: Path | str) -> RowBatch:
        """Read one recording; returns its `rejects` rows and `legacy.*` counters.

        Raises:
            InputFormatError: the file cannot be opened or its gzip stream is corrupt.
        """
        batch = RowBatch()
        src, name = source_name(path), Path(path).name
        m = _FILE_DATE.search(name)
        file_date = m.group(1) if m else None
        mismatched: set[str] = set()
        batch.count("legacy.files")
        # naive local stamps and no server-stamped field to infer the zone from (see
        # rugslab.readers.clock): taken as UTC, and counted so the summary says so
        batch.count("clock.zone_unknown_taken_as_utc")
        for n, line in iter_lines(path):
            batch.count("legacy.lines")
            pieces = split_records(line.decode("utf-8", "replace"))
            torn = len(pieces) != 1 or not pieces[0].is_record
            if torn:
                batch.count("legacy.torn_lines")
            for piece in pieces:
                if piece.obj is None:
                    batch.count("legacy.fragments_rejected")
                    self._reject(batch, src, name, n, piece.offset, piece.text, "fragment")
                    continue
                batch.count("legacy.records")
                if torn:
                    batch.count("legacy.salvaged_records")
                why = _bad_field(piece.obj)
                if why is None:
                    try:
                        us = iso_to_us(piece.obj["timestamp"])
                    except ValueError:
                        why = f"'timestamp' {piece.obj['timestamp']!r} is not ISO-8601"
                if why is not None:
                    batch.count("legacy.invalid_records")
                    self._reject(batch, src, name, n, piece.offset, piece.text, why)
                    continue
                rec = piece.obj
                batch.count(f"legacy.type.{rec['type']}")
                if rec["type"] == "session_start":
                    continue
                gid = rec["game_id"]
                if file_date and gid[:8] != file_date and gid not in mismatched:
                    mismatched.add(gid)
                    batch.count("legacy.date_mismatch")
                self._take(batch, rec, us, name)
        return batch

    def _take(self, batch: RowBatch, rec: dict[str, Any], us: int, name: str) -> None:
        gid = rec["game_id"]
        g = self.games.get(gid)
        if g is None:
            g = self.games[gid] = _Game(first_seen_us=us)
        g.first_seen_us = min(g.first_seen_us, us)
        g.files.add(name)
        if rec["type"] != "tick":
            return
        active = rec["active"] and not rec["rugged"] and rec["phase"] in ACTIVE_PHASES
        pre_game = not rec["active"] and not rec["rugged"] and rec["phase"] in PRE_GAME_PHASES
        if g.first_tick is None or us < g.first_tick[0]:
            g.first_tick = (us, pre_game)
        if rec["phase"] == POST_RUG_PHASE:
            batch.count("legacy.post_rug_records")
            g.rugged_seen = True
            if g.post_rug is None or us < g.post_rug[0]:
                g.post_rug = (us, float(rec["price"]))
            return
        if rec["rugged"]:
            batch.count("legacy.rug_records")
            g.rugged_seen = True
            self._tick(batch, g, rec["tick"], us, float(rec["price"]), True)
            return
        if active:
            batch.count("legacy.active_ticks")
            self._tick(batch, g, rec["tick"], us, float(rec["price"]), False)
        elif pre_game:
            batch.count("legacy.pre_game_records")
        else:
            batch.count("legacy.unclassified_ticks")

    @staticmethod
    def _tick(batch: RowBatch, g: _Game, tick: int, us: int, price: float, rug: bool) -> None:
        old = g.ticks.get(tick)
        if old is None:
            g.ticks[tick] = (us, price, rug)
            return
        if old[1] == price and old[2] == rug:
            batch.count("legacy.duplicate_ticks")
        else:
            batch.count("legacy.price_conflicts")
        if us < old[0]:
            # the earliest receipt wins, its price included (the conflict is counted above)
            g.ticks[tick] = (us, price, rug)

    @staticmethod
    def _reject(
        batch: RowBatch, src: str, name: str, n: int, offset: int, text: str, why: str
    ) -> None:
        raw = line_text(text)
        tm = _TYPE_IN_TEXT.search(raw)
        table = "games" if tm and tm.group(1) in ("game_start", "game_end") else "ticks"
        ts = _TS_IN_TEXT.search(raw)
        try:
            us = iso_to_us(ts.group(1)) if ts else None
        except ValueError:
            us = None
        if why == "fragment":
            if not raw.strip('{}"'):
                why = "stray characters between records (torn write)"
            elif RECORD_START.match(raw):
                why = "record cut short by a torn write (not repaired)"
            else:
                why = "tail of a record whose start was lost (torn write)"
        reason = f"legacy recording {name} line {n} col {offset + 1}: {why}"
        batch.add(
            "rejects",
            reject_row(fragment_key(name, n, offset, raw), table, reason, raw, source=src,
                       recv_ts=us),
        )

    def finish(self) -> RowBatch:
        """`ticks` and `games` rows of every game seen, with the game-level counters."""
        batch = RowBatch()
        put: Callable[[TickValues], None] | None = None  # started with the first tick row
        for gid, g in self.games.items():
            batch.count("legacy.games")
            if len(g.files) > 1:
                batch.count("legacy.games_in_multiple_files")
            rugs = sorted(t for t, v in g.ticks.items() if v[2])
            rug_tick = rugs[0] if rugs else None  # the lowest: a game rugs once
            if len(rugs) > 1:
                batch.count("legacy.rug_conflicts")
            if rug_tick is not None:
                # keep no active tick at/after the rug (a tick cannot follow its game's rug)
                late = [t for t in g.ticks if t > rug_tick]
                for t in late:
                    batch.count("legacy.ticks_after_rug")
                    del g.ticks[t]
            if g.ticks:
                put = put or tick_appender(batch)
                for t in sorted(g.ticks):
                    us, price, rug = g.ticks[t]
                    put(tick_row(gid, t, price, us, TICK_SOURCE, rug))
            batch.count("legacy.tick_rows", len(g.ticks))
            batch.add("games", self._game_row(batch, gid, g, rug_tick))
        return batch

    @staticmethod
    def _game_row(batch: RowBatch, gid: str, g: _Game, rug_tick: int | None) -> dict[str, Any]:
        """The game's `games` row (`game_facts.game_row` of what its records show, with its tick
        coverage: the importer holds every tick), its defects counted."""
        live = {t: v for t, v in g.ticks.items() if not v[2]}
        # (rank, receive time, price) of the rug record, or of the post-rug one when the rug
        # record was lost; a recording is a receipt of the live feed
        crash: tuple[int, int, float] | None = None
        if rug_tick is not None:
            end_us, price, _ = g.ticks[rug_tick]
            crash = (LIVE, end_us, price)
        elif g.post_rug is not None:
            batch.count("legacy.rug_tick_unknown")
            crash = (LIVE, *g.post_rug)
        if not g.rugged_seen:
            batch.count("legacy.no_rug_record")
        if g.first_tick is not None and not g.first_tick[1]:
            batch.count("legacy.joined_late")
        if not g.ticks:
            batch.count("legacy.games_without_ticks")
        facts = GameFacts(
            first_seen=g.first_seen_us,
            start=live[0][0] if 0 in live else None,
            end=crash[1] if crash is not None else None,
            rug=rug_tick,
            peak=max((v[1] for v in live.values()), default=None),
            rugged=g.post_rug is not None or g.rugged_seen,
            first_live=min(live, default=None),
            last_live=max(live, default=None),
            crash=crash,
        )
        return game_row(gid, facts, batch.counters, _coverage(g, rug_tick, live))


def _coverage(g: _Game, rug_tick: int | None, live: dict[int, Any]) -> TickCoverage:
    """The game's tick coverage from its ticks (the rules of `tables.derived.tick_coverage`)."""
    span_end = rug_tick if rug_tick is not None else max(live, default=None)
    missing = None if span_end is None else span_end + 1 - len(g.ticks)
    if not g.ticks:
        completeness = "no_ticks"
    elif rug_tick is not None and missing == 0:
        completeness = "complete"
    else:
        completeness = "partial"
    return TickCoverage(len(g.ticks), missing, completeness)


def import_recordings(paths: Iterable[Path | str]) -> Iterator[RowBatch]:
    """Import many legacy recordings, deduplicating games and ticks across files.

    Args:
        paths: recording files (plain or gzip), in the order to read them.

    Yields:
        One batch per file (its `rejects` rows and `legacy.*` counters), then one final batch
        with the `ticks` and `games` rows of every game and the game-level counters. Ticks are
        `source="import"`, `recv_ts` the record's timestamp read as UTC; `is_rug` marks the
        rug tick (crash price). Games rows have `seen_live=False`, `revealed=False`.

    Raises:
        InputFormatError: a file cannot be opened or its gzip stream is corrupt.
    """
    imp = LegacyImporter()
    for p in paths:
        yield imp.add_file(p)
    yield imp.finish()


def import_recording(path: Path | str) -> RowBatch:
    """Import one legacy recording into `ticks`, `games` and `rejects` rows with counters.

    See `import_recordings` (this is it for one file, merged into one batch).

    Raises:
        InputFormatError: the file cannot be opened or its gzip stream is corrupt.
    """
    out = RowBatch()
    for b in import_recordings([path]):
        out.merge(b)
    return out
