"""The reconciliation on the shared Dec 2025 captures, against an independent count.

The count below reads the capture files directly (json lines, no rugslab code): the games
seen in a cooldown frame before their first active frame are observed from their start; in
those, a leaderboard entry of an active frame (marked at tick - 1) is "reproduced" when the
player's feed trades before the mark tick, summed naively (qty, and the cost of the held
quantity at average cost), give the entry's `positionQty` and `avgCost` to 1e-6. Every
reproduced entry must be a `match`, and every `match` a reproduced entry.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rugslab.api import Lake

DEC = ("2025-12-06_active-to-cooldown.jsonl", "2025-12-12_two-rugs.jsonl")


def _payload(o: dict) -> tuple[str, dict | None]:
    ev, d = o.get("event_type") or o.get("event"), o.get("data")
    if isinstance(d, list):
        d = [a for a in d if not (isinstance(a, dict) and a.get("__trace"))]
        d = d[-1] if d else None
    return ev, d


def _independent_reproduced(paths: list[Path]) -> set[tuple[str, int, str]]:
    frames = [_payload(json.loads(line)) for p in paths for line in p.open()]
    cooldown_first, active_seen = set(), set()
    for ev, d in frames:
        if ev == "gameStateUpdate":
            g = d["gameId"]
            if d.get("active"):
                active_seen.add(g)
            elif g not in active_seen:
                cooldown_first.add(g)
    trades: dict[tuple[str, str], list[dict]] = {}
    for ev, d in frames:
        if ev == "standard/newTrade" and d["gameId"] in cooldown_first:
            trades.setdefault((d["gameId"], d["playerId"]), []).append(d)
    out = set()
    for ev, d in frames:
        if (ev != "gameStateUpdate" or not d.get("active") or d.get("rugged")
                or d["gameId"] not in cooldown_first or "gameHistory" in d):
            continue
        mark = d["tickCount"] - 1
        for e in d.get("leaderboard") or []:
            qty = cost = 0.0
            for t in sorted(trades.get((d["gameId"], e["id"]), []), key=lambda t: t["tickIndex"]):
                if t["tickIndex"] >= mark:
                    break
                if t["type"] == "buy":
                    qty, cost = qty + t["qty"], cost + t["qty"] * t["price"]
                else:
                    cost, qty = cost * (qty - t["qty"]) / qty if qty else 0.0, qty - t["qty"]
            avg = cost / qty if qty > 1e-9 else 0.0
            if abs(qty - e["positionQty"]) < 1e-6 and abs(avg - e["avgCost"]) < 1e-6 and (
                    qty > 1e-9 or e["regularPnl"] == 0 or trades.get((d["gameId"], e["id"]))):
                out.add((d["gameId"], d["tickCount"], e["id"]))
    return out


@pytest.fixture(scope="module")
def dec_lake(captures_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("players") / "lake")
    lake.ingest([captures_dir / f for f in DEC])
    return lake


def test_every_leaderboard_entry_of_play_is_one_row_reconciled(
        dec_lake: Lake, captures_dir: Path) -> None:
    keys = {(d["gameId"], d["tickCount"], e["id"])
            for p in DEC for line in (captures_dir / p).open()
            for ev, d in [_payload(json.loads(line))]
            if ev == "gameStateUpdate" and d.get("active") for e in d.get("leaderboard") or []}
    assert len(keys) == 3830
    n = dec_lake.sql("SELECT count(*) AS n FROM leaderboard")["n"][0]
    assert n == len(keys)
    assert dec_lake.sql("SELECT count(*) AS n FROM player_reconciliation")["n"][0] == n


def test_matches_are_exactly_the_independently_reproduced_rows(
        dec_lake: Lake, captures_dir: Path) -> None:
    reproduced = _independent_reproduced([captures_dir / f for f in DEC])
    rec = dec_lake.sql("SELECT game_id, tick, player_id, status, reason FROM "
                       "player_reconciliation")
    matched = {(g, t, p) for g, t, p, s, _ in rec.iter_rows() if s == "match"}
    in_play = {k for k in matched if k[1] < 16}  # the rug frames (tick 16, 17) are left out
    assert in_play == reproduced
    assert len(reproduced) == 14  # + 6 matches in the two rug frames: 20
    counts = {(s, r): n for s, r, n in dec_lake.sql(
        "SELECT status, reason, count(*) AS n FROM player_reconciliation GROUP BY ALL").iter_rows()}
    # only 20251212-6114b2ff44ef4b71 was observed from its start; 3 of its 121 trades were in
    # the feed, so most of its players' ledgers are incomplete; no row disagrees.
    assert counts == {("incomplete", "not_observed_from_start"): 3670,
                      ("incomplete", "trade_missing_from_feed"): 140,
                      ("match", None): 20}
    assert dec_lake.players().agreement == 1.0


def test_the_players_command_prints_games_statuses_and_the_agreement_rate(
        dec_lake: Lake, capsys: pytest.CaptureFixture[str]) -> None:
    from rugslab.cli import main

    assert main(["players", "--lake", str(dec_lake.path)]) == 0
    out = capsys.readouterr().out
    assert "agreement rate: 100.0% of 20 comparable rows" in out
    assert "not_observed_from_start" in out and "mismatches (0)" in out
    gid = "20251212-6114b2ff44ef4b71"
    assert main(["players", "--lake", str(dec_lake.path), "--game", gid]) == 0
    out = capsys.readouterr().out
    shown = dec_lake.sql(f"SELECT count(*) AS n FROM player_games WHERE game_id = '{gid}'")["n"][0]
    assert shown > 0 and f"player games: {shown}\n" in out
    assert main(["players", "--lake", str(dec_lake.path), "--player", "nobody"]) == 0
    out = capsys.readouterr().out
    assert "player games: 0" in out and "n/a (no comparable row)" in out


def test_the_players_command_names_a_missing_lake(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rugslab.cli import main

    assert main(["players", "--lake", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "--lake" in err and "nope" in err and "rugslab ingest" in err
