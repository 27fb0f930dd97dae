"""`verify_lake`: the provably-fair verdict of every game of a lake, written to `verifications`.

The checks are `rugslab.fair.verify.verify_games`; this reads their inputs through the catalog
and writes the verdicts with the lake writer.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from rugslab.fair.verify import UNVERIFIABLE, VerifySummary, verify_games
from rugslab.lake.catalog import connect
from rugslab.lake.writer import write_batch
from rugslab.tables.batch import RowBatch


def verify_lake(lake: Path | str, *, now: datetime | None = None) -> VerifySummary:
    """Verify every game in the lake at `lake` and merge the verdicts into `verifications`.

    Reads `games`, `seeds` and the ticks of games with a revealed seed through the catalog;
    writes verified and failed games with `rugslab.lake.writer.write_batch`.

    Raises:
        LakeError: no lake at `lake`, or it cannot be read or written.
    """
    with connect(lake) as con:
        games = con.sql(
            "SELECT game_id, version, server_seed_hash, rug_tick, peak_x FROM games"
        ).pl()
        seeds = con.sql("SELECT game_id, server_seed, server_seed_hash, version FROM seeds").pl()
        ticks = con.sql(
            "SELECT game_id, tick, price_x, is_rug FROM ticks WHERE game_id IN "
            "(SELECT game_id FROM seeds WHERE server_seed IS NOT NULL)"
        ).pl()
    results = verify_games(games, seeds, ticks, now=now)
    keep = results.filter(pl.col("status") != UNVERIFIABLE)
    if keep.height:
        batch = RowBatch()
        batch.extend("verifications", keep.to_dicts())
        write_batch(lake, batch)
    counts = dict(results.group_by("status").len().iter_rows())
    return VerifySummary(results=results, written=keep.height, counts=counts)
