"""Side-bet records: one row per (game, player, start tick); a second bet under the same key
is counted, never dropped unseen."""

from __future__ import annotations

from rugslab.assembly.trades_bets import RecordBuffer, placed_bet

GID = "20251212-eec31b1b16194f08"


def _placed(bet_id: str, amount: float) -> dict[str, object]:
    return {"playerId": "p1", "gameId": GID, "betAmount": amount, "xPayout": 5,
            "coinAddress": "0xPractice", "startedAtTick": 0, "end": 40, "id": bet_id,
            "timestamp": 1765577744348, "type": "placed"}


def test_the_same_record_seen_twice_is_no_conflict() -> None:
    buf = RecordBuffer()
    for _ in range(2):
        key, fields = placed_bet(_placed("s1", 0.1), ctx="t", gid=GID)
        buf.offer_bet(key, fields, 0)
    assert buf.counts() == {"side_bets": 1}


def test_two_bets_under_one_key_are_counted_and_one_row_is_kept_whatever_the_order() -> None:
    rows = []
    for order in (("s1", "s2"), ("s2", "s1")):
        buf = RecordBuffer()
        for bet_id in order:
            key, fields = placed_bet(_placed(bet_id, 0.1 if bet_id == "s1" else 0.2),
                                     ctx="t", gid=GID)
            buf.offer_bet(key, fields, 0)
        assert buf.counts() == {"side_bets": 1, "side_bets.key_conflict": 1}
        rows.append(buf.bets[(GID, "p1", 0)][0])
    assert rows[0] == rows[1]
