"""Altair chart builders for the analysis frames. Each returns a chart; none displays it.

Inputs are the frames of `rugslab.analysis` (columns named below). Large inputs are aggregated
in polars before they reach Vega-Lite (histograms are binned here, long bankroll paths thinned),
so charts stay under altair's 5,000-row default and notebooks stay small.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import altair as alt
import numpy as np
import polars as pl

from rugslab.analysis._frames import require_columns
from rugslab.analysis.backtest import BacktestResult
from rugslab.analysis.calibration import Calibration
from rugslab.analysis.timing import BURST_MS, STALL_MS
from rugslab.errors import ConfigError
from rugslab.feed.rules import NOMINAL_TICK_MS, RUG_PROB_PER_TICK

MAX_POINTS = 4000


def _binned(values: np.ndarray, edges: np.ndarray) -> pl.DataFrame:
    counts, _ = np.histogram(values, bins=edges)
    return pl.DataFrame({"lo": edges[:-1], "hi": edges[1:], "count": counts.astype(np.int64)})


def log_bins(values: np.ndarray, *, floor_ms: float = 1.0, per_decade: int = 20
             ) -> pl.DataFrame:
    """Counts of `values` in log-spaced bins from `floor_ms` up (values ≤ floor_ms, the clock's
    steps back included, pooled into the first bin): `lo`, `hi`, `count`, `share`."""
    x = np.asarray(values, dtype=float)
    top = max(float(np.nanmax(x)) if x.size else floor_ms * 10, floor_ms * 10)
    edges = np.logspace(np.log10(floor_ms), np.log10(top * 1.0001),
                        max(2, int(np.ceil(np.log10(top / floor_ms) * per_decade)) + 1))
    data = _binned(np.clip(x, edges[0], edges[-1] * 0.9999), edges)
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


def hazard_chart(curve: pl.DataFrame, *, p_null: float = RUG_PROB_PER_TICK) -> alt.LayerChart:
    """Hazard per tick or per bin as steps over the ticks each row covers, with its interval as
    a box and the constant null as a rule; the pooled tail is drawn over the whole tail.

    Args:
        curve: `hazard.hazard_curve` or `binned_hazard` output (`tick`, `hazard`, `lo`, `hi`,
            `at_risk`, optional `last_tick` (the last tick of the row), `pooled`).
    """
    require_columns(curve, ("tick", "hazard", "lo", "hi", "at_risk"), table="hazard_curve")
    last = pl.col("last_tick") if "last_tick" in curve.columns else pl.col("tick")
    pooled = pl.col("pooled") if "pooled" in curve.columns else pl.lit(False)
    data = curve.filter(pl.col("at_risk") > 0).with_columns(
        (last + 1).alias("end"),
        pl.when(pooled).then(pl.format("pooled tail, ticks {}–{}", "tick", last))
        .otherwise(pl.lit("per tick or bin")).alias("part"),
    )
    base = alt.Chart(data).encode(
        x=alt.X("tick:Q", title="tick"), x2="end:Q",
        color=alt.Color("part:N", title=None, scale=alt.Scale(range=["steelblue", "gray"])),
        tooltip=["tick:Q", "end:Q", "at_risk:Q", "hazard:Q", "lo:Q", "hi:Q", "part:N"])
    band = base.mark_rect(opacity=0.25).encode(y=alt.Y("lo:Q", title="hazard per tick"),
                                               y2="hi:Q")
    step = base.mark_rule(strokeWidth=2).encode(y="hazard:Q")
    null = alt.Chart(pl.DataFrame({"p": [p_null]})).mark_rule(color="red", strokeDash=[4, 3])
    return (band + step + null.encode(y="p:Q")).properties(
        title="Rug hazard h(t), 95% binomial intervals per row")


def reliability_diagram(cal: Calibration | Mapping[str, Calibration]) -> alt.LayerChart:
    """Observed rate against mean prediction per bin, with its bars and the diagonal, zoomed
    to the range of the predictions (bars beyond it are clipped at the frame).

    Args:
        cal: one `calibration.Calibration` or several by model name; the title names the
            bars' interval (game bootstrap or Wilson).
    """
    cals = {"model": cal} if isinstance(cal, Calibration) else dict(cal)
    data = pl.concat([c.table.with_columns(pl.lit(name).alias("model"))
                      for name, c in cals.items()])
    # zoom on the predictions: the bars may run further, clipped at the frame
    pred = data["mean_pred"].to_numpy()
    pad = max(0.25 * float(pred.max() - pred.min()), 0.01)
    dom = [max(0.0, float(pred.min()) - pad), min(1.0, float(pred.max()) + pad)]
    scale = alt.Scale(domain=dom, clamp=True)
    how = ", ".join(sorted(set(data["interval"].drop_nulls().to_list()))) if (
        "interval" in data.columns) else "wilson"
    base = alt.Chart(data).encode(
        x=alt.X("mean_pred:Q", title="predicted P(rug within 40)", scale=scale),
        color="model:N",
    )
    pts = base.mark_point(filled=True).encode(
        y=alt.Y("observed:Q", title="observed rate", scale=scale),
        tooltip=["model:N", "n:Q", "mean_pred:Q", "observed:Q", "lo:Q", "hi:Q"])
    bars = base.mark_rule().encode(y="lo:Q", y2="hi:Q")
    diag = alt.Chart(pl.DataFrame({"a": dom, "b": dom})).mark_line(
        color="gray", strokeDash=[4, 3]).encode(x="a:Q", y="b:Q")
    return (diag + bars + pts).properties(
        title=f"Reliability diagram (bars: 95%, {how})")


def ev_by_start_tick(frames: Mapping[str, pl.DataFrame], *,
                     band: Literal["pointwise", "simultaneous"] = "pointwise") -> alt.LayerChart:
    """EV per unit stake by start tick for several sources (analytic, empirical, Monte Carlo),
    with interval bands where given, and the breakeven line at 0.

    Args:
        frames: source name → frame with `start_tick`, `ev_per_stake` and optional `ev_lo`,
            `ev_hi` (pointwise) and `ev_band_lo`, `ev_band_hi` (simultaneous)
            (`sidebet.analytic_sidebet_ev`, `empirical_win_rate`, `montecarlo_sidebet_ev`).
        band: which band to draw; the title says which. Pointwise: each start tick's 95%
            interval on its own (overlapping windows: do not read several at once);
            simultaneous: all start ticks of a source together at 95% (sources without one
            show their pointwise band).
    """
    if band not in ("pointwise", "simultaneous"):
        raise ConfigError(f"Invalid band {band!r}: expected 'pointwise' or 'simultaneous'.")
    parts = []
    for name, f in frames.items():
        require_columns(f, ("start_tick", "ev_per_stake"), table=name)
        lo, hi = ("ev_band_lo", "ev_band_hi") if (
            band == "simultaneous" and "ev_band_lo" in f.columns) else ("ev_lo", "ev_hi")
        g = f.select(
            pl.col("start_tick").cast(pl.Int64), pl.col("ev_per_stake").cast(pl.Float64),
            *(pl.col(c).cast(pl.Float64).alias(a) if c in f.columns
              else pl.lit(None, pl.Float64).alias(a) for c, a in ((lo, "ev_lo"), (hi, "ev_hi"))),
        )
        parts.append(g.with_columns(pl.lit(name).alias("source")))
    data = pl.concat(parts)
    base = alt.Chart(data).encode(x=alt.X("start_tick:Q", title="start tick"), color="source:N")
    area = base.transform_filter("isValid(datum.ev_lo)").mark_area(opacity=0.2).encode(
        y="ev_lo:Q", y2="ev_hi:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y("ev_per_stake:Q", title="EV per unit stake"),
        tooltip=["source:N", "start_tick:Q", "ev_per_stake:Q", "ev_lo:Q", "ev_hi:Q"])
    zero = alt.Chart(pl.DataFrame({"y": [0.0]})).mark_rule(color="gray").encode(y="y:Q")
    what = ("pointwise 95% (each start tick alone)" if band == "pointwise"
            else "simultaneous 95% (all start ticks together)")
    return (area + line + zero).properties(
        title=f"Side-bet EV by start tick (breakeven at 0); bands: {what}")


def _thin(frame: pl.DataFrame, limit: int) -> pl.DataFrame:
    if frame.height <= limit:
        return frame
    step = -(-frame.height // limit)
    idx = pl.int_range(pl.len())
    return frame.filter((idx % step == 0) | (idx == pl.len() - 1))


def bankroll_paths(results: Mapping[str, BacktestResult] | list[BacktestResult]
                   ) -> alt.Chart:
    """Bankroll after each game, one line per strategy (each path thinned to ≤ 4000 points
    / number of strategies, always keeping the last game)."""
    items = results.items() if isinstance(results, Mapping) else [
        (r.strategy, r) for r in results]
    items = list(items)
    if not items:
        raise ConfigError("bankroll_paths needs at least one BacktestResult.")
    limit = max(2, MAX_POINTS // len(items))
    data = pl.concat([
        _thin(pl.concat([
            pl.DataFrame({"game_index": [-1], "bankroll_sol": [r.start_sol]},
                         schema={"game_index": pl.Int64, "bankroll_sol": pl.Float64}),
            r.bankroll.select("game_index", "bankroll_sol")]), limit)
        .with_columns(pl.lit(name).alias("strategy"))
        for name, r in items
    ])
    return alt.Chart(data).mark_line().encode(
        x=alt.X("game_index:Q", title="game"),
        y=alt.Y("bankroll_sol:Q", title="bankroll (SOL)"),
        color="strategy:N",
        tooltip=["strategy:N", "game_index:Q", "bankroll_sol:Q"],
    ).properties(title="Bankroll paths")


def rug_tick_distribution(rug_ticks: pl.Series | np.ndarray, *, bin_ticks: int = 10,
                          max_tick: int = 1000, p: float = RUG_PROB_PER_TICK) -> alt.LayerChart:
    """Histogram of rug ticks (ticks ≥ max_tick pooled in the last bin) against the count the
    constant hazard `p` predicts per bin, n·[(1-p)^(lo-1) - (1-p)^(hi-1)] for ticks lo..hi-1."""
    t = np.asarray(rug_ticks.drop_nulls() if isinstance(rug_ticks, pl.Series) else rug_ticks,
                   dtype=float)
    t = t[~np.isnan(t)]
    if bin_ticks < 1 or max_tick <= bin_ticks:
        raise ConfigError(f"Invalid bin_ticks {bin_ticks!r} / max_tick {max_tick!r}.")
    edges = np.arange(1, max_tick + bin_ticks + 1, bin_ticks, dtype=float)
    data = _binned(np.clip(t, 1, edges[-1] - 1), edges)
    lo, hi = data["lo"].to_numpy(), data["hi"].to_numpy()
    expected = t.size * ((1 - p) ** (lo - 1) - (1 - p) ** (hi - 1))
    expected[-1] = t.size * (1 - p) ** (lo[-1] - 1)  # the pooled tail
    data = data.with_columns(pl.Series("expected", expected))
    bars = alt.Chart(data).mark_bar(opacity=0.7).encode(
        x=alt.X("lo:Q", title="rug tick"), x2="hi:Q", y=alt.Y("count:Q", title="games"),
        y2=alt.datum(0),
        tooltip=["lo:Q", "hi:Q", "count:Q", "expected:Q"])
    line = alt.Chart(data).mark_line(color="red").encode(x="lo:Q", y="expected:Q")
    return (bars + line).properties(title=f"Rug ticks vs constant hazard p = {p}")


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


def survival_chart(km: pl.DataFrame) -> alt.LayerChart:
    """Kaplan–Meier survival P(no rug by tick t) with its band, against the geometric law.

    Args:
        km: `survival.kaplan_meier` output (`tick`, `survival`, `lo`, `hi`, `geometric`).
    """
    require_columns(km, ("tick", "survival", "lo", "hi", "geometric"), table="kaplan_meier")
    data = _thin(km.sort("tick"), MAX_POINTS)
    base = alt.Chart(data).encode(x=alt.X("tick:Q"))
    band = base.mark_area(opacity=0.25, interpolate="step-after").encode(
        y=alt.Y("lo:Q", title="P(no rug by tick)"), y2="hi:Q")
    km_line = base.mark_line(interpolate="step-after").encode(
        y="survival:Q", tooltip=["tick:Q", "survival:Q", "lo:Q", "hi:Q"])
    geo = base.mark_line(color="red", strokeDash=[4, 3]).encode(y="geometric:Q")
    return (band + km_line + geo).properties(
        title="Kaplan–Meier survival, 95% pointwise Greenwood band; red: geometric law")


def replay_chart(frame: pl.DataFrame, *, title: str = "Replayed vs recorded price"
                 ) -> alt.LayerChart:
    """A replayed price path (line) with the recorded ticks on top (points).

    Args:
        frame: one row per tick: `tick`, `replayed_x`, `recorded_x` (null where not recorded).
    """
    require_columns(frame, ("tick", "replayed_x", "recorded_x"), table="replay")
    base = alt.Chart(_thin(frame, MAX_POINTS)).encode(x=alt.X("tick:Q"))
    line = base.mark_line(color="steelblue").encode(
        y=alt.Y("replayed_x:Q", title="price (x start)"))
    pts = base.transform_filter("isValid(datum.recorded_x)").mark_point(
        color="orange", size=12).encode(y="recorded_x:Q",
                                        tooltip=["tick:Q", "replayed_x:Q", "recorded_x:Q"])
    return (line + pts).properties(title=title)


def peak_survival(peaks: Mapping[str, np.ndarray | pl.Series], *,
                  levels: np.ndarray | None = None) -> alt.Chart:
    """P(peak ≥ x) on a log x axis for several samples of game peaks (multipliers).

    Args:
        peaks: sample name → peaks; `levels`: the x grid (default 1 .. 1000, log spaced).
    """
    grid = np.geomspace(1.0, 1000.0, 61) if levels is None else np.asarray(levels, float)
    parts = []
    for name, v in peaks.items():
        x = np.sort(np.asarray(v.drop_nulls() if isinstance(v, pl.Series) else v, float))
        if x.size == 0:
            continue
        share = 1.0 - np.searchsorted(x, grid, side="left") / x.size
        parts.append(pl.DataFrame({"peak_x": grid, "share": share, "sample": name,
                                   "n": x.size}).filter(pl.col("share") > 0))  # log axis
    if not parts:
        raise ConfigError("peak_survival needs at least one non-empty sample of peaks.")
    return alt.Chart(pl.concat(parts)).mark_line().encode(
        x=alt.X("peak_x:Q", scale=alt.Scale(type="log"), title="peak (x start)"),
        y=alt.Y("share:Q", scale=alt.Scale(type="log"), title="P(peak ≥ x)"),
        color="sample:N", tooltip=["sample:N", "n:Q", "peak_x:Q", "share:Q"],
    ).properties(title="Peak multiplier: share of games reaching x")
