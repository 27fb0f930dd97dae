-- Paper runs (`rugslab paper`, `rugslab serve live --paper`), one row each from its paper_games: strategy and parameters, games observed, played (censored: end not seen; ended from a revealed path), skipped, orders, bets settled and void, bankroll at the start and after the last game, first and last frame times.
SELECT
    run_id,
    any_value(strategy_name) AS strategy_name,
    any_value(params_json) AS params_json,
    count(*) AS games_observed,
    count(*) FILTER (WHERE status = 'played') AS games_played,
    count(*) FILTER (WHERE ended_by = 'censored') AS games_censored,
    count(*) FILTER (WHERE ended_by = 'history') AS games_ended_from_history,
    count(*) FILTER (WHERE status = 'skipped') AS games_skipped,
    sum(orders) AS orders,
    sum(bets) AS bets,
    sum(voided) AS voided,
    arg_min(bankroll_start_sol, game_no) AS bankroll_start_sol,
    arg_max(bankroll_sol, game_no) AS bankroll_sol,
    min(seen_ts) AS first_seen_ts,
    max(coalesce(ended_ts, seen_ts)) AS last_seen_ts
FROM paper_games
GROUP BY run_id
ORDER BY first_seen_ts, run_id
