"""Notebook support: the lake and sample size from the environment, game origins, lake builds.

The research notebooks (`notebooks/*.ipynb`) start with

    from rugslab.notebook import open_lake
    lab = open_lake()          # RUGSLAB_LAKE, RUGSLAB_SAMPLE_SIZE via rugslab.config.Settings
    print(lab)                 # the lake, each table's version and the time it was read

`open_lake` pins the lake: every read through the `Lab` sees the table versions of the moment
it was opened (the files of one `lake.snapshot`), so a notebook's numbers come from one state of
the lake even while a collector writes, and `RUGSLAB_AS_OF=<the printed time>` reproduces
them later (within the log's 12 hours of versions).

`open_lake` also switches altair to the offline renderer (`rugslab.plots.render`): every chart the
notebook shows is drawn to SVG when its cell runs and saved in the output, so it shows with no
network, behind a firewall and in an archived notebook (altair's default loads vega from a CDN).

and then call the analysis library with `lab.cap(n)` for every Monte Carlo size, bootstrap
resample count and game count, so one variable makes a CI run fast while a user's run (no
variable) uses everything.

Game origins (`rugslab.lake.origins`, re-exported here for the notebooks): the lake mixes real
games with simulated ones; `Lab.games("real" | "sim" | "all")` picks them as `rugslab report
--origin` does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from rugslab.analysis.hazard import binomial_interval
from rugslab.config import DEFAULT_LIVE_SECONDS, Settings, parse_as_of
from rugslab.demo import run_demo
from rugslab.errors import ConfigError, LakeError
from rugslab.fair import replay_game
from rugslab.ingest import ingest
from rugslab.lake.catalog import connect, read_table
from rugslab.lake.delta_read import empty_frame
from rugslab.lake.layout import row_order, table_dir
from rugslab.lake.origins import (
    ORIGIN_CHOICES,
    ORIGINS,
    REAL_ORIGINS,
    SIM_ORIGINS,
    game_origins,
    resolve_origins,
)
from rugslab.lake.ray_scan import read_table_ray
from rugslab.lake.snapshot import LakeSnapshot, lake_snapshot
from rugslab.plots.render import enable_offline_charts
from rugslab.strategy.sources import LAKE_GAME_COLUMNS, LAKE_TICK_COLUMNS, LakeSource, lake_games
from rugslab.tables.schemas import TABLES

__all__ = ["ORIGINS", "ORIGIN_CHOICES", "REAL_ORIGINS", "SIM_ORIGINS", "STREAM_BATCH_ROWS", "Lab",
           "build_lake", "exceedance", "game_origins", "open_lake", "origin_summary",
           "replay_vs_recorded", "resolve_origins", "sidebet_rule_check", "table_rows"]

#: Rows per batch of `Lab.stream` (a batch of ticks is ~50 MB in polars).
STREAM_BATCH_ROWS = 1_000_000
@dataclass(frozen=True, slots=True)
class Lab:
    """The lake a notebook reads and its sample-size cap (None = use everything).
    `snapshot`: the table versions every read sees (pinned when the lab was opened; None:
    the latest versions at each read)."""

    lake: Path
    sample_size: int | None = None
    snapshot: LakeSnapshot | None = None
    #: a running `rugslab serve live` (RUGSLAB_LIVE_URL), and how long notebook 06 watches
    live_url: str | None = None
    live_seconds: float = DEFAULT_LIVE_SECONDS

    def cap(self, full: int) -> int:
        """`full`, or the sample size when that is smaller (Monte Carlo games, resamples...)."""
        if full < 1:
            raise ConfigError(f"Invalid full size {full!r}: expected a whole number ≥ 1.")
        return full if self.sample_size is None else min(full, self.sample_size)

    def table(self, name: str) -> pl.DataFrame:
        """All rows of lake table or named query `name` (`rugslab.lake.catalog.read_table`)."""
        return read_table(name, self.lake, snapshot=self.snapshot)

    def sql(self, query: str, params: object = None) -> pl.DataFrame:
        """A read-only SQL query on the lake's catalog, as a polars frame."""
        with connect(self.lake, snapshot=self.snapshot) as con:
            return con.sql(query, params=params).pl()

    def games(self, origins: Sequence[str] | str = REAL_ORIGINS, *, seed: int = 0
              ) -> pl.DataFrame:
        """The `games` table with an `origin` column, restricted to `origins` (origin names,
        or one `ORIGIN_CHOICES` key: "real", "sim", "all").

        With a sample size smaller than the number of games, a seeded random sample of that
        many games (same games on every run) is returned.

        Raises:
            ConfigError: an unknown origin or choice.
        """
        origins = resolve_origins(origins)
        origins_ = game_origins(self.lake, snapshot=self.snapshot).drop("seen_by")
        g = self.table("games").join(origins_, on="game_id")
        g = g.filter(pl.col("origin").is_in(list(origins))).sort("game_id")
        if self.sample_size is not None and g.height > self.sample_size:
            g = g.sample(self.sample_size, seed=seed).sort("game_id")
        return g

    def lake_source(self, origins: Sequence[str] | str = REAL_ORIGINS, *,
                    block_games: int | None = None, scan: str = "duckdb") -> LakeSource:
        """The lake's games of `origins` as a backtest source (`rugslab.strategy.sources`:
        blocks of consecutive games in start order; censored games, rug tick unknown, are
        kept up to their last live tick and counted). Every such game is used: the
        sample-size cap does not apply, since a sample would break the runs of consecutive
        games. `describe()` also counts the
        games of other origins (`other_origins`).

        `scan`: "duckdb" reads `games` and `ticks` through the catalog; "ray" through Ray
        Data on the initialised Ray's nodes (`lake.ray_scan.read_table_ray`, the versions of
        the lab's snapshot): the same rows, so the same source (game origins are still
        read through the catalog).

        Raises:
            ConfigError: an unknown origin or scan; Ray not installed (scan "ray"); no game
                of these origins can settle a bet.
        """
        origins = resolve_origins(origins)
        if scan not in ("duckdb", "ray"):
            raise ConfigError(f"Invalid scan {scan!r}: expected 'duckdb' or 'ray'.")
        o = game_origins(self.lake, snapshot=self.snapshot)
        keep = o.filter(pl.col("origin").is_in(list(origins))).select("game_id")
        ticks: pl.DataFrame | Iterator[pl.DataFrame]
        if scan == "ray":
            games = self._ray_table("games", LAKE_GAME_COLUMNS)
            ticks = self._ray_table("ticks", LAKE_TICK_COLUMNS)
        else:
            games = self.table("games").select(LAKE_GAME_COLUMNS)
            ticks = self.stream("ticks", LAKE_TICK_COLUMNS)
        games = games.join(keep, on="game_id", how="semi")
        data = lake_games(games, ticks)  # ticks of other origins' games are ignored
        data = replace(data, counts={**data.counts, "other_origins": o.height - keep.height})
        return LakeSource(data, block_games)

    def stream(self, table: str, columns: Sequence[str], *,
               batch_rows: int = STREAM_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        """The rows of lake table `table` (these columns) in batches of up to `batch_rows`,
        in no particular order, streamed by DuckDB (`to_arrow_reader`): a year of ticks
        passes through a batch at a time. Nothing when the table is not in the lake (at the
        snapshot).

        Raises:
            ConfigError: `batch_rows` < 1; KeyError: `table` is not a lake table.
        """
        if batch_rows < 1:
            raise ConfigError(f"Invalid batch_rows {batch_rows!r}: expected a whole number "
                              "of rows ≥ 1.")
        table_dir(self.lake, table)  # KeyError for a name that is not a lake table
        cols = ", ".join(f'"{c}"' for c in columns)
        # every lake table has a view, an empty one until the table is written
        with (connect(self.lake, snapshot=self.snapshot) as con,
              con.sql(f'SELECT {cols} FROM "{table}"').to_arrow_reader(
                  batch_size=batch_rows) as reader):
            for batch in reader:
                yield pl.from_arrow(batch)  # type: ignore[misc]

    def _ray_table(self, name: str, columns: Sequence[str]) -> pl.DataFrame:
        state = self.snapshot.tables.get(name) if self.snapshot is not None else None
        if self.snapshot is not None and state is None:  # not in the lake at the snapshot
            return empty_frame(name, columns)
        return read_table_ray(self.lake, name, columns=columns,
                              version=None if state is None else state.version)

    def rows_of_games(self, table: str, game_ids: Iterable[str], *,
                      columns: Sequence[str] | None = None) -> pl.DataFrame:
        """The rows of lake table `table` (all columns, or `columns`) of the given games,
        sorted by the table's key (`layout.row_order`). DuckDB scans the table and keeps only
        these games' rows (a hash semi-join): a year of ticks or side bets is never read into
        Python, only the rows of the games asked for (e.g. `games()`'s sample).

        Raises:
            KeyError: `table` is not a lake table (one not written yet has no rows).
        """
        table_dir(self.lake, table)  # KeyError for a name that is not a lake table
        ids = list(game_ids)
        cols = "*" if columns is None else ", ".join(f'"{c}"' for c in columns)
        order = ", ".join(f'"{c}"' for c in row_order(table))
        return self.sql(f'SELECT {cols} FROM "{table}" WHERE game_id IN '
                        f"(SELECT unnest(?::VARCHAR[])) ORDER BY {order}", params=[ids])

    def ticks(self, game_ids: Iterable[str], *, columns: Sequence[str] | None = None
              ) -> pl.DataFrame:
        """The `ticks` rows of the given games (all columns, or `columns`), sorted by game
        and tick (`rows_of_games`)."""
        return self.rows_of_games("ticks", game_ids, columns=columns)

    def __str__(self) -> str:
        cap = "none (all data)" if self.sample_size is None else f"{self.sample_size:,}"
        text = f"lake {self.lake} (sample size cap: {cap})"
        if self.snapshot is not None:
            text += "\n" + self.snapshot.describe()
        return text


def open_lake(env: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> Lab:
    """The `Lab` for `RUGSLAB_LAKE` and `RUGSLAB_SAMPLE_SIZE` (from `env`, default os.environ;
    also `RUGSLAB_LIVE_URL` and `RUGSLAB_LIVE_SECONDS` for notebook 06),
    pinned to the lake's state now, or to `RUGSLAB_AS_OF` (ISO 8601, UTC) when set.

    A relative lake path is looked up in `cwd` (default: the working directory), then in its
    parent, so a notebook started from `notebooks/` finds the repository's `./lake`.

    Also makes altair draw charts offline (`rugslab.plots.render.enable_offline_charts`): the
    notebooks call this first, so their charts need no network and no notebook has to set up
    altair itself.

    Raises:
        ConfigError: RUGSLAB_SAMPLE_SIZE is not a positive whole number, or RUGSLAB_AS_OF is
            not an ISO 8601 time.
        LakeError: no lake folder at either place (the message says how to make one), or a
            table cannot be read (old layout: `rugslab lake migrate`; corrupt log).
    """
    env = os.environ if env is None else env
    settings = Settings.from_env(env)
    pinned = env.get("RUGSLAB_AS_OF")
    as_of = parse_as_of(pinned, arg="RUGSLAB_AS_OF") if pinned else None
    enable_offline_charts()
    here = Path.cwd() if cwd is None else Path(cwd)
    lake = settings.lake
    candidates = [lake] if lake.is_absolute() else [here / lake, here.parent / lake]
    for c in candidates:
        if c.is_dir():
            return Lab(lake=c.resolve(), sample_size=settings.sample_size,
                       snapshot=lake_snapshot(c.resolve(), as_of=as_of),
                       live_url=settings.live_url, live_seconds=settings.live_seconds)
    raise LakeError(
        f"no lake at {' or '.join(str(c) for c in candidates)}: set RUGSLAB_LAKE to a lake "
        "folder, or make one with `rugslab ingest ../shared/captures ../shared/recordings` "
        "(real data) or `rugslab demo` (simulated games).",
        path=candidates[0],
    )


def build_lake(lake: Path | str, *, inputs: Sequence[Path | str] = (), sim_games: int = 0,
               speed: float = 200.0, seed: int = 2026) -> dict[str, int]:
    """Make a lake for the notebooks: ingest `inputs`, then collect `sim_games` simulated games.

    The simulated games go through the real collector from a loopback server
    (`rugslab.demo.run_demo`), so they get origin "loopback" and their seeds are verified.

    Returns:
        `games` (rows of `games`), `sim_games`, `ingested_frames`.

    Raises:
        InputFormatError: an input path does not exist. LakeError: the lake cannot be written.
    """
    lake = Path(lake)
    lake.mkdir(parents=True, exist_ok=True)
    frames = 0
    if inputs:
        frames = ingest(list(inputs), lake=lake, progress=False).frames
    if sim_games:
        run_demo(lake, games=sim_games, speed=speed, seed=seed, out=None)
    n = int(np.asarray(read_table("games", lake).height))
    return {"games": n, "sim_games": sim_games, "ingested_frames": frames}


def table_rows(lab: Lab) -> pl.DataFrame:
    """Rows per lake table: `table`, `rows`, `games` (distinct game ids; null without the
    column), `first_date`, `last_date` (partition dates)."""
    out = []
    for name in TABLES:
        has_game = "game_id" in TABLES[name].polars_schema
        games = "count(DISTINCT game_id)" if has_game else "NULL::BIGINT"
        row = lab.sql(f"SELECT count(*) AS rows, {games} AS games, min(date) AS first_date, "
                      f"max(date) AS last_date FROM {name}").row(0, named=True)
        out.append({"table": name, **row})
    return pl.DataFrame(out)


def origin_summary(games: pl.DataFrame) -> pl.DataFrame:
    """Per origin: `games`, `rugged`, `complete`, `seen_live`, `revealed`, `joined_late`
    (first live tick > 0: left-truncated), `first_date`, `last_date`."""
    return games.group_by("origin").agg(
        pl.len().alias("games"),
        pl.col("rug_tick").is_not_null().sum().alias("rugged"),
        (pl.col("completeness") == "complete").sum().alias("complete"),
        pl.col("seen_live").sum().alias("seen_live"),
        pl.col("revealed").sum().alias("revealed"),
        (pl.col("first_live_tick").fill_null(0) > 0).sum().alias("joined_late"),
        pl.col("date").min().alias("first_date"),
        pl.col("date").max().alias("last_date"),
    ).sort("origin")


def replay_vs_recorded(server_seed: str, game_id: str, version: str, ticks: pl.DataFrame
                       ) -> pl.DataFrame:
    """A game replayed from its seed next to its recorded (non-rug) ticks.

    Returns:
        One row per replayed tick 0..N: `tick`, `replayed_x`, `recorded_x` (null where the
        lake has no tick), `source` (the tick's lake source; only when `ticks` has that
        column: the report reads ticks without it), `equal` (recorded == replayed exactly;
        null where not recorded).
    """
    path = replay_game(server_seed, game_id, version)
    extra = ["source"] if "source" in ticks.columns else []
    rec = ticks.filter((pl.col("game_id") == game_id) & ~pl.col("is_rug")).select(
        pl.col("tick").cast(pl.Int64), pl.col("price_x").alias("recorded_x"), *extra)
    return (
        pl.DataFrame({"tick": np.arange(len(path.prices), dtype=np.int64),
                      "replayed_x": np.asarray(path.prices, dtype=float)})
        .join(rec, on="tick", how="left")
        .with_columns((pl.col("recorded_x") == pl.col("replayed_x")).alias("equal"))
    )


def exceedance(values: np.ndarray | pl.Series, levels: Sequence[float], *,
               level: float = 0.95) -> pl.DataFrame:
    """Share of `values` ≥ each level with a Wilson interval: `level_x`, `n`, `k`, `share`,
    `lo`, `hi` (nulls in `values` are dropped)."""
    x = np.asarray(values.drop_nulls() if isinstance(values, pl.Series) else values, float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        raise ConfigError("exceedance needs at least one value.")
    rows = []
    for v in levels:
        k = int((x >= v).sum())
        lo, hi = binomial_interval(k, x.size, "wilson", level)
        rows.append({"level_x": float(v), "n": int(x.size), "k": k, "share": k / x.size,
                     "lo": lo, "hi": hi})
    return pl.DataFrame(rows)


def sidebet_rule_check(side_bets: pl.DataFrame, games: pl.DataFrame) -> pl.DataFrame:
    """The resolution rule on recorded bets: won == (rug_tick ≤ end_tick).

    Returns:
        One row per resolved bet whose game's rug tick is known: `game_id`, `start_tick`,
        `end_tick`, `rug_tick`, `won`, `rule_won` (rug_tick ≤ end_tick), `agrees`.
    """
    g = games.select("game_id", pl.col("rug_tick").cast(pl.Int64)).filter(
        pl.col("rug_tick").is_not_null()).unique("game_id")
    return (
        side_bets.filter(pl.col("resolved") & pl.col("won").is_not_null())
        .select("game_id", pl.col("start_tick").cast(pl.Int64),
                pl.col("end_tick").cast(pl.Int64), "won")
        .join(g, on="game_id", how="inner")
        .with_columns((pl.col("rug_tick") <= pl.col("end_tick")).alias("rule_won"))
        .with_columns((pl.col("won") == pl.col("rule_won")).alias("agrees"))
    )

