"""`rugslab backtest`: --list, JSON keys, the lake source, and errors that name the fix."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from rugslab.cli import main
from rugslab.lake.writer import write_batch
from rugslab.tables.batch import RowBatch

KEYS = {"ev_per_bet", "ev_per_bet_lo", "ev_per_bet_hi", "ruin_probability",
        "ruin_probability_lo", "ruin_probability_hi", "bets", "paths", "games",
        "final_bankroll_p05", "final_bankroll_p50", "final_bankroll_p95", "max_drawdown_p50"}
T0 = dt.datetime(2025, 12, 12, 17, tzinfo=dt.UTC)


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["backtest", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_list_shows_every_strategy_with_its_parameters(capsys) -> None:
    assert main(["backtest", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("sidebet-fixed", "sidebet-martingale", "sidebet-kelly", "trade-target"):
        assert f"{name}: " in out
    assert "    start_tick=10  tick at which to bet" in out and "    stake=0.1" in out


def test_json_has_the_promised_keys_and_the_exact_reference(capsys) -> None:
    d = _json(["sidebet-fixed", "--param", "stake=0.1", "-p", "start_tick=20", "--paths", "50",
               "--games", "40", "--bankroll", "1", "--seed", "3"], capsys)
    assert set(d) >= KEYS
    assert (d["paths"], d["games"], d["params"]) == (50, 40, {"start_tick": 20, "stake": 0.1})
    assert d["exact_ev_per_bet"] == pytest.approx(5 * (1 - 0.995**40) - 1)
    assert d["ev_per_bet_lo"] < d["ev_per_bet"] < d["ev_per_bet_hi"]
    assert 0 <= d["ruin_probability_lo"] <= d["ruin_probability"] <= d["ruin_probability_hi"]
    again = _json(["sidebet-fixed", "--paths", "50", "--games", "40", "--bankroll", "1",
                   "--seed", "3", "-p", "start_tick=20"], capsys)
    assert again == d  # the same seed, the same numbers


def test_too_few_paths_print_null_intervals_with_the_reason(capsys) -> None:
    d = _json(["sidebet-martingale", "--paths", "3", "--games", "20"], capsys)
    assert d["ev_per_bet"] is not None and d["ev_per_bet_lo"] is None
    assert d["ev_per_bet_note"].startswith("n too small: 3 path(s)")
    assert main(["backtest", "trade-target", "--paths", "3", "--games", "5"]) == 0
    assert "no interval: n too small" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["sidebet-fixed", "--param", "stke=1"],
     "Unknown --param stke='1' for sidebet-fixed: expected one of start_tick, stake."),
    (["sidebet-fixed", "-p", "start_tick=-4"],
     "Invalid --param start_tick='-4' for sidebet-fixed: expected a whole number ≥ 0 and ≤ 5000."),
    (["sidebet-kelly", "-p", "fraction=abc"],
     "Invalid --param fraction='abc' for sidebet-kelly: expected a number > 0 and ≤ 1."),
    (["sidebet-fixed", "-p", "stake"], "Invalid --param 'stake': expected KEY=VALUE"),
    (["martingale"], "Unknown strategy 'martingale': expected one of sidebet-fixed"),
    ([], "Missing STRATEGY"),
    (["sidebet-fixed", "--paths", "0"], "Invalid --paths 0: expected a finite number > 0."),
    (["sidebet-fixed", "--lake", "x"], "--lake, --block-games and --all-origins go with"),
])
def test_bad_input_exits_2_naming_the_argument_and_the_fix(argv, message, capsys) -> None:
    assert main(["backtest", *argv]) == 2
    assert message in capsys.readouterr().err


def _game(i: int, rug: int | None, last_live: int | None = None) -> dict:
    return {"game_id": f"20251212-{i:016x}", "seen_live": True, "revealed": False,
            "start_ts": T0 + dt.timedelta(minutes=i), "rug_tick": rug,
            "rugged": rug is not None,
            "last_live_tick": rug - 1 if rug is not None else last_live}


def test_the_lake_source_keeps_the_censored_games_and_counts_them(tmp_path: Path,
                                                                  capsys) -> None:
    b = RowBatch()
    # games 3 and 4 are censored (alive at 60, at 20), game 5 has no tick at all
    b.extend("games", [_game(1, 30), _game(2, 100), _game(3, None, 60), _game(4, None, 20),
                       _game(5, None)])
    b.extend("ticks", [{"game_id": f"20251212-{i:016x}", "tick": t, "price_x": 1.0,
                        "recv_ts": T0, "source": "live", "is_rug": False}
                       for i in (1, 2) for t in range(3)])
    write_batch(tmp_path / "lake", b)
    d = _json(["sidebet-fixed", "--source", "lake", "--lake", str(tmp_path / "lake"),
               "--block-games", "4", "--paths", "20", "--games", "4", "-p", "stake=1"], capsys)
    assert d["source"] == {"source": "lake", "block_games": 4, "games": 5, "used": 4,
                           "censored_kept": 2, "left_out": 1, "joined_late": 2,
                           "ticks_missing": 27 + 97 + 61 + 21, "other_origins": 0}
    # each path plays games 1 to 4, the bet covering 11..51: +4, −1, −1 (game 3 was alive at
    # 60: a known loss), void (game 4 was last seen at 20)
    assert (d["final_bankroll_p05"], d["final_bankroll_p95"], d["bets"], d["voided"]) == (
        12.0, 12.0, 60, 20)
    assert main(["backtest", "sidebet-fixed", "--source", "lake", "--lake",
                 str(tmp_path / "none")]) == 2
    assert "no lake" in capsys.readouterr().err.lower()


@pytest.mark.parametrize(("argv", "message"), [
    (["--address", "10.0.0.5:6379"], "--address 10.0.0.5:6379 goes with --engine ray: add "
     "--engine ray, or drop --address"),
    (["--engine", "ray", "--address", "10.0.0.5:6379", "--workers", "2"],
     "--workers 2 goes with Ray on this machine; a cluster (--address 10.0.0.5:6379) uses all "
     "of its CPUs: drop --workers."),
    (["--engine", "ray", "--address", "nohost"], "Invalid --address 'nohost': expected "
     "HOST:PORT"),
    (["--engine", "spark"], "'spark' is not one of 'local', 'ray'"),
])
def test_engine_flag_errors_name_the_flag_and_the_fix(argv, message, capsys) -> None:
    assert main(["backtest", "sidebet-fixed", *argv]) == 2
    assert message in " ".join(capsys.readouterr().err.split()).replace("│ ", "")


def test_a_cluster_nobody_listens_at_fails_fast_naming_the_fix(capsys) -> None:
    import socket

    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["backtest", "sidebet-fixed", "--engine", "ray", "--address",
                 f"127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert f"Cannot reach the Ray cluster at --address 127.0.0.1:{port}" in err
    assert "ray start --head" in err


@pytest.mark.slow
def test_engine_ray_prints_exactly_the_local_engines_numbers(ray_local, tmp_path: Path,
                                                             capsys) -> None:
    argv = ["sidebet-fixed", "-p", "stake=0.5", "--paths", "1200", "--games", "30",
            "--seed", "4", "--no-progress"]
    local = _json(argv, capsys)
    on_ray = _json([*argv, "--engine", "ray"], capsys)  # Ray of the session: reused
    assert on_ray == local and local["paths"] == 1200
    b = RowBatch()
    b.extend("games", [_game(i, r) for i, r in enumerate([30, 100, 5, 60, 12], start=1)])
    b.extend("ticks", [{"game_id": f"20251212-{i:016x}", "tick": t, "price_x": 1.0,
                        "recv_ts": T0, "source": "live", "is_rug": False}
                       for i in (1, 2) for t in range(3)])
    write_batch(tmp_path / "lake", b)
    lake = ["sidebet-fixed", "--source", "lake", "--lake", str(tmp_path / "lake"), "--paths",
            "600", "--games", "5", "--seed", "1"]
    assert _json([*lake, "--engine", "ray"], capsys) == _json(lake, capsys)
