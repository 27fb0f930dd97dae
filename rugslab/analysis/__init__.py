"""Analysis library: functions that take lake tables (polars frames) and return frames or dicts.

    timing     receive-time intervals between ticks: stats, drift, autocorrelation, anomalies,
               the wall-clock duration of a 40-tick side-bet window
    hazard     per-tick rug hazard with left truncation and right censoring, the constant-hazard
               test, the timing-adjusted rug model and its calibration
    sidebet    the resolution rule, analytic / empirical / Monte Carlo win rate and EV

Backtests of strategies live in `rugslab.strategy` (a streaming engine on ensembles of
independent bankrolls).

Notebooks import from these modules and only display; charts live in `rugslab.plots`.
"""
