-- Provably-fair status per game: commitment hash known, seed revealed, and whether sha256(seed) matched the hash (hash_ok).
SELECT
    g.game_id,
    g.date,
    coalesce(s.version, g.version) AS version,
    coalesce(s.server_seed_hash, g.server_seed_hash) AS server_seed_hash,
    s.server_seed IS NOT NULL AS seed_revealed,
    s.hash_ok,
    g.rug_tick,
    g.peak_x
FROM games AS g
LEFT JOIN seeds AS s USING (game_id)
ORDER BY g.game_id
