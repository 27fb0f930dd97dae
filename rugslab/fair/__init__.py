"""Provably fair: bit-exact replay of rugs.fun games from their revealed server seeds.

    seedrandom  `SeedRandom`: David Bau's seedrandom (default ARC4) in plain Python
    game        `replay_game` → `GamePath`: the v1/v2/v3 price path (the reference)
    fast        `replay_games` / `replay_game_fast`: the same, compiled with numba
    jsonl       `replay_jsonl`: JSON-lines requests → paths (`rugslab fair replay`)
    verify      `verify_games`: seed hash, path, peak and rug tick checks (of a whole lake:
                `rugslab.lake.verify.verify_lake`)

Source: `../shared/PROTOCOL.md`, "Provably fair".
"""

from rugslab.fair.fast import ReplayBatch, replay_game_fast, replay_games
from rugslab.fair.game import GamePath, replay_game
from rugslab.fair.seedrandom import SeedRandom
from rugslab.feed.rules import seed_hash

__all__ = [
    "GamePath",
    "ReplayBatch",
    "SeedRandom",
    "replay_game",
    "replay_game_fast",
    "replay_games",
    "seed_hash",
]
