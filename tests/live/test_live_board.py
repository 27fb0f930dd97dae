"""The live board of notebook 06: what it keeps from the channels, its chart, and the widget's
scripts (bundled, nothing loaded from a CDN)."""

from __future__ import annotations

import re

import altair as alt
import pytest

from rugslab.config import DEFAULT_LIVE_SECONDS, Settings
from rugslab.errors import ConfigError
from rugslab.live.board import LiveBoard, live_chart

G, H = "20251212-00000000000000a1", "20251212-00000000000000b2"


def _signal(tick: int, lake: float | None = None) -> dict:
    return {"game_id": G, "tick": tick, "p_rug_40_constant": 0.18, "p_rug_40_lake": lake,
            "p_rug_40_lake_lo": None if lake is None else lake - 0.01,
            "p_rug_40_lake_hi": None if lake is None else lake + 0.01,
            "sidebet_ev_now": -0.09, "window_40_ms": 10_000.0, "tick_lateness_ms": 3.0}


def test_the_board_keeps_the_current_game_and_redraws_a_joined_game() -> None:
    b = LiveBoard()
    assert b.take("ticks", {"game_id": G, "tick": 7, "price_x": 1.1, "is_rug": False})
    assert b.take("signals", _signal(7, lake=0.2))
    assert not b.take("signals", {**_signal(8), "game_id": H})  # not the board's game
    b.redraw({"ok": True, "game": {"game_id": G, "rug_tick": None},
              "ticks": [{"tick": t, "price_x": 1.0 + t / 100} for t in range(7)]})
    prices, signals = b.frames()
    assert prices["tick"].to_list() == list(range(8))
    assert signals.select("model", "p_rug_40", "lo").rows() == [
        ("constant hazard", 0.18, None), ("lake fit", 0.2, 0.19)]
    assert b.take("ticks", {"game_id": G, "tick": 8, "price_x": 0.01, "is_rug": True})
    assert b.frames()[0].filter("is_rug")["tick"].to_list() == [8]
    b.take("ticks", {"game_id": H, "tick": 0, "price_x": 1.0, "is_rug": False})
    assert (b.game_id, b.games_seen, len(b.prices), b.signals) == (H, [G, H], 1, {})


def test_the_chart_has_price_signals_and_lateness_panels() -> None:
    b = LiveBoard()
    for t in range(5):
        b.take("ticks", {"game_id": G, "tick": t, "price_x": 1.0, "is_rug": False})
        b.take("signals", _signal(t, lake=0.2))
    spec = b.chart().to_dict()
    assert len(spec["vconcat"]) == 3
    assert spec["vconcat"][0]["title"] == f"game {G}"


def test_the_live_chart_widget_loads_no_script_from_the_network() -> None:
    chart = live_chart(LiveBoard())
    assert isinstance(chart, alt.JupyterChart)
    esm = alt.JupyterChart._esm
    remote = re.findall(r"""(?:import|from)\s*\(?\s*["']https?://[^"']+""", esm)
    assert remote == [] and "esm.sh" not in esm and len(esm) > 100_000


def test_the_notebook_settings_come_from_rugslab_live_variables() -> None:
    s = Settings.from_env({"RUGSLAB_LIVE_URL": "http://127.0.0.1:9000",
                           "RUGSLAB_LIVE_SECONDS": "2m"})
    assert (s.live_url, s.live_seconds) == ("http://127.0.0.1:9000", 120.0)
    assert (Settings.from_env({}).live_url, Settings.from_env({}).live_seconds) == (
        None, DEFAULT_LIVE_SECONDS)
    with pytest.raises(ConfigError, match="Invalid RUGSLAB_LIVE_SECONDS 'soon'"):
        Settings.from_env({"RUGSLAB_LIVE_SECONDS": "soon"})
