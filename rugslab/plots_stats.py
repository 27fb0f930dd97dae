"""Altair chart builders for the statistical diagnostics: interval distributions by session or
day, the Q–Q plot of rug ticks, the timing effect against its equivalence margin, the peak PIT.
Each returns a chart; none displays it. The other builders live in `rugslab.plots`.
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import numpy as np
import polars as pl

from rugslab.analysis._frames import require_columns
from rugslab.analysis.timing import STALL_MS, recording_sessions
from rugslab.errors import ConfigError
from rugslab.plots import log_bins


def interval_distribution_by(intervals: pl.DataFrame, *,
                             by: Literal["day", "session"] = "day",
                             per_decade: int = 20) -> alt.LayerChart:
    """Share of intervals per log-spaced bin, one line per UTC day or recording session, on a
    log axis, with the stall threshold: regimes that differ show as different shapes.

    Args:
        intervals: `timing.tick_intervals` output.
        by: "day" or "session" (`timing.recording_sessions`).
    """
    require_columns(intervals, ("game_id", "recv_ts", "interval_ms"), table="intervals")
    if by == "day":
        keyed = intervals.with_columns(pl.col("recv_ts").dt.date().cast(pl.String).alias("group"))
    elif by == "session":
        s = recording_sessions(intervals).select(
            "game_id", pl.format("session {}", "session").alias("group"))
        keyed = intervals.join(s, on="game_id", how="left")
    else:
        raise ConfigError(f"Invalid by {by!r}: expected 'day' or 'session'.")
    parts = []
    for (g,), part in keyed.group_by("group", maintain_order=True):
        x = part["interval_ms"].drop_nulls().to_numpy()
        parts.append(log_bins(x, per_decade=per_decade).with_columns(
            pl.lit(str(g)).alias(by), pl.lit(x.size).alias("n"),
            ((pl.col("lo") * pl.col("hi")).sqrt()).alias("mid")))
    data = pl.concat(parts).filter(pl.col("count") > 0)
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("mid:Q", scale=alt.Scale(type="log"), title="interval (ms, log scale)"),
        y=alt.Y("share:Q", scale=alt.Scale(type="log"), title="share of the group's intervals"),
        color=alt.Color(f"{by}:N"), tooltip=[f"{by}:N", "n:Q", "lo:Q", "hi:Q", "share:Q"])
    stall = alt.Chart(pl.DataFrame({"ms": [STALL_MS]})).mark_rule(
        color="gray", strokeDash=[4, 3]).encode(x="ms:Q")
    return (lines + stall).properties(title=f"Tick intervals by {by} (dashed: stall threshold)")


def qq_chart(qq: pl.DataFrame) -> alt.LayerChart:
    """Q–Q of rug ticks: Kaplan–Meier quantiles (with the band's) against the geometric law.

    Args:
        qq: `survival.survival_qq` output (`q`, `observed_tick`, `lo`, `hi`, `geometric_tick`).
    """
    require_columns(qq, ("q", "observed_tick", "lo", "hi", "geometric_tick"), table="qq")
    top = float(qq.select(pl.max_horizontal("observed_tick", "hi", "geometric_tick")).max()
                .item() or 1)
    base = alt.Chart(qq).encode(x=alt.X("geometric_tick:Q", title="geometric quantile (tick)"))
    bars = base.mark_rule().encode(y=alt.Y("lo:Q", title="observed quantile (tick)"), y2="hi:Q")
    pts = base.mark_point(filled=True).encode(
        y="observed_tick:Q", tooltip=["q:Q", "observed_tick:Q", "lo:Q", "hi:Q",
                                      "geometric_tick:Q"])
    diag = alt.Chart(pl.DataFrame({"a": [0.0, top], "b": [0.0, top]})).mark_line(
        color="gray", strokeDash=[4, 3]).encode(x="a:Q", y="b:Q")
    return (diag + bars + pts).properties(
        title="Rug tick Q–Q against the geometric law (bars: from the 95% Greenwood band)")


def effect_chart(table: pl.DataFrame, *, margin: float) -> alt.LayerChart:
    """Odds ratio per SD of each timing feature with its 95% interval, against 1 and the
    equivalence margin [1/margin, margin] (shaded).

    Args:
        table: `timing_hazard.timing_hazard_table` output (`feature`, `odds_ratio`, `lo`,
            `hi`, `verdict`).
    """
    require_columns(table, ("feature", "odds_ratio", "lo", "hi", "verdict"), table="effects")
    if margin <= 1:
        raise ConfigError(f"Invalid margin {margin!r}: expected an odds ratio > 1.")
    scale = alt.Scale(type="log")
    base = alt.Chart(table).encode(y=alt.Y("feature:N", title=None))
    bars = base.mark_rule().encode(x=alt.X("lo:Q", scale=scale, title="odds ratio per SD"),
                                   x2="hi:Q")
    pts = base.mark_point(filled=True).encode(
        x="odds_ratio:Q", color="verdict:N",
        tooltip=["feature:N", "odds_ratio:Q", "lo:Q", "hi:Q", "verdict:N"])
    zone = alt.Chart(pl.DataFrame({"a": [1 / margin], "b": [margin]})).mark_rect(
        opacity=0.15, color="green").encode(x="a:Q", x2="b:Q")
    one = alt.Chart(pl.DataFrame({"x": [1.0]})).mark_rule(color="gray").encode(x="x:Q")
    return (zone + one + bars + pts).properties(
        title="Timing and the rug hazard: odds ratio per SD (green: equivalence margin)")


def pit_histogram(pit: pl.DataFrame, *, bins: int = 10) -> alt.LayerChart:
    """Histogram of peak PITs with the uniform count expected under the generator.

    Args:
        pit: `peaks.peak_pit` output (`pit`).
    """
    require_columns(pit, ("pit",), table="peak_pit")
    if bins < 2:
        raise ConfigError(f"Invalid bins {bins!r}: expected ≥ 2.")
    u = pit["pit"].to_numpy()
    counts, edges = np.histogram(u, bins=bins, range=(0.0, 1.0))
    data = pl.DataFrame({"lo": edges[:-1], "hi": edges[1:], "count": counts.astype(np.int64)})
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("lo:Q", title="PIT: generator's P(peak < observed | rug tick)"), x2="hi:Q",
        y=alt.Y("count:Q", title="games"), y2=alt.datum(0), tooltip=["lo:Q", "hi:Q", "count:Q"])
    flat = alt.Chart(pl.DataFrame({"y": [u.size / bins]})).mark_rule(
        color="red", strokeDash=[4, 3]).encode(y="y:Q")
    return (bars + flat).properties(title=f"Peaks given the rug tick, {u.size} games "
                                          "(flat under the generator)")
