"""Lake tables through Ray Data: the same rows, order and dtypes as the catalog, at a version;
the lake source built from them is the same (Ray in local mode, the session's `ray_local`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from polars.testing import assert_frame_equal

from rugslab.errors import ConfigError
from rugslab.lake.catalog import read_table
from rugslab.lake.ray_scan import read_table_ray
from rugslab.lake.writer import write_batch
from rugslab.notebook import Lab
from rugslab.tables.batch import RowBatch

T0 = dt.datetime(2025, 12, 12, 17, tzinfo=dt.UTC)


def _game(i: int, rug: int) -> dict:
    return {"game_id": f"20251212-{i:016x}", "seen_live": True, "revealed": False,
            "start_ts": T0 + dt.timedelta(minutes=i), "rug_tick": rug, "rugged": True,
            "last_live_tick": rug - 1}


def _write(lake: Path, games: range) -> None:
    b = RowBatch()
    rugs = {i: 5 + 7 * i for i in games}
    b.extend("games", [_game(i, r) for i, r in rugs.items()])
    b.extend("ticks", [{"game_id": f"20251212-{i:016x}", "tick": t, "price_x": 1.0 + t / 50,
                        "recv_ts": T0 + dt.timedelta(minutes=i, milliseconds=250 * t),
                        "source": "live", "is_rug": t == r}
                       for i, r in rugs.items() for t in range(r + 1)])
    write_batch(lake, b)


@pytest.mark.slow
def test_a_table_read_through_ray_data_is_the_catalogs(ray_local, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    _write(lake, range(1, 6))
    _write(lake, range(6, 9))  # a second commit
    for table in ("games", "ticks"):
        want = read_table(table, lake).drop("date")
        got = read_table_ray(lake, table, columns=want.columns)
        assert got.height == want.height > 0
        assert_frame_equal(got, want)
    # version 0 creates the table, 1 and 2 are the two writes
    assert read_table_ray(lake, "games", columns=["game_id"], version=0).height == 0
    first = read_table_ray(lake, "games", columns=["game_id", "rug_tick"], version=1)
    assert first["game_id"].to_list() == [f"20251212-{i:016x}" for i in range(1, 6)]
    assert read_table_ray(lake, "trades", columns=["trade_id"]).height == 0  # no such table


@pytest.mark.slow
def test_the_lake_source_is_the_same_read_by_ray_or_duckdb(ray_local, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    _write(lake, range(1, 9))
    lab = Lab(lake=lake)
    a, b = lab.lake_source(block_games=3), lab.lake_source(block_games=3, scan="ray")
    assert a.describe() == b.describe() and a.describe()["used"] == 8
    for name in ("game_id", "end_tick", "rugged", "censored", "offset", "price", "recv_ts"):
        assert np.array_equal(getattr(a.data, name), getattr(b.data, name)), name
    with pytest.raises(ConfigError, match="Invalid scan 'spark'"):
        lab.lake_source(scan="spark")
