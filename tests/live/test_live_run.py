"""`serve_live` with a lake: the collector writes the same lake as `collect` does on the same
feed, and the signals take up the lake's fitted hazard once it has games."""

from __future__ import annotations

import asyncio
from pathlib import Path

import polars as pl
import pytest
from live_clients import Recorder

from rugslab.collector.run import CollectOptions, collect_async
from rugslab.lake.catalog import read_table
from rugslab.live.run import LiveOptions
from rugslab.testing import running_live_server, running_server, sim_frames

GAMES, SEED, SPEED = 6, 5, 40.0


def _lake_rows(lake: Path) -> tuple[list[str], pl.DataFrame]:
    games = sorted(read_table("games", lake)["game_id"].to_list())
    ticks = read_table("ticks", lake).select("game_id", "tick", "price_x").sort("game_id", "tick")
    return games, ticks


@pytest.mark.slow
def test_the_live_server_writes_the_lake_as_collect_does_and_fits_it(tmp_path: Path) -> None:
    lake = tmp_path / "live-lake"
    opts = LiveOptions(port=0, lake=lake, refit_every_s=0.3, fit_resamples=50,
                       wait_for_clients=1)

    async def watch(url: str) -> Recorder:
        c = Recorder()
        await c.connect(url)
        await c.call("subscribe", {"channel": "signals"})
        await c.call("subscribe", {"channel": "games", "filter": {"kind": "seed"}})
        await c.wait_for(lambda: len(c.of("games")) >= GAMES, 60)
        await c.wait_for(lambda: any(s["p_rug_40_lake"] is not None for s in c.of("signals")),
                         40)
        await c.close()
        return c

    with running_live_server(sim_frames(GAMES, seed=SEED, speed=SPEED), options=opts) as srv:
        c = asyncio.run(watch(srv.url))
        status = srv.status()
    assert status["source"]["lake"] == str(lake)
    fitted = [s for s in c.of("signals") if s["p_rug_40_lake"] is not None]
    assert fitted, "no signal used the lake's fit"
    model = fitted[-1]["models"]["p_rug_40_lake"]
    assert model["name"] == "lake_pooled_hazard" and model["lake"] == str(lake)
    lo, p, hi = (fitted[-1][k] for k in ("p_rug_40_lake_lo", "p_rug_40_lake", "p_rug_40_lake_hi"))
    assert lo <= p <= hi

    plain = tmp_path / "collect-lake"

    async def collect(url: str) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(collect_async(CollectOptions(url=url, lake=plain), stop,
                                                 out=None))
        await asyncio.to_thread(srv2.wait_done, 60)
        await asyncio.sleep(1.0)
        stop.set()
        await task

    with running_server(sim_frames(GAMES, seed=SEED, speed=SPEED), wait_for_clients=1) as srv2:
        asyncio.run(collect(srv2.url))
    live_games, live_ticks = _lake_rows(lake)
    games, ticks = _lake_rows(plain)
    assert live_games == games and len(games) >= GAMES
    assert live_ticks.equals(ticks)
