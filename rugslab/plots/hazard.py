"""Charts of the rug hazard and the models of it: the hazard per tick against the constant
null, Kaplan–Meier survival and its Q–Q plot against the geometric law, the rug-tick histogram,
the timing effects against their equivalence margin, and the rug model's reliability diagram.
Inputs are the frames of `rugslab.analysis.hazard`, `survival`, `timing_hazard` and
`calibration`.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import numpy as np
import polars as pl

from rugslab.analysis._frames import require_columns
from rugslab.analysis.calibration import Calibration
from rugslab.errors import ConfigError
from rugslab.feed.rules import RUG_PROB_PER_TICK
from rugslab.plots._data import MAX_POINTS, binned, thin


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


def survival_chart(km: pl.DataFrame) -> alt.LayerChart:
    """Kaplan–Meier survival P(no rug by tick t) with its band, against the geometric law.

    Args:
        km: `survival.kaplan_meier` output (`tick`, `survival`, `lo`, `hi`, `geometric`).
    """
    require_columns(km, ("tick", "survival", "lo", "hi", "geometric"), table="kaplan_meier")
    data = thin(km.sort("tick"), MAX_POINTS)
    base = alt.Chart(data).encode(x=alt.X("tick:Q"))
    band = base.mark_area(opacity=0.25, interpolate="step-after").encode(
        y=alt.Y("lo:Q", title="P(no rug by tick)"), y2="hi:Q")
    km_line = base.mark_line(interpolate="step-after").encode(
        y="survival:Q", tooltip=["tick:Q", "survival:Q", "lo:Q", "hi:Q"])
    geo = base.mark_line(color="red", strokeDash=[4, 3]).encode(y="geometric:Q")
    return (band + km_line + geo).properties(
        title="Kaplan–Meier survival, 95% pointwise Greenwood band; red: geometric law")


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
    data = binned(np.clip(t, 1, edges[-1] - 1), edges)
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
