"""Ray as the engine: the same seed gives exactly the local engine's numbers (Ray in local mode
with 2 CPUs, started once per test session by the `ray_local` fixture); errors name the fix."""

from __future__ import annotations

import datetime as dt
import sys

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from rugslab.errors import ConfigError
from rugslab.strategy.builtins import SidebetFixed
from rugslab.strategy.ensemble import run_ensemble
from rugslab.strategy.ray_engine import IN_FLIGHT_PER_CPU, check_reachable, ray_map, ray_session
from rugslab.strategy.report import run_backtest
from rugslab.strategy.sources import LakeSource, MonteCarloSource, lake_games
from rugslab.strategy.sweep import sweep

GRID = {"start_tick": [0, 60], "stake": [0.1, 1.0]}


def _lake() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Eight real-looking games: rugs at 5, 30, 60, ... (each priced every tick), one censored."""
    t0 = dt.datetime(2025, 12, 12, 17, tzinfo=dt.UTC)
    rugs = [5, 30, 60, 2, 90, 15, None, 40]
    ids = [f"g{i}" for i in range(len(rugs))]
    games = pl.DataFrame({
        "game_id": ids, "start_ts": [t0 + dt.timedelta(minutes=i) for i in range(len(rugs))],
        "rug_tick": pl.Series(rugs, dtype=pl.Int32),
        "rugged": [r is not None for r in rugs],
        "last_live_tick": pl.Series([r - 1 if r else 25 for r in rugs], dtype=pl.Int32),
    })
    rows = [(g, t) for g, r in zip(ids, rugs, strict=True) for t in range((r or 25) + 1)]
    ticks = pl.DataFrame({
        "game_id": [g for g, _ in rows], "tick": pl.Series([t for _, t in rows], dtype=pl.Int32),
        "price_x": [1.0 + t / 100 for _, t in rows],
        "recv_ts": [t0 + dt.timedelta(milliseconds=250 * t) for _, t in rows],
        "is_rug": [rugs[ids.index(g)] == t for g, t in rows],
    })
    return games, ticks


def test_importing_rugslab_does_not_import_ray() -> None:
    import subprocess

    code = "import sys, rugslab, rugslab.notebook, rugslab.strategy.ray_engine; " \
           "print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


@pytest.mark.slow
def test_a_sweep_on_ray_is_exactly_the_local_engines(ray_local) -> None:
    kw = {"paths": 90, "games": 30, "seed": 5, "chunk_paths": 25}  # 4 points × 4 chunks
    local = sweep("sidebet-fixed", GRID, MonteCarloSource(), workers=1, **kw)
    on_ray = sweep("sidebet-fixed", GRID, MonteCarloSource(), executor=ray_map, **kw)
    assert on_ray.height == 4
    assert_frame_equal(local, on_ray)
    other_seed = sweep("sidebet-fixed", GRID, MonteCarloSource(), executor=ray_map,
                       **{**kw, "seed": 6})
    assert not other_seed.equals(local)  # the comparison can fail


@pytest.mark.slow
def test_an_ensemble_and_a_backtest_on_ray_are_the_local_engines(ray_local) -> None:
    s = SidebetFixed(start_tick=20, stake=0.5)
    kw = {"paths": 70, "games_per_path": 40, "seed": 11, "chunk_paths": 20}
    a = run_ensemble(s, MonteCarloSource(), workers=1, **kw)
    b = run_ensemble(s, MonteCarloSource(), executor=ray_map, **kw)
    assert a.metrics().to_dict() == b.metrics().to_dict()
    assert_frame_equal(a.bankroll_bands(), b.bankroll_bands())
    r1 = run_backtest("sidebet-fixed", {"stake": 0.2}, MonteCarloSource(), paths=60, games=30,
                      seed=2, chunk_paths=15)
    r2 = run_backtest("sidebet-fixed", {"stake": 0.2}, MonteCarloSource(), paths=60, games=30,
                      seed=2, chunk_paths=15, executor=ray_map)
    assert r1.to_dict() == r2.to_dict()


@pytest.mark.slow
def test_a_lake_source_is_shared_through_the_object_store_with_the_same_numbers(
        ray_local) -> None:
    src = LakeSource(lake_games(*_lake()), block_games=2)
    s = SidebetFixed(start_tick=1, stake=0.5)
    kw = {"paths": 40, "games_per_path": 8, "seed": 3, "chunk_paths": 10}
    a = run_ensemble(s, src, workers=1, **kw)
    b = run_ensemble(s, src, executor=ray_map, **kw)
    assert a.metrics().to_dict() == b.metrics().to_dict()


@pytest.mark.slow
def test_ray_map_keeps_item_order_past_its_in_flight_window(ray_local) -> None:
    n = IN_FLIGHT_PER_CPU * 2 * 3 + 1  # 2 CPUs: the window refills several times
    assert list(ray_map(str, range(n))) == [str(i) for i in range(n)]  # str: on every worker
    assert list(ray_map(str, [])) == []


@pytest.mark.slow
def test_a_session_inside_a_running_ray_reuses_it_and_leaves_it_running(ray_local) -> None:
    with ray_session() as ray:
        assert ray is ray_local
    assert ray_local.is_initialized()
    import socket

    with socket.create_server(("127.0.0.1", 0)) as other:  # another "cluster" listening
        address = f"127.0.0.1:{other.getsockname()[1]}"
        with pytest.raises(ConfigError, match=r"already initialised.*drop --address"), \
                ray_session(address):
            pass


@pytest.mark.parametrize(("kw", "message"), [
    ({"num_cpus": 0}, "Invalid --workers 0: expected a whole number ≥ 1."),
    ({"address": "10.0.0.5:6379", "num_cpus": 2},
     "--workers 2 goes with Ray on this machine; a cluster (--address 10.0.0.5:6379)"),
])
def test_bad_session_arguments_name_the_flag_and_the_fix(kw, message) -> None:
    with pytest.raises(ConfigError) as e, ray_session(**kw):
        pass
    assert message in str(e.value)


def test_an_address_nothing_listens_at_fails_fast_naming_the_fix() -> None:
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConfigError) as e:
        check_reachable(f"127.0.0.1:{port}", timeout_s=2)
    assert f"Cannot reach the Ray cluster at --address 127.0.0.1:{port}" in str(e.value)
    assert "ray start --head" in str(e.value)
    with pytest.raises(ConfigError, match="Invalid --address 'nohost': expected HOST:PORT"):
        check_reachable("nohost")
    check_reachable("auto")  # Ray's own lookup: not checked here
