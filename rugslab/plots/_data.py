"""The data a chart carries, made small in polars before it reaches Vega-Lite (histograms
binned, long paths thinned), so charts stay under altair's 5,000-row default and notebooks stay
small. Shared by the chart builders of `rugslab.plots`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

#: The most rows a long path (a survival curve, a replay, an exact ruin curve) keeps.
MAX_POINTS = 4000


def binned(values: np.ndarray, edges: np.ndarray) -> pl.DataFrame:
    """Counts of `values` between consecutive `edges`: `lo`, `hi`, `count`."""
    counts, _ = np.histogram(values, bins=edges)
    return pl.DataFrame({"lo": edges[:-1], "hi": edges[1:], "count": counts.astype(np.int64)})


def thin(frame: pl.DataFrame, limit: int) -> pl.DataFrame:
    """Every k-th row of `frame` and its last, so at most about `limit` rows remain."""
    if frame.height <= limit:
        return frame
    step = -(-frame.height // limit)
    idx = pl.int_range(pl.len())
    return frame.filter((idx % step == 0) | (idx == pl.len() - 1))
