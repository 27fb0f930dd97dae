"""Charts of the provably-fair generator against the recorded games: a replayed price path
over the recorded ticks, the survival of game peaks, and the PIT of real peaks given the rug
tick. Inputs come from `rugslab.fair`, `rugslab.notebook.replay_vs_recorded` and
`rugslab.analysis.peaks`.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import numpy as np
import polars as pl

from rugslab.analysis._frames import require_columns
from rugslab.errors import ConfigError
from rugslab.plots._data import MAX_POINTS, thin


def replay_chart(frame: pl.DataFrame, *, title: str = "Replayed vs recorded price"
                 ) -> alt.LayerChart:
    """A replayed price path (line) with the recorded ticks on top (points).

    Args:
        frame: one row per tick: `tick`, `replayed_x`, `recorded_x` (null where not recorded).
    """
    require_columns(frame, ("tick", "replayed_x", "recorded_x"), table="replay")
    base = alt.Chart(thin(frame, MAX_POINTS)).encode(x=alt.X("tick:Q"))
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
