"""A live chart of the running game and its signals, for JupyterLab (notebook 06).

    board = LiveBoard()
    chart = live_chart(board)                    # an alt.JupyterChart: display it in a cell
    summary = await watch(board, chart, url=url, seconds=60)

`LiveBoard` keeps the current game's ticks and signals as they arrive (`take`), redraws the
game from `get_game` after every (re)connect (`redraw`: a client that joins mid-game draws the
ticks it missed), and builds the chart (`chart`): the price by tick, P(rug within the next 40
ticks) under the constant hazard and under the lake's fit with its interval, and each tick's
lateness against the 250 ms schedule. `watch` feeds it from the server's `ticks`, `signals`
and `games` channels (`rugslab.live.client`) and replaces the JupyterChart's chart at most
every `every_s` seconds.

Offline: `live_chart` switches altair's JupyterChart to the vega bundle that vl-convert ships
(`alt.JupyterChart.enable_offline()`), so the widget loads no script from a CDN; JupyterChart
needs the `anywidget` package (its JupyterLab extension comes with it).
"""

from __future__ import annotations

import time
from typing import Any

import altair as alt
import polars as pl

from rugslab.live.client import DEFAULT_LIVE_URL, LiveClient, stream

#: Ticks drawn at most (the latest): a game rarely runs past 1,000 ticks.
MAX_TICKS_DRAWN = 2000
_SIGNAL_FIELDS = ("p_rug_40_constant", "p_rug_40_lake", "p_rug_40_lake_lo", "p_rug_40_lake_hi",
                  "sidebet_ev_now", "window_40_ms", "tick_lateness_ms")


