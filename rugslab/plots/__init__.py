"""Altair chart builders for the analysis frames. Each returns a chart; none displays it.

Inputs are the frames of `rugslab.analysis` and `rugslab.strategy` (columns named in each
builder). Large inputs are aggregated in polars before they reach Vega-Lite (histograms are
binned here, ensembles arrive as quantiles at checkpoints, long paths are thinned), so charts
stay under altair's 5,000-row default and notebooks stay small.

    timing     tick intervals (log histograms, by day or session), autocorrelation, drift,
               games per day
    hazard     the rug hazard, Kaplan–Meier survival and its Q–Q plot, rug ticks against the
               constant hazard, timing effects, the rug model's reliability diagram
    sidebet    side-bet EV by start tick
    strategy   bankroll and drawdown fans, risk of ruin, sweep heatmaps
    fair       replayed against recorded prices, peak survival, the peak PIT
    render     charts drawn with no network: SVG, the notebooks' chart output, HTML pages

Every builder is importable from here (`from rugslab import plots; plots.hazard_chart(curve)`);
`render` is imported by its own name (`from rugslab.plots.render import html_page`).
"""

from rugslab.plots._data import MAX_POINTS
from rugslab.plots.fair import peak_survival, pit_histogram, replay_chart
from rugslab.plots.hazard import (
    effect_chart,
    hazard_chart,
    qq_chart,
    reliability_diagram,
    rug_tick_distribution,
    survival_chart,
)
from rugslab.plots.sidebet import ev_by_start_tick
from rugslab.plots.strategy import bankroll_fan, drawdown_chart, ruin_curve_chart, sweep_heatmap
from rugslab.plots.timing import (
    autocorrelation_chart,
    drift_chart,
    games_per_day,
    interval_distribution_by,
    interval_histogram,
    log_bins,
)

__all__ = [
    "MAX_POINTS",
    "autocorrelation_chart",
    "bankroll_fan",
    "drawdown_chart",
    "drift_chart",
    "effect_chart",
    "ev_by_start_tick",
    "games_per_day",
    "hazard_chart",
    "interval_distribution_by",
    "interval_histogram",
    "log_bins",
    "peak_survival",
    "pit_histogram",
    "qq_chart",
    "reliability_diagram",
    "replay_chart",
    "rug_tick_distribution",
    "ruin_curve_chart",
    "survival_chart",
    "sweep_heatmap",
]
