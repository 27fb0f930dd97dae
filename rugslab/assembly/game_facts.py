"""GameFacts: what one batch of frames taught about a game, and its `games` / `seeds` rows
(`game_row` also makes the legacy importer's game rows, from what the recordings show).

The assembler folds every fact with min / max / set-union, so the rows do not depend on frame
order; the lake writer then merges the partial rows of successive batches with the rules in
`schemas.TABLES["games"]` (min/max/any/first).

Source: PROTOCOL.md, "Game cycle", "Provably fair" (serverSeedHash = SHA-256 hex of the seed's
UTF-8 bytes: `feed.rules.seed_hash`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from rugslab.feed.rules import hash_matches


@dataclass(slots=True)
class GameFacts:
    """Facts about one game from one batch. Timestamps are µs since the epoch, UTC.

    Attributes:
        first_seen: earliest receive time of a frame about the game (its own frames or a
            gameHistory entry naming it).
        start: receive time of the earliest active frame at tick 0.
        end: receive time of the earliest rug frame.
        rug: rug tick (min over rug frames and revealed price paths).
        peak: highest path price (never the crash price) or gameHistory `peakMultiplier`.
        versions, hashes, seeds: every value seen (normally one each).
        seen_live: an active or rug frame of the game was received.
        revealed: a gameHistory entry carried its `serverSeed`.
        first_live, last_live: lowest / highest tick received live (≤ rug tick).
        crash: best (rank, recv key, price) candidate at the rug tick.
    """

    first_seen: int | None = None
    start: int | None = None
    end: int | None = None
    rug: int | None = None
    peak: float | None = None
    versions: set[str] = field(default_factory=set)
    hashes: set[str] = field(default_factory=set)
    seeds: set[str] = field(default_factory=set)
    seen_live: bool = False
    revealed: bool = False
    rugged: bool = False
    first_live: int | None = None
    last_live: int | None = None
    crash: tuple[int, int, float] | None = None


@dataclass(slots=True)
class GameMemory:
    """What the assembler keeps about a game across batches (small: a few hundred ticks).

    Attributes:
        emitted: ticks already written, with the price written (each (game, tick) is written
            once per assembler; a later candidate at another price is counted as a conflict).
        rug_tick: lowest rug tick known so far.
        entries: digests of the gameHistory entries already parsed (an entry repeats in the
            ~10 following games' full frames).
    """

    emitted: dict[int, float] = field(default_factory=dict)
    rug_tick: int | None = None
    entries: set[bytes] = field(default_factory=set)


def _pick(values: set[str], name: str, counters: Counter[str]) -> str | None:
    """The smallest of `values` (None if empty); counts `<name>_conflict` when several."""
    if not values:
        return None
    if len(values) > 1:
        counters[f"{name}_conflict"] += 1
    return min(values)


class TickCoverage(NamedTuple):
    """A game's tick coverage columns of `games` (`tables.derived.tick_coverage` has the rules)."""

    ticks_recorded: int
    ticks_missing: int | None
    completeness: str


def game_row(
    game_id: str, f: GameFacts, counters: Counter[str], coverage: TickCoverage | None = None
) -> dict[str, Any]:
    """A partial `games` row from `f`: the one definition of a game row, for the assembler and
    the legacy importer (`readers.legacy`).

    Args:
        game_id: the game; f: its facts; counters: receive `games.version_conflict` /
            `games.hash_conflict` when `f` holds several values.
        coverage: the coverage columns, when the caller holds every tick of the game (the
            legacy importer); without it they stay null (the lake writer fills them from the
            stored ticks, `tables.derived.tick_coverage`).
    """
    row: dict[str, Any] = {
        "game_id": game_id,
        "version": _pick(f.versions, "games.version", counters),
        "server_seed_hash": _pick(f.hashes, "games.hash", counters),
        "first_seen_ts": f.first_seen,
        "start_ts": f.start,
        "end_ts": f.end,
        "first_live_tick": f.first_live,
        "last_live_tick": f.last_live,
        "rug_tick": f.rug,
        "rugged": f.rugged or f.rug is not None,
        "peak_x": f.peak,
        "crash_price_x": f.crash[2] if f.crash is not None else None,
    }
    if coverage is not None:
        row.update(coverage._asdict())
    row["seen_live"] = f.seen_live
    row["revealed"] = f.revealed
    return row


def seed_row(game_id: str, f: GameFacts, counters: Counter[str]) -> dict[str, Any] | None:
    """A `seeds` row when `f` holds a seed hash or a revealed seed, else None.

    `hash_ok` = `feed.rules.hash_matches(seed, server_seed_hash)` (sha256 of the seed's UTF-8
    bytes); null until both are known.
    """
    if not f.hashes and not f.seeds:
        return None
    h = min(f.hashes) if f.hashes else None
    seed = _pick(f.seeds, "seeds.seed", counters)
    ok = hash_matches(seed, h)
    return {
        "game_id": game_id,
        "server_seed_hash": h,
        "server_seed": seed,
        "version": min(f.versions) if f.versions else None,
        "hash_ok": ok,
    }
