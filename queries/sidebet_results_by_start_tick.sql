-- Resolved side bets per start tick (practice and real apart): bets, wins, win rate, stake, payout, and payout per unit staked (return_x).
SELECT
    start_tick,
    practice,
    count(*) AS bets,
    count(*) FILTER (WHERE won) AS wins,
    avg(CASE WHEN won THEN 1.0 ELSE 0.0 END) AS win_rate,
    sum(bet_amount_sol) AS stake_sol,
    sum(payout_sol) AS payout_sol,
    sum(profit_sol) AS profit_sol,
    sum(payout_sol) / nullif(sum(bet_amount_sol), 0) AS return_x
FROM side_bets
WHERE resolved
GROUP BY start_tick, practice
ORDER BY start_tick, practice