class LiveBoard:
    """The current game's ticks and signals, as a live chart draws them."""

    def __init__(self) -> None:
        self.game_id: str | None = None
        self.prices: dict[int, float] = {}
        self.signals: dict[int, dict[str, Any]] = {}
        self.rug_tick: int | None = None
        self.games_seen: list[str] = []
        self.messages = 0

    def _game(self, gid: str) -> None:
        if gid != self.game_id:
            self.game_id, self.prices, self.signals, self.rug_tick = gid, {}, {}, None
            self.games_seen.append(gid)

    def take(self, channel: str, message: dict[str, Any]) -> bool:
        """Take one message of `ticks`, `signals` or `games`; True when the chart changes."""
        self.messages += 1
        gid = message.get("game_id")
        if not isinstance(gid, str):
            return False
        if channel == "ticks":
            self._game(gid)
            self.prices[message["tick"]] = message["price_x"]
            if message.get("is_rug"):
                self.rug_tick = message["tick"]
            return True
        if channel == "signals" and gid == self.game_id:
            self.signals[message["tick"]] = {k: message.get(k) for k in _SIGNAL_FIELDS}
            return True
        if channel == "games" and message.get("kind") == "rug" and gid == self.game_id:
            self.rug_tick = message.get("rug_tick")
            return True
        return False

    def redraw(self, answer: dict[str, Any]) -> None:
        """Take a `get_game` answer: the game's ticks so far (the board switches to it)."""
        if not answer.get("ok"):
            return
        self._game(answer["game"]["game_id"])
        for t in answer["ticks"]:
            self.prices[t["tick"]] = t["price_x"]
        self.rug_tick = answer["game"].get("rug_tick")

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(prices: `tick`, `price_x`, `is_rug`; signals in long form: `tick`, `model`,
        `p_rug_40`, `lo`, `hi`, `tick_lateness_ms`) of the current game, latest ticks only."""
        ticks = sorted(self.prices)[-MAX_TICKS_DRAWN:]
        prices = pl.DataFrame({"tick": ticks, "price_x": [self.prices[t] for t in ticks],
                               "is_rug": [t == self.rug_tick for t in ticks]},
                              schema={"tick": pl.Int64, "price_x": pl.Float64,
                                      "is_rug": pl.Boolean})
        rows = []
        for t in sorted(self.signals)[-MAX_TICKS_DRAWN:]:
            s = self.signals[t]
            late = s["tick_lateness_ms"]
            rows.append({"tick": t, "model": "constant hazard", "p_rug_40": s["p_rug_40_constant"],
                         "lo": None, "hi": None, "tick_lateness_ms": late})
            if s["p_rug_40_lake"] is not None:
                rows.append({"tick": t, "model": "lake fit", "p_rug_40": s["p_rug_40_lake"],
                             "lo": s["p_rug_40_lake_lo"], "hi": s["p_rug_40_lake_hi"],
                             "tick_lateness_ms": late})
        signals = pl.DataFrame(rows, schema={"tick": pl.Int64, "model": pl.String,
                                             "p_rug_40": pl.Float64, "lo": pl.Float64,
                                             "hi": pl.Float64, "tick_lateness_ms": pl.Float64})
        return prices, signals

    def chart(self) -> alt.VConcatChart:
        """Price, P(rug within 40) with the lake fit's band, and tick lateness, by tick."""
        prices, signals = self.frames()
        title = f"game {self.game_id or '(waiting for the first tick)'}"
        x = alt.X("tick:Q", title="tick")
        price = alt.Chart(prices).mark_line().encode(
            x, alt.Y("price_x:Q", title="price (×)"), tooltip=["tick", "price_x"])
        rug = alt.Chart(prices.filter(pl.col("is_rug"))).mark_point(
            color="firebrick", size=80, filled=True).encode(x, alt.Y("price_x:Q"))
        colour = alt.Color("model:N", title="model")
        band = alt.Chart(signals.filter(pl.col("lo").is_not_null())).mark_area(
            opacity=0.25).encode(x, alt.Y("lo:Q"), alt.Y2("hi:Q"), colour)
        lines = alt.Chart(signals).mark_line().encode(
            x, alt.Y("p_rug_40:Q", title="P(rug within 40 ticks)"), colour,
            tooltip=["tick", "model", "p_rug_40", "lo", "hi"])
        late = alt.Chart(signals.filter(pl.col("model") == "constant hazard")).mark_bar().encode(
            x, alt.Y("tick_lateness_ms:Q", title="lateness (ms)"),
            tooltip=["tick", "tick_lateness_ms"])
        return alt.vconcat(
            (price + rug).properties(width=640, height=180, title=title),
            (band + lines).properties(width=640, height=140),
            late.properties(width=640, height=80),
        )

    def signals_table(self) -> pl.DataFrame:
        """The current game's signals, one row per tick (wide, as received)."""
        return pl.DataFrame([{"tick": t, **s} for t, s in sorted(self.signals.items())],
                            schema={"tick": pl.Int64, **dict.fromkeys(_SIGNAL_FIELDS,
                                                                      pl.Float64)})


def live_chart(board: LiveBoard) -> alt.JupyterChart:
    """An offline `alt.JupyterChart` of `board` (module docstring); display it in a cell."""
    alt.JupyterChart.enable_offline()
    return alt.JupyterChart(board.chart())


async def watch(board: LiveBoard, chart: alt.JupyterChart | None = None, *,
                url: str = DEFAULT_LIVE_URL, seconds: float = 60.0, token: str | None = None,
                every_s: float = 0.5) -> dict[str, Any]:
    """Feed `board` from the live server at `url` for `seconds`, redrawing `chart` (if given)
    at most every `every_s` s and once at the end.

    Returns:
        `messages`, `games` (ids seen), `connects`, `lost` (messages the heartbeats say were
        sent and not received), `seconds`.

    Raises:
        BadRequest: the server refused the token.
    """
    client = LiveClient(url, {"ticks": None, "signals": None, "games": None}, token=token)
    t0 = last = time.monotonic()
    dirty = False
    async for channel, message in stream(client.channels, client=client, duration_s=seconds,
                                         include_connects=True):
        if channel == "connected":
            board.redraw(await client.request("get_game"))
            dirty = True
        else:
            dirty = board.take(channel, message) or dirty
        if chart is not None and dirty and time.monotonic() - last >= every_s:
            chart.chart = board.chart()
            last, dirty = time.monotonic(), False
    if chart is not None:
        chart.chart = board.chart()
    return {"messages": board.messages, "games": list(board.games_seen),
            "connects": client.connects, "lost": client.lost,
            "seconds": round(time.monotonic() - t0, 1)}
