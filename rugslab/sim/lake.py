"""`rugslab sim lake`: a lake of simulated games at scale (up to a year, ~525,600 games).

    summary = build_sim_lake(Path("lake-sim"), games=525_600, start=date(2026, 1, 1), seed=7)

Writes `games` simulated games, `games_per_day` a day (default 1440: one a minute) from `start`,
into the lake's `ticks`, `games`, `seeds`, `trades` and `side_bets` tables through the lake
writer (`rugslab.lake.writer.write_batch`: the same pandera validation, rejects and Delta
commits as every other write), a day per write (several sparse days per write, up to
`WRITE_GAMES` games), so memory holds at most a day or `WRITE_GAMES` games of rows whatever
`games` is. The rows are made column by column (`rugslab.sim.lake_rows`), not from feed frames.

Game ids keep the real format and carry the simulated-game marker
(`feed.rules.SIM_GAME_ID_MARKER`: `YYYYMMDD-5111a7ed<run tag><slot>`), so
`rugslab.lake.origins.game_origins` labels them origin "sim" and `rugslab report` leaves them out
unless asked (`--origin sim|all`). No `raw_events` or `connections` rows are written: there
were no frames. Deterministic: the same arguments give the same rows.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from rugslab.errors import ConfigError
from rugslab.lake.writer import write_batch
from rugslab.sim.lake_rows import DayPlan, simulate_day
from rugslab.sim.players import Crowd
from rugslab.tables.batch import RowBatch
from rugslab.tables.columns import FrameRows

#: One game a minute.
DEFAULT_GAMES_PER_DAY = 1440
#: A year of games at one a minute.
YEAR_GAMES = 525_600
DEFAULT_PLAYERS = 20
#: Games per write: a whole day at one a minute; sparser days are written several at a time,
#: so memory holds at most a day or this many games, and a year takes few commits.
WRITE_GAMES = DEFAULT_GAMES_PER_DAY
TABLES_WRITTEN = ("ticks", "games", "seeds", "trades", "side_bets")


@dataclass(slots=True)
class SimLakeSummary:
    """What `build_sim_lake` wrote.

    Attributes:
        lake: the lake folder; games: games simulated; days: day partitions written;
        first_day, last_day: the dates of the first and last games;
        rows: per table, rows offered to the writer; new: per table, rows new to the lake
        (0 on a second run with the same arguments); rejected: rows the writer sent to
        `rejects`; seconds: wall time.
    """

    lake: Path
    games: int = 0
    days: int = 0
    first_day: date | None = None
    last_day: date | None = None
    rows: dict[str, int] = field(default_factory=dict)
    new: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    seconds: float = 0.0

    @property
    def games_per_s(self) -> float:
        """Build rate (games per second of wall time)."""
        return self.games / self.seconds if self.seconds > 0 else float("nan")

    def __str__(self) -> str:
        days = f"{self.days:,} day" + ("" if self.days == 1 else "s")
        lines = [
            f"rugslab sim lake: {self.games:,} simulated games over {days} "
            f"({self.first_day} .. {self.last_day}) into {self.lake}",
            f"  {self.seconds:.1f} s, {self.games_per_s:,.0f} games/s",
        ]
        for t in TABLES_WRITTEN:
            lines.append(f"  {t:<10} {self.rows.get(t, 0):>12,} rows, "
                         f"{self.new.get(t, 0):>12,} new")
        lines.append(f"  rejected: {self.rejected:,} rows (see `rugslab sql \"SELECT * FROM "
                     "rejects_by_reason\"`)" if self.rejected else "  rejected: 0 rows")
        return "\n".join(lines)


def day_plans(games: int, start: date, games_per_day: int) -> list[DayPlan]:
    """The days of a build and their game slots: `games_per_day` a day from `start` (the last
    day may hold fewer), slot k of a day at k · 86400 / games_per_day seconds."""
    spacing = 86_400 / games_per_day
    plans = []
    for i, lo in enumerate(range(0, games, games_per_day)):
        n = min(games_per_day, games - lo)
        plans.append(DayPlan(start + timedelta(days=i), np.arange(n, dtype=np.int64), spacing))
    return plans


def _write(lake: Path, days: list[dict[str, pl.DataFrame]], summary: SimLakeSummary) -> None:
    """One write (a Delta commit per table) of the rows of `days`; counts into `summary`."""
    batch = RowBatch()
    for t in TABLES_WRITTEN:
        frame = pl.concat([d[t] for d in days], how="vertical")
        batch.rows[t] = FrameRows(frame)
        summary.rows[t] = summary.rows.get(t, 0) + frame.height
    report = write_batch(lake, batch)
    for t in TABLES_WRITTEN:
        summary.new[t] = summary.new.get(t, 0) + report.new(t)
    summary.rejected += report.rejected


def _check(games: int, games_per_day: int, players: int, seed: int) -> None:
    if seed < 0:
        raise ConfigError(f"Invalid --seed {seed}: expected a whole number ≥ 0.")
    if games < 1:
        raise ConfigError(f"Invalid --games {games}: expected at least 1 (a year at one a "
                          f"minute is {YEAR_GAMES:,}).")
    if not 1 <= games_per_day <= DEFAULT_GAMES_PER_DAY:
        raise ConfigError(f"Invalid --games-per-day {games_per_day}: expected 1 to "
                          f"{DEFAULT_GAMES_PER_DAY} (one game a minute at most).")
    if players < 1:
        raise ConfigError(f"Invalid --players {players}: expected at least 1.")


def build_sim_lake(
    lake: Path | str,
    *,
    games: int = YEAR_GAMES,
    start: date = date(2026, 1, 1),
    seed: int = 0,
    games_per_day: int = DEFAULT_GAMES_PER_DAY,
    players: int = DEFAULT_PLAYERS,
    progress: Callable[[int], None] | None = None,
) -> SimLakeSummary:
    """Simulate `games` games and write them into `lake`, a day (or `WRITE_GAMES`) per write.

    Args:
        lake: lake folder (created if missing); real games already there are untouched.
        games: number of games (default a year at one a minute).
        start: the first game's date (UTC); games follow at `games_per_day` a day.
        seed: fixes every seed, price, receive time, trade and side bet.
        games_per_day: 1 to 1440; fewer spreads `games` over more days (1440: one a minute).
        players: the simulated crowd that trades and bets (`sim.players.Crowd`).
        progress: called with the number of games written after each write.

    Returns:
        A `SimLakeSummary` (rows per table, rows new, rejects, rate).

    Raises:
        ConfigError: games < 1, games_per_day outside 1..1440, players < 1, seed < 0.
        LakeError: the lake cannot be written.
    """
    _check(games, games_per_day, players, seed)
    lake = Path(lake)
    lake.mkdir(parents=True, exist_ok=True)
    crowd = Crowd(random.Random(seed), players).players
    summary = SimLakeSummary(lake=lake)
    t0 = time.perf_counter()
    pending: list[dict[str, pl.DataFrame]] = []
    held = 0
    plans = day_plans(games, start, games_per_day)
    for i, plan in enumerate(plans):
        pending.append(simulate_day(plan, seed=seed, players=crowd))
        held += int(plan.slots.size)
        summary.days += 1
        summary.first_day = summary.first_day or plan.day
        summary.last_day = plan.day
        if held >= WRITE_GAMES or i == len(plans) - 1:
            _write(lake, pending, summary)
            summary.games += held
            if progress is not None:
                progress(held)
            pending, held = [], 0
    summary.seconds = time.perf_counter() - t0
    return summary
