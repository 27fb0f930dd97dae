"""Analysis library: functions that take lake tables (polars frames) and return frames or dicts.

    resample   the cluster bootstrap (resample whole games) every interval over rows uses
    timing     receive-time intervals between ticks: robust stats, stalls, sessions, drift,
               anomalies, catch-up bursts
    timing_series  autocorrelation within games, the duration of a 40-tick window
    hazard     per-tick rug hazard with left truncation and right censoring, the constant-hazard
               test, the pooled hazard
    survival   Kaplan–Meier, Nelson–Aalen, Weibull, Q–Q, trend test (lifelines, statsmodels)
    timing_hazard  does timing move the hazard: hazard regression and equivalence verdict
    rugmodel   the timing-adjusted "rug within 40 ticks" model, splits
    calibration  Brier, log loss, reliability, model comparisons on held-out games
    sidebet    the resolution rule, analytic / empirical / Monte Carlo win rate and EV, real bets
    power      games needed to tell the side bet from breakeven
    peaks      real peaks against the generator given the rug tick
    headline   the lake's headline numbers (for `rugslab report`)
    backtest   the Strategy protocol, game paths and the bankroll engine
    strategies side-bet and trading strategies for the engine
    metrics    ROI, hit rate, EV per bet, drawdown, risk of ruin, Sharpe per game

Notebooks import from these modules and only display; charts live in `rugslab.plots`.
"""
