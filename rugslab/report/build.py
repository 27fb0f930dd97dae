"""A lake's report: its headline numbers from one snapshot, with the frames they came from.

    report = build_report(Path("lake"))                          # the latest versions
    report = build_report(Path("lake"), as_of="2026-12-03T13:40:02.123Z")  # as it was then
    report.numbers["hazard_pooled"], report.snapshot.describe()

Every table is read from one `lake.snapshot` (the files of one version per table), through the
same `rugslab.notebook.Lab` the notebooks use, so the numbers are consistent with each other
and reproduced by reading `--as-of` the printed read time later (within the log's 12 hours of
versions). The numbers are `rugslab.analysis.headline.headline_numbers` of the real games
(origins `notebook.REAL_ORIGINS`, as the notebooks), with no sample-size cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from rugslab import __version__
from rugslab.analysis.headline import HEADLINE_KEYS, Value, headline_numbers
from rugslab.config import parse_as_of
from rugslab.errors import ConfigError, LakeError
from rugslab.lake.snapshot import LakeSnapshot, iso_ms, lake_snapshot
from rugslab.notebook import ORIGINS, REAL_ORIGINS, Lab

#: Bootstrap replicates of every interval (the notebooks' full size; `--resamples`).
DEFAULT_RESAMPLES = 1000
#: Intervals' confidence level.
LEVEL = 0.95
#: The input each number needs: a number that is None while its input is empty has "no data";
#: one that is None with data there has too few observations ("n too small").
NEEDS = {
    **dict.fromkeys(("interval_ms_median", "interval_ms_mad", "interval_ms_p99", "stalls",
                     "lag1_autocorr", "timing_effect_or", "timing_verdict"), "ticks"),
    **dict.fromkeys(("real_bets_win_rate",), "real_bets"),
}


@dataclass(frozen=True, slots=True)
class ReportData:
    """The frames of one snapshot that a report describes.

    Attributes:
        games: `games` rows of the chosen origins, with `origin` (`Lab.games`).
        ticks: `ticks` rows of those games, sorted by game and tick.
        side_bets: every `side_bets` row (`headline_numbers` keeps those of `games`).
        seeds: every `seeds` row.
    """

    games: pl.DataFrame
    ticks: pl.DataFrame
    side_bets: pl.DataFrame
    seeds: pl.DataFrame


@dataclass(frozen=True, slots=True)
class LakeReport:
    """A lake's headline numbers and where they came from.

    Attributes:
        snapshot: the table versions read, the read time and the `as_of` asked for.
        numbers: `headline_numbers` (every key of `HEADLINE_KEYS`; None where the data
            cannot say).
        data: the frames the numbers came from (the HTML report's charts use them).
        origins: the game origins described.
        n_resamples, seed: the bootstraps' replicates and seed; level: of every interval.
    """

    snapshot: LakeSnapshot
    numbers: dict[str, Value]
    data: ReportData
    origins: tuple[str, ...]
    n_resamples: int
    seed: int
    level: float = LEVEL

    def lake_info(self) -> dict[str, object]:
        """`path`, `read_at` (ISO 8601 UTC, ms: what `--as-of` takes to read the same state),
        `read_time_ms` (the same instant in ms since the epoch), `as_of` (asked for, or
        None), `versions` (table → version; tables not created yet are absent)."""
        snap = self.snapshot
        return {
            "path": str(snap.lake),
            "read_at": iso_ms(snap.read_at),
            "read_time_ms": epoch_ms(snap.read_at),
            "as_of": None if snap.as_of is None else iso_ms(snap.as_of),
            "versions": snap.versions(),
        }

    def settings(self) -> dict[str, object]:
        """What the numbers depend on besides the lake: origins, resamples, seed, level and
        the rugslab version."""
        return {"origins": list(self.origins), "n_resamples": self.n_resamples,
                "seed": self.seed, "level": self.level, "rugslab_version": __version__}

    def missing_reason(self, key: str) -> str:
        """Why `numbers[key]` is None: "no data" (its input is empty) or "n too small"."""
        needs = NEEDS.get(key, "games")
        return "no data" if not self.numbers.get(needs) else "n too small"


def epoch_ms(when: datetime) -> int:
    """Whole milliseconds since 1970-01-01 UTC (exact: no float rounding)."""
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def read_report_data(lab: Lab, origins: Sequence[str] = REAL_ORIGINS) -> ReportData:
    """The games of `origins`, their ticks, the side bets and the seeds, all from the lab's
    snapshot (no sample-size cap unless the lab has one)."""
    games = lab.games(origins)
    return ReportData(games=games, ticks=lab.ticks(games["game_id"]),
                      side_bets=lab.table("side_bets"), seeds=lab.table("seeds"))


def build_report(
    lake: Path | str,
    *,
    as_of: datetime | str | None = None,
    origins: Sequence[str] = REAL_ORIGINS,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> LakeReport:
    """Read one snapshot of the lake and compute its headline numbers.

    Args:
        lake: lake root folder.
        as_of: read every table as it was at this instant (datetime, naive = UTC, or ISO 8601
            text); None: the latest versions.
        origins: which games to describe (`notebook.ORIGINS`); default the real ones.
        n_resamples: bootstrap replicates per interval (≥ 10); seed: their seed (same seed,
            same intervals).

    Returns:
        A `LakeReport`; its numbers are `headline_numbers(games, ticks, side_bets, seeds=...)`.

    Raises:
        LakeError: no lake at `lake` (the message says how to make one), or a table cannot be
            read (old layout, corrupt log, `as_of` older than the log keeps).
        ConfigError: `as_of` is not ISO 8601, an unknown origin, or `n_resamples` < 10.
    """
    lake = Path(lake)
    if not lake.is_dir():
        raise LakeError(
            f"no lake at {lake}: run `rugslab ingest PATH...` or `rugslab collect` first, or "
            "point --lake / RUGSLAB_LAKE at an existing lake", path=lake)
    if n_resamples < 10:
        raise ConfigError(f"Invalid n_resamples {n_resamples!r}: expected at least 10 "
                          "bootstrap replicates (the notebooks use 1000).")
    bad = [o for o in origins if o not in ORIGINS]
    if bad:
        raise ConfigError(f"Invalid origins {bad}: expected some of {list(ORIGINS)}.")
    when = parse_as_of(as_of, arg="as_of") if isinstance(as_of, str) else as_of
    # the lake as given (not resolved), so the report names it as `rugslab status` does
    snap = lake_snapshot(lake, as_of=when)
    data = read_report_data(Lab(lake=lake, snapshot=snap), origins)
    numbers = headline_numbers(data.games, data.ticks, data.side_bets, seeds=data.seeds,
                               n_resamples=n_resamples, seed=seed, level=LEVEL)
    assert tuple(numbers) == HEADLINE_KEYS
    return LakeReport(snapshot=snap, numbers=numbers, data=data, origins=tuple(origins),
                      n_resamples=n_resamples, seed=seed)
