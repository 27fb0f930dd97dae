-- Games per UTC day: games seen, seen live, rugged (and with a known rug tick), revealed seeds, complete tick paths, mean rug tick and median peak.
SELECT
    date,
    count(*) AS games,
    count(*) FILTER (WHERE seen_live) AS games_seen_live,
    count(*) FILTER (WHERE rugged OR rug_tick IS NOT NULL) AS games_rugged,
    count(rug_tick) AS games_rug_tick_known,
    count(*) FILTER (WHERE revealed) AS games_revealed,
    count(*) FILTER (WHERE completeness = 'complete') AS games_complete,
    avg(rug_tick) AS mean_rug_tick,
    median(peak_x) AS median_peak_x
FROM games
GROUP BY date
ORDER BY date
