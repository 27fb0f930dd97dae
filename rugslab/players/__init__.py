"""Player ledgers rebuilt from the feed and reconciled against the server's leaderboard
(`ledger`: the server's conventions and their evidence; `games`: `player_games` rows;
`reconcile`: `player_reconciliation` rows)."""
