"""A lake's report: its headline numbers from one snapshot, with the frames they came from.

    report = build_report(Path("lake"))                          # the latest versions
    report = build_report(Path("lake"), as_of="2026-12-03T13:40:02.123Z")  # as it was then
    report.numbers["hazard_pooled"], report.snapshot.describe()

Every table is read from one `lake.snapshot` (the files of one version per table), through the
same `rugslab.notebook.Lab` the notebooks use, so the numbers are consistent with each other
and reproduced by reading `--as-of` the printed read time later (within the log's 12 hours of
versions). The numbers are `rugslab.analysis.headline.headline_numbers` of the games of one
origin choice (`lake.origins.ORIGIN_CHOICES`: "real" by default, as the notebooks; "sim"; "all").
When that choice holds no game, the report says so and names `--origin` (`LakeReport.notes`).

Scale: the games table and the origins are read whole (one row per game); ticks are read only
for the games described, by a DuckDB semi-join. Above `max_games` games (default 20,000) the
report describes a seeded random sample of that many (the same games on every run, as the
notebooks' `RUGSLAB_SAMPLE_SIZE`), and says so: a year of games (~525,000, ~100M ticks) then
costs what 20,000 games cost. `max_games=None` describes every game.
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
from rugslab.lake.origins import ORIGIN_CHOICES, REAL_ORIGINS, game_origins, resolve_origins
from rugslab.lake.snapshot import LakeSnapshot, iso_ms, lake_snapshot
from rugslab.notebook import Lab

#: Bootstrap replicates of every interval (the notebooks' full size; `--resamples`).
DEFAULT_RESAMPLES = 1000
#: Intervals' confidence level.
LEVEL = 0.95
#: Games described at most (a seeded sample above it; `--max-games`).
DEFAULT_MAX_GAMES = 20_000
#: The tick columns the numbers read.
TICK_COLUMNS = ("game_id", "tick", "recv_ts", "price_x", "is_rug")
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
        origins: the game origins described; origin: the `--origin` choice they came from
            (None when the caller named origins).
        n_resamples, seed: the bootstraps' replicates and seed; level: of every interval.
        origin_games: games per origin in the snapshot (every origin, described or not).
        games_of_origins: games of `origins` before sampling; max_games: the sample cap.
    """

    snapshot: LakeSnapshot
    numbers: dict[str, Value]
    data: ReportData
    origins: tuple[str, ...]
    n_resamples: int
    seed: int
    level: float = LEVEL
    origin: str | None = None
    origin_games: dict[str, int] | None = None
    games_of_origins: int = 0
    max_games: int | None = DEFAULT_MAX_GAMES

    @property
    def notes(self) -> list[str]:
        """What a reader must know about which games the numbers describe: none of the chosen
        origin (and which flag shows the others), or a sample of them."""
        out = []
        held = {o: n for o, n in (self.origin_games or {}).items() if n}
        what = f"--origin {self.origin}" if self.origin else "the chosen origins"
        if self.games_of_origins == 0:
            others = ", ".join(f"{n:,} {o}" for o, n in held.items()) or "no games at all"
            hint = [c for c, os_ in ORIGIN_CHOICES.items()
                    if c != self.origin and any(held.get(o) for o in os_)]
            fix = (" Pass " + " or ".join(f"--origin {c}" for c in hint) + " to describe them."
                   if hint else "")
            out.append(f"0 games of {what} ({', '.join(self.origins)}) in this lake; it holds "
                       f"{others}.{fix}")
        n = int(self.numbers.get("games") or 0)
        if 0 < n < self.games_of_origins:
            out.append(f"a seeded random sample of {n:,} of the {self.games_of_origins:,} "
                       f"games of {what} (--max-games {self.max_games}; 0 for all, slower)")
        return out

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
        return {"origin": self.origin, "origins": list(self.origins),
                "games_of_origins": self.games_of_origins, "max_games": self.max_games,
                "n_resamples": self.n_resamples, "seed": self.seed, "level": self.level,
                "rugslab_version": __version__}

    def missing_reason(self, key: str) -> str:
        """Why `numbers[key]` is None: "no data" (its input is empty) or "n too small"."""
        needs = NEEDS.get(key, "games")
        return "no data" if not self.numbers.get(needs) else "n too small"


