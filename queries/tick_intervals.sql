-- Receive-time interval between consecutive live ticks of each game: interval_ms (receiver clock) and ticks_apart (1 unless ticks were missed).
SELECT
    game_id,
    tick,
    prev_tick,
    tick - prev_tick AS ticks_apart,
    (epoch_us(recv_ts) - epoch_us(prev_recv_ts)) / 1000.0 AS interval_ms
FROM (
    SELECT
        game_id,
        tick,
        recv_ts,
        lag(tick) OVER w AS prev_tick,
        lag(recv_ts) OVER w AS prev_recv_ts
    FROM ticks
    WHERE source = 'live' AND recv_ts IS NOT NULL
    WINDOW w AS (PARTITION BY game_id ORDER BY tick)
)
WHERE prev_tick IS NOT NULL
ORDER BY game_id, tick
