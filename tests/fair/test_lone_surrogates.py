"""Seeds a JavaScript string can hold, lone UTF-16 surrogates included: `rugslab fair replay`
reads and writes them, and the replay and the seed hash equal the published JavaScript's.

Golden values: Node 20 with seedrandom 3.0.5 through tests/fair/golden/rugs_game.js, and
`crypto.createHash("sha256").update(seed)`, for seed "ab\\ud800cd" and game
20251212-eec31b1b16194f08, v3 (2026-12-03).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rugslab.fair import replay_game
from rugslab.feed.rules import hash_matches, seed_hash

SEED = "ab\ud800cd"
GAME = "20251212-eec31b1b16194f08"
JS_PRICES_0_3 = [1.0, 1.0125592983517762, 1.0340460119838086, 1.0254670404217767]
JS_TOTAL_TICKS = 18
JS_PEAK = 1.53085405030065
JS_HASH = "507e708296690cedd811a6dcc01e1c84e83ad3f220fb77937b31fa504b22db5f"


def test_the_replay_and_the_hash_of_a_lone_surrogate_seed_equal_javascripts() -> None:
    game = replay_game(SEED, GAME, "v3")
    assert game.prices[:4] == JS_PRICES_0_3
    assert (game.total_ticks, game.peak_multiplier) == (JS_TOTAL_TICKS, JS_PEAK)
    assert seed_hash(SEED) == JS_HASH
    assert hash_matches(SEED, JS_HASH) is True
    # a real (hex) seed: UTF-8 and ASCII bytes agree
    real = "7f122ef95df0fd17c3d84cb87da28098078d8fc7202eda326582b4a35ef3c5e4"
    assert seed_hash(real) == seed_hash(real.encode().decode("ascii"))


def test_fair_replay_reads_and_writes_a_lone_surrogate_seed(tmp_path: Path) -> None:
    line = json.dumps({"server_seed": SEED, "game_id": GAME, "version": "v3"})
    assert "\\ud800" in line  # as JavaScript's JSON.stringify writes it
    requests = tmp_path / "requests.jsonl"
    requests.write_text(line + "\n")
    run = subprocess.run([sys.executable, "-m", "rugslab", "fair", "replay", str(requests)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    (out,) = run.stdout.splitlines()
    got = json.loads(out)
    assert got["server_seed"] == SEED
    assert got["prices"][:4] == JS_PRICES_0_3 and got["total_ticks"] == JS_TOTAL_TICKS