def epoch_ms(when: datetime) -> int:
    """Whole milliseconds since 1970-01-01 UTC (exact: no float rounding)."""
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def read_report_data(lab: Lab, origins: Sequence[str] | str = REAL_ORIGINS) -> ReportData:
    """The games of `origins`, their ticks (`TICK_COLUMNS`), side bets and seeds, all from the
    lab's snapshot (no sample-size cap unless the lab has one); rows of other games are not
    read."""
    games = lab.games(origins)
    ids = games["game_id"]
    of_games = "WHERE game_id IN (SELECT unnest(?::VARCHAR[]))"
    return ReportData(games=games, ticks=lab.ticks(ids, columns=TICK_COLUMNS),
                      side_bets=lab.sql(f"SELECT * FROM side_bets {of_games}", [ids.to_list()]),
                      seeds=lab.sql(f"SELECT * FROM seeds {of_games}", [ids.to_list()]))


def build_report(
    lake: Path | str,
    *,
    as_of: datetime | str | None = None,
    origins: Sequence[str] | str = "real",
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    max_games: int | None = DEFAULT_MAX_GAMES,
) -> LakeReport:
    """Read one snapshot of the lake and compute its headline numbers.

    Args:
        lake: lake root folder.
        as_of: read every table as it was at this instant (datetime, naive = UTC, or ISO 8601
            text); None: the latest versions.
        origins: which games to describe: an `ORIGIN_CHOICES` key ("real", default; "sim";
            "all") or origin names (`lake.origins.ORIGINS`).
        n_resamples: bootstrap replicates per interval (≥ 10); seed: their seed (same seed,
            same intervals).
        max_games: describe a seeded random sample of this many games when the origins hold
            more (module docstring); None: every game.

    Returns:
        A `LakeReport`; its numbers are `headline_numbers(games, ticks, side_bets, seeds=...)`.

    Raises:
        LakeError: no lake at `lake` (the message says how to make one), or a table cannot be
            read (old layout, corrupt log, `as_of` older than the log keeps).
        ConfigError: `as_of` is not ISO 8601, an unknown origin, `n_resamples` < 10, or
            `max_games` < 1.
    """
    lake = Path(lake)
    if not lake.is_dir():
        raise LakeError(
            f"no lake at {lake}: run `rugslab ingest PATH...` or `rugslab collect` first, or "
            "point --lake / RUGSLAB_LAKE at an existing lake", path=lake)
    if n_resamples < 10:
        raise ConfigError(f"Invalid n_resamples {n_resamples!r}: expected at least 10 "
                          "bootstrap replicates (the notebooks use 1000).")
    if max_games is not None and max_games < 1:
        raise ConfigError(f"Invalid max_games {max_games!r}: expected a number of games ≥ 1, "
                          "or None for every game.")
    choice = origins if isinstance(origins, str) else None
    chosen = resolve_origins(origins, arg="--origin" if choice else "origins")
    when = parse_as_of(as_of, arg="as_of") if isinstance(as_of, str) else as_of
    # the lake as given (not resolved), so the report names it as `rugslab status` does
    snap = lake_snapshot(lake, as_of=when)
    counts = _origin_counts(lake, snap)
    data = read_report_data(Lab(lake=lake, snapshot=snap, sample_size=max_games), chosen)
    numbers = headline_numbers(data.games, data.ticks, data.side_bets, seeds=data.seeds,
                               n_resamples=n_resamples, seed=seed, level=LEVEL)
    assert tuple(numbers) == HEADLINE_KEYS
    return LakeReport(snapshot=snap, numbers=numbers, data=data, origins=chosen,
                      n_resamples=n_resamples, seed=seed, origin=choice, origin_games=counts,
                      games_of_origins=sum(counts.get(o, 0) for o in chosen),
                      max_games=max_games)


def _origin_counts(lake: Path, snap: LakeSnapshot) -> dict[str, int]:
    """Games per origin in the snapshot (`lake.origins.game_origins`), every origin present."""
    if "games" not in snap.versions():
        return dict.fromkeys(ORIGIN_CHOICES["all"], 0)
    per = game_origins(lake, snapshot=snap).group_by("origin").len()
    got = dict(zip(per["origin"].to_list(), per["len"].to_list(), strict=True))
    return {o: int(got.get(o, 0)) for o in ORIGIN_CHOICES["all"]}
