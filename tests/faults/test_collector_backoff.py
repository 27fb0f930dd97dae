"""The one backoff policy: capped exponential ceilings, full jitter, reset after a healthy
connection; and a collector against a server that drops the transport every 2 s stays
connected most of the time (it used to climb to 19 s delays and be connected 11 s of 30)."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from rugslab.lake.catalog import read_table
from rugslab.sim.faults import Faults
from rugslab.testing import running_server, sim_frames


def test_ceilings_double_from_the_base_up_to_the_cap_and_reset() -> None:
    from rugslab.backoff import RECONNECT_BASE_S, RECONNECT_CAP_S, Backoff

    b = Backoff(jitter=0.0)
    delays = [b.next_delay() for _ in range(9)]
    assert (RECONNECT_BASE_S, RECONNECT_CAP_S) == (0.5, 30.0)
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    b.reset()
    assert b.next_delay() == 0.5


def test_full_jitter_draws_uniformly_below_the_ceiling_and_never_above_the_cap() -> None:
    from rugslab.backoff import Backoff

    b = Backoff(base_s=0.5, cap_s=30.0, rng=random.Random(7))
    delays = [b.next_delay() for _ in range(2000)]
    ceilings = [min(30.0, 0.5 * 2 ** min(n, 10)) for n in range(2000)]
    assert all(0.0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    capped = delays[10:]
    assert max(capped) <= 30.0
    # uniform on [0, 30]: mean 15, and both ends of the range are reached
    assert 14.0 < sum(capped) / len(capped) < 16.0
    assert min(capped) < 1.0 and max(capped) > 29.0
    # the same seed, the same delays
    again = Backoff(base_s=0.5, cap_s=30.0, rng=random.Random(7))
    assert [again.next_delay() for _ in range(2000)] == delays


def test_a_partial_jitter_keeps_the_delay_in_its_band() -> None:
    from rugslab.backoff import Backoff

    b = Backoff(base_s=1.0, cap_s=8.0, jitter=0.25, rng=random.Random(1))
    for ceiling in (1.0, 2.0, 4.0, 8.0, 8.0):
        assert 0.75 * ceiling <= b.next_delay() <= ceiling


def test_thousands_of_failures_never_overflow_past_the_cap() -> None:
    from rugslab.backoff import Backoff

    b = Backoff(base_s=0.5, cap_s=30.0, jitter=0.0)
    for _ in range(5000):
        assert b.next_delay() <= 30.0


@pytest.mark.parametrize(
    ("frames", "up_s", "healthy"),
    [
        (0, 0.2, False),  # refused in all but name
        (3, 0.5, False),  # a greeting, then cut at once
        (3, 1.0, True),  # delivered frames and held a second
        (0, 9.9, False),  # silent and short
        (0, 10.0, True),  # silent but held 10 s
        (500, 120.0, True),
    ],
)
def test_a_healthy_connection_delivered_frames_for_a_second_or_held_ten(
    frames: int, up_s: float, healthy: bool
) -> None:
    from rugslab.backoff import is_healthy_connection

    assert is_healthy_connection(frames, up_s) is healthy


def test_bad_backoff_settings_name_the_value_and_the_fix() -> None:
    from rugslab.backoff import Backoff

    with pytest.raises(ValueError, match=r"base_s 5.0 / cap_s 1.0: expected 0 < base_s <= cap_s"):
        Backoff(base_s=5.0, cap_s=1.0)
    with pytest.raises(ValueError, match=r"jitter 1.5: expected 0..1"):
        Backoff(jitter=1.5)


def test_lake_and_journal_retries_use_the_one_backoff(tmp_path: Path) -> None:
    import asyncio

    from rugslab.backoff import (
        JOURNAL_RETRY_CAP_S,
        LAKE_RETRY_CAP_S,
        Backoff,
    )
    from rugslab.collector.run import CollectOptions, _Collector

    c = _Collector(CollectOptions(url="http://127.0.0.1:9", lake=tmp_path), asyncio.Event(), None)
    assert isinstance(c.write_backoff, Backoff) and c.write_backoff.cap_s == LAKE_RETRY_CAP_S
    assert isinstance(c.journal.backoff, Backoff)
    assert c.journal.backoff.cap_s == JOURNAL_RETRY_CAP_S


@pytest.mark.slow
def test_a_server_dropping_the_transport_every_2_s_leaves_the_collector_connected(
    tmp_path: Path,
) -> None:
    lake = tmp_path / "lake"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUGSLAB_")}
    faults = Faults(disconnect_every_s=2.0, disconnect_kind="transport", seed=3)
    with running_server(sim_frames(60, seed=8, speed=4), faults=faults,
                        wait_for_clients=1) as srv:
        run = subprocess.run(
            [sys.executable, "-m", "rugslab", "collect", "--url", srv.url, "--lake", str(lake),
             "--duration", "20s"],
            env=env, capture_output=True, timeout=90,
        )
    out = run.stdout.decode() + run.stderr.decode()
    assert run.returncode == 0, out
    seconds = float(re.search(r"frames in ([\d.]+) s", out).group(1))  # type: ignore[union-attr]
    conns = read_table("connections", lake)
    down = conns.filter(pl.col("kind") == "disconnected")
    connected_s = float(down["duration_s"].sum())
    assert connected_s / seconds > 0.7, (
        f"connected {connected_s:.1f} s of {seconds:.1f}; backoff delays "
        f"{down['backoff_s'].to_list()}"
    )
    assert down.height >= 6, out  # the server did drop it, again and again
    assert "transport error" in down["reason"].to_list()
    from rugslab.backoff import RECONNECT_CAP_S

    assert float(conns["backoff_s"].drop_nulls().max()) <= RECONNECT_CAP_S  # type: ignore[arg-type]
