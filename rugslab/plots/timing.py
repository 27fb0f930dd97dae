"""Charts of tick timing on the receiver's clock: interval histograms on a log axis (overall,
and by day or recording session), the autocorrelation of intervals, their drift over periods,
and the games recorded per day. Inputs are the frames of `rugslab.analysis.timing` and
`timing_series`.
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import numpy as np
import polars as pl

from rugslab.analysis._frames import require_columns
from rugslab.analysis.timing import BURST_MS, STALL_MS, recording_sessions
from rugslab.errors import ConfigError
from rugslab.feed.rules import NOMINAL_TICK_MS
from rugslab.plots._data import binned


def log_bins(values: np.ndarray, *, floor_ms: float = 1.0, per_decade: int = 20
             ) -> pl.DataFrame:
    """Counts of `values` in log-spaced bins from `floor_ms` up (values ≤ floor_ms, the clock's
    steps back included, pooled into the first bin): `lo`, `hi`, `count`, `share`."""
    x = np.asarray(values, dtype=float)
    top = max(float(np.nanmax(x)) if x.size else floor_ms * 10, floor_ms * 10)
    edges = np.logspace(np.log10(floor_ms), np.log10(top * 1.0001),
                        max(2, int(np.ceil(np.log10(top / floor_ms) * per_decade)) + 1))
    data = binned(np.clip(x, edges[0], edges[-1] * 0.9999), edges)
    return data.with_columns((pl.col("count") / max(x.size, 1)).alias("share"))


def interval_histogram(intervals: pl.DataFrame, *, per_decade: int = 20,
                       floor_ms: float = 1.0) -> alt.LayerChart:
    """Histogram of `interval_ms` on a log axis (log-spaced bins), with rules at the burst,
    nominal and stall marks and the stalls counted in the stall rule's label.

    Args:
        intervals: `timing.tick_intervals` output.
        per_decade: bins per factor of 10; floor_ms: the first bin holds everything below it
            (bursts of a few ms, the receiver clock's steps back).
    """
    require_columns(intervals, ("interval_ms",), table="intervals")
    if per_decade < 1 or floor_ms <= 0:
        raise ConfigError(f"Invalid per_decade {per_decade!r} / floor_ms {floor_ms!r}: need "
                          "per_decade ≥ 1 and floor_ms > 0.")
    x = intervals["interval_ms"].drop_nulls().to_numpy()
    data = log_bins(x, floor_ms=floor_ms, per_decade=per_decade)
    stalls = int(np.sum(x > STALL_MS))
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("lo:Q", title="interval (ms, log scale)", scale=alt.Scale(type="log")),
        x2="hi:Q",
        y=alt.Y("count:Q", title="intervals"), y2=alt.datum(0),  # bars from 0 up
        tooltip=["lo:Q", "hi:Q", "count:Q", "share:Q"],
    )
    marks = pl.DataFrame({
        "ms": [BURST_MS, NOMINAL_TICK_MS, STALL_MS],
        "mark": [f"burst < {BURST_MS:g}", f"nominal {NOMINAL_TICK_MS:g}",
                 f"stalls > {STALL_MS:g}: {stalls}"]})
    rules = alt.Chart(marks).mark_rule(strokeDash=[4, 3], color="gray").encode(
        x="ms:Q", tooltip=["mark:N"])
    labels = alt.Chart(marks).mark_text(align="left", dx=3, dy=-4, baseline="top",
                                        color="gray").encode(
        x="ms:Q", y=alt.value(0), text="mark:N")
    return (bars + rules + labels).properties(
        title=f"Tick intervals (receiver clock), {x.size:,} intervals, {stalls} stalls")


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


def autocorrelation_chart(acf: pl.DataFrame) -> alt.LayerChart:
    """Autocorrelation by lag with its interval bars and a zero rule.

    Args:
        acf: `timing_series.interval_autocorrelation` output (`lag`, `acf`, `lo`, `hi`: 95%,
            resampling whole games).
    """
    require_columns(acf, ("lag", "acf", "lo", "hi"), table="autocorrelation")
    base = alt.Chart(acf).encode(x=alt.X("lag:O", title="lag (ticks)"))
    bars = base.mark_rule().encode(y=alt.Y("lo:Q", title="autocorrelation"), y2="hi:Q")
    pts = base.mark_point(filled=True).encode(y="acf:Q",
                                               tooltip=["lag:O", "n_pairs:Q", "acf:Q"])
    zero = alt.Chart(pl.DataFrame({"y": [0.0]})).mark_rule(color="gray").encode(y="y:Q")
    return (zero + bars + pts).properties(
        title="Tick-interval autocorrelation (bars: 95%, games resampled)")


def _segments(frame: pl.DataFrame, x: str) -> pl.Series:
    """Run id along sorted `x`: a new run after a step longer than the shortest step (a
    period without data), so lines do not join across gaps."""
    col = frame[x]
    v = col.to_physical().cast(pl.Float64) if col.dtype.is_temporal() else col.cast(pl.Float64)
    step = v.diff()
    positive = step.filter(step > 0).to_numpy()
    if positive.size == 0:
        return pl.Series("run", [0] * frame.height, dtype=pl.Int64)
    return (step > 1.5 * float(positive.min())).fill_null(False).cast(pl.Int64).cum_sum().rename(
        "run")


def drift_chart(drift: pl.DataFrame, *, x: str = "period_start") -> alt.LayerChart:
    """Median and mean interval per period (or hour / weekday / day), as points joined by lines
    only between neighbouring periods: a period without data (a night, the days between
    recordings) breaks the line.

    Args:
        drift: `timing.interval_drift`, `interval_profile` or `interval_breakdown` output; `x`
            names its key column.
    """
    require_columns(drift, (x, "mean_ms", "median_ms", "n"), table="drift")
    d = drift.sort(x)
    data = d.with_columns(_segments(d, x)).select(
        x, "n", "run", "median_ms", "mean_ms").unpivot(
        index=[x, "n", "run"], variable_name="statistic", value_name="ms")
    kind = "T" if data.schema[x].is_temporal() else "O"
    base = alt.Chart(data).encode(
        x=alt.X(f"{x}:{kind}", title=x), y=alt.Y("ms:Q", title="interval (ms)"),
        color="statistic:N", tooltip=[f"{x}:{kind}", "statistic:N", "ms:Q", "n:Q"])
    lines = base.mark_line().encode(detail="run:N")
    return (lines + base.mark_point()).properties(title=f"Tick interval by {x}")


def games_per_day(games: pl.DataFrame) -> alt.Chart:
    """Games per UTC day, stacked by origin.

    Args:
        games: one row per game with `date` and `origin` (`rugslab.notebook.Lab.games`).
    """
    require_columns(games, ("date", "origin"), table="games")
    data = games.group_by("date", "origin").len("games").sort("date", "origin")
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("date:O", title="date (UTC)"), y=alt.Y("games:Q", title="games"),
        color="origin:N", tooltip=["date:O", "origin:N", "games:Q"],
    ).properties(title="Games per day by origin")
