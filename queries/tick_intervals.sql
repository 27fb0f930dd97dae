-- Receive-time interval between consecutive live ticks of each game: interval_ms (receiver clock) and ticks_apart (1 unless ticks were missed). Ticks past the game's rug_tick (a lone second rug frame's row) are left out. One row per live tick (a year: ~100M), in no particular order: the view does not sort them (sorting a year took longer than computing it, bench/README), so add ORDER BY game_id, tick when the order matters.
SELECT
    game_id,
    tick,
    prev_tick,
    tick - prev_tick AS ticks_apart,
    (epoch_us(recv_ts) - epoch_us(prev_recv_ts)) / 1000.0 AS interval_ms
FROM (
    SELECT
        t.game_id,
        t.tick,
        t.recv_ts,
        lag(t.tick) OVER w AS prev_tick,
        lag(t.recv_ts) OVER w AS prev_recv_ts
    FROM ticks AS t
    LEFT JOIN (SELECT game_id, min(rug_tick) AS rug_tick FROM games GROUP BY game_id) AS g
        USING (game_id)
    WHERE t.source = 'live' AND t.recv_ts IS NOT NULL
        AND (g.rug_tick IS NULL OR t.tick <= g.rug_tick)
    WINDOW w AS (PARTITION BY t.game_id ORDER BY t.tick)
)
WHERE prev_tick IS NOT NULL
