"""Game origins: where each game of the lake came from.

The lake mixes real games (capture files, legacy recordings, the live feed) with simulated
ones: games a collector took from a loopback server (`rugslab demo`, `rugslab serve sim`:
provably-fair games played at many times real speed) and games `rugslab sim lake` wrote (ids
marked with `feed.rules.SIM_GAME_ID_MARKER`). Timing and "is the real game fair" questions must
use the real ones only; `game_origins` labels every game, and `resolve_origins` turns a
`--origin real|sim|all` choice into origin names (`rugslab report`, `notebook.Lab.games`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from rugslab.errors import ConfigError
from rugslab.feed.rules import SIM_GAME_ID_PATTERN
from rugslab.lake.catalog import connect
from rugslab.lake.snapshot import LakeSnapshot

#: Origins, from strongest evidence to weakest (a game seen several ways gets the first).
ORIGINS = ("sim", "loopback", "live", "capture", "recording", "history", "unknown")
REAL_ORIGINS = ("live", "capture", "recording", "history", "unknown")
#: The simulated games: written by `rugslab sim lake` (marked ids) or collected from a
#: loopback server (`rugslab demo`, `rugslab serve sim`).
SIM_ORIGINS = ("sim", "loopback")
#: `--origin` choices (`rugslab report`, `Lab.games("sim")`) and the origins each one means.
ORIGIN_CHOICES: dict[str, tuple[str, ...]] = {
    "real": REAL_ORIGINS, "sim": SIM_ORIGINS, "all": ORIGINS}
_LOOPBACK_URL = r"^[a-zA-Z]+://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/|$)"


def game_origins(lake: Path | str, *, snapshot: LakeSnapshot | None = None) -> pl.DataFrame:
    """Where each game of the lake came from (latest versions, or `snapshot`'s).

    Returns:
        One row per game of `games`: `game_id`, `origin`, one of
        - "sim": the id carries the simulated-game marker (`rugslab sim lake`,
          `feed.rules.SIM_GAME_ID_MARKER`), whatever else the lake holds about it;
        - "loopback": frames from a collector session whose URL is a loopback address
          (simulated or replayed feed, usually at many times real speed);
        - "live": frames from a collector session to any other URL (the real feed);
        - "capture": frames read from capture files (`rugslab ingest`);
        - "recording": ticks imported from legacy per-tick recordings;
        - "history": known only from another game's `gameHistory` (no frames of its own);
        - "unknown": none of the above (e.g. a legacy recording that held no tick records).
        `seen_by` lists the raw-event sources (file paths or `collector:<session>`).

    Raises:
        LakeError: no lake at `lake`.
    """
    with connect(lake, snapshot=snapshot) as con:
        games = con.sql("SELECT DISTINCT game_id FROM games").pl()
        ev = con.sql(
            "SELECT DISTINCT game_id, source, session_id FROM raw_events WHERE game_id IS NOT NULL"
        ).pl()
        urls = con.sql(
            "SELECT session_id, bool_or(regexp_matches(url, ?)) AS loopback FROM connections "
            "WHERE url IS NOT NULL GROUP BY session_id", params=[_LOOPBACK_URL]
        ).pl()
        imported = con.sql("SELECT DISTINCT game_id FROM ticks WHERE source = 'import'").pl()
        history = con.sql(
            "SELECT game_id FROM ticks WHERE source = 'history' UNION "
            "SELECT game_id FROM games WHERE revealed"
        ).pl()
    ev = ev.join(urls, on="session_id", how="left").with_columns(
        pl.when(pl.col("session_id").is_null()).then(pl.lit(3))
        .when(pl.col("loopback").fill_null(False)).then(pl.lit(1))
        .otherwise(pl.lit(2)).alias("rank")
    )
    per_game = ev.group_by("game_id").agg(
        pl.col("rank").min(), pl.col("source").unique().sort().alias("seen_by")
    )
    out = (
        games.join(per_game, on="game_id", how="left")
        .with_columns(
            pl.when(pl.col("game_id").str.contains(SIM_GAME_ID_PATTERN)).then(pl.lit(0))
            .when(pl.col("rank").is_not_null()).then(pl.col("rank"))
            .when(pl.col("game_id").is_in(imported["game_id"].implode())).then(pl.lit(4))
            .when(pl.col("game_id").is_in(history["game_id"].implode())).then(pl.lit(5))
            .otherwise(pl.lit(6)).alias("rank"),
            pl.col("seen_by").fill_null(pl.lit([], pl.List(pl.String))),
        )
        .with_columns(pl.col("rank").replace_strict(list(range(len(ORIGINS))), list(ORIGINS))
                      .alias("origin"))
    )
    return out.select("game_id", "origin", "seen_by").sort("game_id")


def resolve_origins(origins: Sequence[str] | str, *, arg: str = "origins") -> tuple[str, ...]:
    """Origin names from a sequence of them or one `ORIGIN_CHOICES` key ("real", "sim",
    "all").

    Raises:
        ConfigError: an unknown choice or origin, named with `arg` (e.g. "--origin").
    """
    if isinstance(origins, str):
        if origins not in ORIGIN_CHOICES:
            raise ConfigError(f"Invalid {arg} {origins!r}: expected one of "
                              f"{', '.join(ORIGIN_CHOICES)} (real games, simulated ones, both).")
        return ORIGIN_CHOICES[origins]
    bad = [o for o in origins if o not in ORIGINS]
    if bad:
        raise ConfigError(f"Invalid {arg} {bad}: expected some of {list(ORIGINS)}.")
    return tuple(origins)
