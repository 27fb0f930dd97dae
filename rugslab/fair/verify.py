"""Provably-fair verification of recorded games: seed hash, replayed path, peak and rug tick.

For every game with a revealed server seed, `verify_games` checks
- the commitment: SHA-256 of the seed equals the recorded `server_seed_hash`;
- the path: every recorded non-rug tick's `price_x` equals the replay's price at that tick,
  exactly (the rug tick's crash price is not generated, so it is not compared);
- the peak: the recorded `peak_x` equals the replay's peak, exactly;
- the rug tick: the recorded `rug_tick` equals the replay's `total_ticks + 1` (the server's
  history prices are the path plus one crash price, rug tick = their length − 1; checked on
  every revealed game of `../shared/captures`).

A check with nothing to compare is null. Status: "failed" if any check is False; "verified" if
the hash matches and the path or the peak matched; "unverifiable" otherwise (no seed yet, no
version, no hash or nothing recorded to compare), with the reason.

`rugslab.lake.verify.verify_lake` runs this over a lake and writes the `verifications` table
(games that are unverifiable get no row: they are counted, and verified once their seed is in
the lake).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import polars as pl

from rugslab.fair.fast import ReplayBatch, replay_games
from rugslab.feed.rules import GAME_VERSIONS, seed_hash
from rugslab.tables.schemas import TABLES, require_columns

VERIFIED, FAILED, UNVERIFIABLE = "verified", "failed", "unverifiable"
#: Columns of the frame `verify_games` returns (the `verifications` table's, same order).
COLUMNS = TABLES["verifications"].columns
_CHECKS = ("hash_ok", "path_ok", "peak_ok", "rug_tick_ok")


def _col(frame: pl.DataFrame, name: str, dtype: pl.DataType | type[pl.DataType]) -> pl.Expr:
    return (
        pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype).alias(name)
    )


def _candidates(games: pl.DataFrame, seeds: pl.DataFrame) -> pl.DataFrame:
    """One row per game id of `games` ∪ `seeds`: seed, hash, version, recorded rug tick and peak."""
    g = games.select(
        pl.col("game_id").cast(pl.String),
        _col(games, "version", pl.String).alias("g_version"),
        _col(games, "server_seed_hash", pl.String).alias("g_hash"),
        _col(games, "rug_tick", pl.Int64).alias("rug_tick"),
        _col(games, "peak_x", pl.Float64).alias("peak_x"),
    ).unique("game_id", keep="first", maintain_order=True)
    s = seeds.select(
        pl.col("game_id").cast(pl.String),
        _col(seeds, "server_seed", pl.String).alias("server_seed"),
        _col(seeds, "server_seed_hash", pl.String).alias("s_hash"),
        _col(seeds, "version", pl.String).alias("s_version"),
    ).unique("game_id", keep="first", maintain_order=True)
    out = g.join(s, on="game_id", how="full", coalesce=True)
    return out.select(
        "game_id",
        "server_seed",
        pl.coalesce("s_hash", "g_hash").alias("committed_hash"),
        pl.coalesce("s_version", "g_version").alias("version"),
        "rug_tick",
        "peak_x",
    ).sort("game_id")


def _path_checks(ids: list[str], batch: ReplayBatch, ticks: pl.DataFrame) -> pl.DataFrame:
    """Per game of `ids`: ticks compared, first mismatching tick, recorded/replayed price there."""
    lengths = np.diff(batch.offsets)
    starts = np.repeat(batch.offsets[:-1], lengths)
    replay = pl.DataFrame(
        {
            "game_id": pl.Series(ids, dtype=pl.String).gather(
                np.repeat(np.arange(len(ids)), lengths)
            ),
            "tick": (np.arange(batch.prices.shape[0]) - starts).astype(np.int64),
            "replay_x": batch.prices,
        }
    )
    rec = ticks.filter(pl.col("game_id").is_in(ids) & ~pl.col("is_rug"))
    joined = rec.join(replay, on=["game_id", "tick"], how="left")
    bad = joined.filter(pl.col("replay_x").is_null() | (pl.col("price_x") != pl.col("replay_x")))
    first_bad = (
        bad.sort("game_id", "tick")
        .group_by("game_id", maintain_order=True)
        .first()
        .select("game_id", pl.col("tick").alias("first_mismatch_tick"), "price_x", "replay_x")
    )
    counts = joined.group_by("game_id").agg(pl.len().alias("n_compared"))
    return counts.join(first_bad, on="game_id", how="left")


def _rug_ticks_from_ticks(ticks: pl.DataFrame) -> pl.DataFrame:
    return (
        ticks.filter(pl.col("is_rug"))
        .group_by("game_id")
        .agg(pl.col("tick").min().alias("tick_rug"))
    )


def verify_games(
    games: pl.DataFrame,
    seeds: pl.DataFrame,
    ticks: pl.DataFrame,
    *,
    now: datetime | None = None,
    chunk_size: int = 5000,
) -> pl.DataFrame:
    """Verify every game of `games` ∪ `seeds` against its revealed seed.

    Args:
        games: the lake's `games` rows (uses `game_id`, `version`, `rug_tick`, `peak_x`,
            and `server_seed_hash` when `seeds` has none).
        seeds: the lake's `seeds` rows (`game_id`, `server_seed`, `server_seed_hash`, `version`).
        ticks: the lake's `ticks` rows (`game_id`, `tick`, `price_x`, `is_rug`).
        now: the `verified_at` stamp (default: now, UTC).
        chunk_size: games replayed at once (bounds memory to one chunk's paths).

    Returns:
        One row per game, sorted by `game_id`, with the `verifications` columns (`game_id`,
        `status`, `hash_ok`, `path_ok`, `first_mismatch_tick`, `peak_ok`, `rug_tick_ok`,
        `version`, `verified_at`, `reason`); `status` is also "unverifiable" here.

    Raises:
        SchemaViolation: a frame lacks a required column.
    """
    require_columns(games, ("game_id",), table="games")
    require_columns(seeds, ("game_id", "server_seed"), table="seeds")
    require_columns(ticks, ("game_id", "tick", "price_x", "is_rug"), table="ticks")
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    ticks = ticks.select(
        pl.col("game_id").cast(pl.String),
        pl.col("tick").cast(pl.Int64),
        pl.col("price_x").cast(pl.Float64),
        pl.col("is_rug").cast(pl.Boolean),
    )
    cand = _candidates(games, seeds).join(_rug_ticks_from_ticks(ticks), on="game_id", how="left")
    cand = cand.with_columns(pl.coalesce("rug_tick", "tick_rug").alias("rug_tick")).drop("tick_rug")
    rows: list[dict] = []
    ready = cand.filter(pl.col("server_seed").is_not_null()
                        & pl.col("version").is_in(GAME_VERSIONS))
    for r in cand.filter(~pl.col("game_id").is_in(ready["game_id"].implode())).iter_rows(
        named=True
    ):
        why = (
            "no revealed server seed"
            if r["server_seed"] is None
            else (f"game version {r['version']!r} is not one of {', '.join(GAME_VERSIONS)}")
        )
        rows.append(
            {
                "game_id": r["game_id"],
                "status": UNVERIFIABLE,
                "version": r["version"],
                "reason": why,
            }
        )
    for lo in range(0, ready.height, chunk_size):
        rows.extend(_verify_chunk(ready.slice(lo, chunk_size), ticks))
    schema = {**TABLES["verifications"].polars_schema}
    frame = pl.DataFrame(
        [{c: row.get(c) for c in COLUMNS if c != "verified_at"} for row in rows],
        schema={c: t for c, t in schema.items() if c != "verified_at"},
    )
    return (
        frame.with_columns(pl.lit(stamp, dtype=schema["verified_at"]).alias("verified_at"))
        .select(COLUMNS)
        .sort("game_id")
    )


def _verify_chunk(chunk: pl.DataFrame, ticks: pl.DataFrame) -> list[dict]:
    ids = chunk["game_id"].to_list()
    seeds = chunk["server_seed"].to_list()
    batch = replay_games(seeds, ids, chunk["version"].to_list())
    paths = {r["game_id"]: r for r in _path_checks(ids, batch, ticks).iter_rows(named=True)}
    out = []
    for i, r in enumerate(chunk.iter_rows(named=True)):
        gid = r["game_id"]
        problems: list[str] = []
        hash_ok = None
        if r["committed_hash"] is not None:
            got = seed_hash(r["server_seed"])
            hash_ok = got == r["committed_hash"]
            if not hash_ok:
                problems.append(
                    f"seed hash mismatch: sha256(seed) = {got}, committed {r['committed_hash']}"
                )
        p = paths.get(gid)
        path_ok = first = None
        if p is not None:
            first = p["first_mismatch_tick"]
            path_ok = first is None
            if first is not None:
                replayed = (
                    "no price (after the replayed rug)"
                    if p["replay_x"] is None
                    else repr(p["replay_x"])
                )
                problems.append(
                    f"path differs from tick {first}: recorded {p['price_x']!r}, replay {replayed}"
                )
        peak = float(batch.peak_multiplier[i])
        peak_ok = None if r["peak_x"] is None else r["peak_x"] == peak
        if peak_ok is False:
            problems.append(f"peak recorded {r['peak_x']!r}, replay {peak!r}")
        expected_rug = int(batch.total_ticks[i]) + 1
        rug_ok = None if r["rug_tick"] is None else r["rug_tick"] == expected_rug
        if rug_ok is False:
            problems.append(
                f"rug tick recorded {r['rug_tick']}, replay {expected_rug} (total_ticks + 1)"
            )
        checks = {"hash_ok": hash_ok, "path_ok": path_ok, "peak_ok": peak_ok, "rug_tick_ok": rug_ok}
        if problems:
            status, reason = FAILED, "; ".join(problems)
        elif hash_ok and (path_ok or peak_ok):
            status, reason = VERIFIED, None
        else:
            missing = [
                m
                for m, bad in (
                    ("no server seed hash recorded", hash_ok is None),
                    ("no recorded ticks or peak to compare", not (path_ok or peak_ok)),
                )
                if bad
            ]
            status, reason = UNVERIFIABLE, "; ".join(missing)
        out.append(
            {
                "game_id": gid,
                "status": status,
                **checks,
                "first_mismatch_tick": first,
                "version": r["version"],
                "reason": reason,
            }
        )
    return out


@dataclass(slots=True)
class VerifySummary:
    """What `verify_lake` found.

    Attributes:
        results: the `verify_games` frame (all games, unverifiable included).
        written: `verifications` rows written (verified + failed).
    """

    results: pl.DataFrame
    written: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def failures(self) -> pl.DataFrame:
        """Rows with status "failed" (game_id, reason, ...)."""
        return self.results.filter(pl.col("status") == FAILED)

    def __str__(self) -> str:
        c = self.counts
        lines = [
            f"verified {c.get(VERIFIED, 0)}, failed {c.get(FAILED, 0)}, "
            f"unverifiable {c.get(UNVERIFIABLE, 0)} (of {self.results.height} games); "
            f"{self.written} verifications rows written"
        ]
        for r in self.failures.iter_rows(named=True):
            lines.append(f"FAILED {r['game_id']} ({r['version']}): {r['reason']}")
        unv = (
            self.results.filter(pl.col("status") == UNVERIFIABLE)
            .group_by("reason")
            .len()
            .sort("reason")
        )
        for reason, n in unv.iter_rows():
            lines.append(f"unverifiable: {n} game(s): {reason}")
        return "\n".join(lines)
