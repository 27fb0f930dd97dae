"""The live server on loopback, fed by the simulated feed: channels, filters, requests,
heartbeats, the token, the limits, malformed messages, a slow consumer, a late joiner."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from live_clients import RawClient, Recorder

from rugslab.errors import ConfigError
from rugslab.live.limits import Limits
from rugslab.live.run import LiveOptions
from rugslab.live.server import LiveServer
from rugslab.testing import RunningLive, running_live_server, sim_frames

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
TOKEN = "s3cret-token-0123456789"


@contextmanager
def live(games: int = 6, speed: float = 20.0, **opts: Any) -> Iterator[RunningLive]:
    options = LiveOptions(port=0, wait_for_clients=opts.pop("wait_for_clients", 1), **opts)
    with running_live_server(sim_frames(games, seed=3, speed=speed), options=options) as srv:
        yield srv


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_subscribe_and_unsubscribe_are_acknowledged_with_what_is_subscribed() -> None:
    async def go(url: str) -> list[Any]:
        c = Recorder()
        await c.connect(url)
        acks = [await c.call("subscribe", {"channel": "signals"}),
                await c.call("subscribe", {"channel": "ticks", "filter": {"every": 2}}),
                await c.call("subscribe", {"channel": "ticks"}),
                await c.call("subscribe", {"channel": "nope"}),
                await c.call("unsubscribe", {"channel": "signals"}),
                await c.call("unsubscribe", {"channel": "signals"})]
        await c.wait_for(lambda: len(c.of("ticks")) >= 10)
        await c.call("unsubscribe", {"channel": "ticks"})
        n = len(c.of("ticks"))
        await asyncio.sleep(0.5)
        acks.append(len(c.of("ticks")) - n)
        await c.close()
        return acks

    with live() as srv:
        acks = run(go(srv.url))
    assert acks[:3] == [{"ok": True, "subscribed": ["signals"]},
                        {"ok": True, "subscribed": ["ticks", "signals"]},
                        {"ok": True, "subscribed": ["ticks", "signals"]}]
    assert acks[3] == {"ok": False, "code": "unknown_channel", "message": (
        "Unknown channel 'nope': expected one of ticks, games, trades, sidebets, signals, "
        "paper.")}
    assert acks[4:6] == [{"ok": True, "subscribed": ["ticks"]}] * 2
    assert acks[6] == 0  # nothing after the unsubscribe was acknowledged


def test_messages_come_only_on_subscribed_channels_with_the_contract_fields() -> None:
    async def go(url: str) -> Recorder:
        c = Recorder()
        await c.connect(url)
        await c.call("subscribe", {"channel": "ticks"})
        await c.call("subscribe", {"channel": "signals"})
        await c.wait_for(lambda: len(c.of("signals")) >= 20)
        await c.close()
        return c

    with live() as srv:
        c = run(go(srv.url))
    assert {e for e, _, _ in c.events} <= {"ticks", "signals", "heartbeat"}
    tick = c.of("ticks")[0]
    assert {"game_id", "tick", "price_x", "recv_ts", "live", "is_rug"} <= set(tick)
    assert ISO.match(tick["recv_ts"]) and tick["tick"] == 0 and tick["price_x"] == 1.0
    sig = c.of("signals")[0]
    assert {"game_id", "tick", "p_rug_40_constant", "sidebet_ev_now", "model"} <= set(sig)
    assert (sig["game_id"], sig["tick"]) == (tick["game_id"], tick["tick"])
    assert sig["model"] == "constant_hazard"
    assert sig["sidebet_ev_now"] == pytest.approx(5 * (1 - 0.995**40) - 1)
    ticks = [(t["game_id"], t["tick"]) for t in c.of("ticks")]
    assert len(ticks) == len(set(ticks))  # each tick once


def test_filters_pick_the_messages_and_a_new_subscribe_replaces_the_filter() -> None:
    async def go(url: str) -> tuple[Recorder, Any]:
        c = Recorder()
        await c.connect(url)
        await c.call("subscribe", {"channel": "ticks", "filter": {"every": 5}})
        await c.call("subscribe", {"channel": "games", "filter": {"kind": ["rug", "seed"]}})
        await c.call("subscribe", {"channel": "trades", "filter": {"min_amount_sol": 1e6}})
        bad = await c.call("subscribe", {"channel": "games", "filter": {"colour": "red"}})
        await c.wait_for(lambda: len(c.of("games")) >= 4)
        await c.call("subscribe", {"channel": "ticks"})  # no filter from here on
        n = len(c.of("ticks"))
        await c.wait_for(lambda: len(c.of("ticks")) >= n + 10)
        await c.close()
        return c, bad

    with live() as srv:
        c, bad = run(go(srv.url))
    assert bad == {"ok": False, "code": "bad_filter", "message": (
        "Invalid filter key 'colour' for channel 'games': expected one of game_id, kind.")}
    kinds = [g["kind"] for g in c.of("games")]
    assert set(kinds) <= {"rug", "seed"} and "rug" in kinds
    assert c.of("trades") == []
    ticks = [t["tick"] for t in c.of("ticks")]
    first_unfiltered = next(i for i, t in enumerate(ticks) if t % 5)
    assert all(t % 5 == 0 for t in ticks[:first_unfiltered])
    assert first_unfiltered >= 2


def test_a_client_holds_at_most_max_subscriptions_channels() -> None:
    async def go(url: str) -> list[Any]:
        c = Recorder()
        await c.connect(url)
        out = [await c.call("subscribe", {"channel": ch})
               for ch in ("ticks", "games", "trades", "ticks")]
        await c.close()
        return out

    with live(limits=Limits(max_subscriptions=2)) as srv:
        acks = run(go(srv.url))
    assert acks[2] == {"ok": False, "code": "too_many_subscriptions", "message": (
        "Too many subscriptions: 2 held (ticks, games), at most 2 per client; unsubscribe one "
        "first.")}
    assert acks[3] == {"ok": True, "subscribed": ["ticks", "games"]}  # re-subscribing is fine


def test_every_request_is_answered_once() -> None:
    async def go(url: str) -> list[Any]:
        c = Recorder()
        await c.connect(url)
        await c.call("subscribe", {"channel": "signals", "filter": {"every": 1}})
        await c.wait_for(lambda: len(c.of("signals")) >= 5)
        out = [await c.call("get_status"), await c.call("get_game"),
               await c.call("get_signals"),
               await c.call("get_game", {"game_id": "20990101-0000000000000000"}),
               await c.call("get_game", {"game_id": 7})]
        out.append(await c.call("get_game", {"game_id": out[1]["game"]["game_id"]}))
        await c.close()
        return out

    with live() as srv:
        status, game, signals, missing, bad, by_id = run(go(srv.url))
    assert status["ok"] is True and status["clients"] == 1
    assert status["subscribed"] == ["signals"] and status["filters"] == {"signals": {"every": 1}}
    assert status["channels"]["signals"] == 1 and status["source"]["kind"] == "replay"
    assert status["limits"]["rate_per_s"] == 10 and ISO.match(status["server_time"])
    assert game["ok"] is True and game["ticks"][0]["tick"] == game["game"]["first_tick"]
    assert [t["tick"] for t in game["ticks"]] == list(
        range(game["game"]["first_tick"], game["game"]["last_tick"] + 1))
    assert signals["ok"] is True and signals["signals"]["game_id"] == game["game"]["game_id"]
    assert missing["ok"] is False and missing["code"] == "not_found"
    assert missing["message"].startswith("No game '20990101-0000000000000000' held: the server "
                                         "keeps the current game and the last 12 (held: ")
    assert bad == {"ok": False, "code": "bad_request", "message": (
        "Invalid game_id 7: expected a game id string, or none for the current game.")}
    assert by_id["game"]["game_id"] == game["game"]["game_id"]


def test_games_carry_start_rug_seed_and_a_verified_verdict() -> None:
    async def go(url: str) -> Recorder:
        c = Recorder()
        await c.connect(url)
        await c.call("subscribe", {"channel": "games"})
        await c.wait_for(lambda: any(g["kind"] == "verdict" for g in c.of("games")), 40)
        await c.close()
        return c

    with live() as srv:
        c = run(go(srv.url))
    games = c.of("games")
    first = games[0]["game_id"]
    assert [g["kind"] for g in games if g["game_id"] == first] == [
        "start", "rug", "seed", "verdict"]
    verdict = games[[g["kind"] for g in games].index("verdict")]
    assert (verdict["status"], verdict["hash_ok"], verdict["path_ok"]) == ("verified", True, True)
    seed = next(g for g in games if g["kind"] == "seed")
    assert seed["hash_ok"] is True


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_heartbeats_number_each_connection_and_count_what_was_sent_before(transport: str) -> None:
    async def go(url: str) -> tuple[Recorder, Any]:
        c = Recorder()
        await c.connect(url, transports=(transport,))
        await c.call("subscribe", {"channel": "ticks"})
        await c.wait_for(lambda: len(c.of("heartbeat")) >= 5)
        status = await c.call("get_status")
        await c.close()
        return c, status

    with live(heartbeat_s=0.2) as srv:
        c, status = run(go(srv.url))
    # a websocket client is written to directly, a long-polling one through its queue
    assert status["clients_direct"] == (transport == "websocket")
    beats = c.of("heartbeat")
    assert [b["seq"] for b in beats] == list(range(1, len(beats) + 1))
    assert all(b["clients"] == 1 and ISO.match(b["server_time"]) for b in beats)
    received = 0
    for event, data, _ in c.events:
        if event == "heartbeat":
            assert data["sent"] == received
        elif event == "ticks":
            received += 1
    assert beats[-1]["sent"] > 0


def test_a_missing_or_wrong_token_is_refused_at_connect_with_a_reason() -> None:
    async def attempt(url: str, auth: Any) -> Any:
        c = Recorder()
        try:
            await c.connect(url, auth=auth)
        except Exception:
            await c.close()
            return c.connect_error
        answer = await c.call("get_status")
        await c.close()
        return answer["ok"]

    with live(token=TOKEN, wait_for_clients=0) as srv:
        wrong = run(attempt(srv.url, {"token": "not-the-token-000000"}))
        none = run(attempt(srv.url, None))
        right = run(attempt(srv.url, {"token": TOKEN}))
        refused = srv.status()["refused"]
    assert wrong == {"message": "bad_token: the token does not match; connect with "
                     "auth={'token': <the server's token>} (the first line of its --token-file).",
                     "data": {"code": "bad_token"}}
    assert none["message"].startswith("bad_token: no token was sent;")
    assert right is True
    assert refused == {"bad_token": 2}


def test_a_non_loopback_address_without_a_token_is_refused() -> None:
    with pytest.raises(ConfigError) as e:
        LiveServer(host="0.0.0.0", port=0)
    assert str(e.value) == (
        "Refusing to listen on --host '0.0.0.0' without a token: any machine that can reach it "
        "could connect. Pass --token-file PATH (clients then send auth={'token': ...}), or keep "
        "the default --host 127.0.0.1.")
    LiveServer(host="0.0.0.0", port=0, token=TOKEN)  # with a token it may
    LiveServer(host="::1", port=0)  # IPv6 loopback needs none


def test_a_client_over_the_rate_gets_errors_and_is_dropped_and_others_are_not() -> None:
    async def go(url: str) -> tuple[Recorder, Recorder, Any]:
        flood, calm = Recorder(), Recorder()
        await flood.connect(url)
        await calm.connect(url)
        await calm.call("subscribe", {"channel": "ticks"})
        nack = None
        for i in range(12):
            if i == 11:
                nack = await flood.call("get_status")
            else:
                await flood.sio.emit("get_status")
        for _ in range(20):  # past kick_after (15 refused)
            await flood.sio.emit("get_status")
        await flood.disconnected.wait()
        n = len(calm.of("ticks"))
        await calm.wait_for(lambda: len(calm.of("ticks")) > n + 5)
        ok = await calm.call("get_status")
        await calm.close()
        await flood.close()
        return flood, calm, (nack, ok)

    with live(limits=Limits(kick_after=15)) as srv:
        flood, calm, (nack, ok) = run(go(srv.url))
    status = ok
    assert nack["ok"] is False and nack["code"] == "rate_limited"
    errors = flood.of("error")
    assert errors[0]["code"] == "rate_limited" and errors[0]["fatal"] is False
    assert errors[0]["message"].startswith("More than 10 messages in one second: this one was "
                                           "not handled")
    assert errors[-1] == {"code": "rate_limited", "fatal": True,
                          "message": "Dropped after 15 messages over the rate of 10 a second."}
    assert ok["ok"] is True and calm.of("error") == []
    assert status["dropped"] == {"rate_limited": 1} and status["clients"] == 1


def test_malformed_messages_get_an_error_event_and_the_connection_stays() -> None:
    async def go(url: str) -> list[list[str]]:
        raw = RawClient()
        await raw.connect(url)
        out = []
        for text in ('42["get_status"', "42{}", "42[7]", '421["subscribe","ticks"]',
                     '422["no_such_event"]', "42" + "[" + '"x",' * 10_000 + '"y"]'):
            await raw.send(text)
            out.append(await raw.read_until(lambda m: m.startswith('42["error"')))
            if text.startswith("421") or text.startswith("422"):
                out.append(await raw.read_until(lambda m: m.startswith("43")))
        await raw.emit("get_status", {}, ack_id=9)
        out.append(await raw.read_until(lambda m: m.startswith("439")))
        await raw.close()
        return out

    with live(wait_for_clients=0) as srv:
        got = run(go(srv.url))
    codes = [re.search(r'"code":"(\w+)"', r[-1]).group(1) for r in got[:-1]]  # type: ignore[union-attr]
    assert codes == ["malformed", "malformed", "malformed", "bad_request", "bad_request",
                     "unknown_event", "unknown_event", "message_too_large"]
    assert got[4][-1] == ('431[{"ok":false,"code":"bad_request","message":"Invalid argument of '
                          "'subscribe': expected one object (see docs/live-api.md).\"}]")
    assert got[6][-1].startswith('432[{"ok":false,"code":"unknown_event","message":"Unknown '
                                 "event 'no_such_event'")
    assert got[-1][-1].startswith('439[{"ok":true,')  # the connection stayed


def test_a_slow_consumer_is_dropped_and_the_others_get_everything() -> None:
    payload = {"kind": "fill", "strategy": "s", "blob": "x" * 4000}

    async def go(srv: RunningLive) -> tuple[int, int, Recorder, list[str], Any]:
        stalled, reader = RawClient(), Recorder()
        await stalled.connect(srv.url)
        await stalled.emit("subscribe", {"channel": "paper"}, ack_id=1)
        await stalled.read_until(lambda m: m.startswith("431"))
        await reader.connect(srv.url)
        await reader.call("subscribe", {"channel": "paper"})
        sent = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30:
            n = srv.publish("paper", {**payload, "n": sent})
            sent += 1
            if n == 1 and srv.status()["dropped"].get("slow_consumer"):
                break
            await asyncio.sleep(0.001)
        for _ in range(20):  # and some more after the drop
            srv.publish("paper", {**payload, "n": sent})
            sent += 1
        await reader.wait_for(lambda: len(reader.of("paper")) == sent, 30)
        tail = await stalled.read_until(lambda m: False, timeout=5)
        status = srv.status()
        await reader.close()
        await stalled.close()
        return sent, len(reader.of("paper")), reader, tail, status

    with live(limits=Limits(max_queue=50), wait_for_clients=0) as srv:
        sent, got, reader, tail, status = run(go(srv))
    assert status["dropped"] == {"slow_consumer": 1}
    assert got == sent and [m["n"] for m in reader.of("paper")] == list(range(sent))
    assert status["clients"] == 1
    assert tail[-1].startswith("<")  # the stalled client's connection was closed


def test_a_client_joining_mid_game_redraws_it_from_get_game_and_the_ticks_channel() -> None:
    async def go(srv: RunningLive) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
        early = Recorder()
        await early.connect(srv.url)  # starts the feed
        while True:
            g = srv.run(lambda: srv.server.tracker.current)
            if g is not None and g.rug_tick is None and g.last_tick >= 30:
                break
            await asyncio.sleep(0.01)
        late = Recorder()
        await late.connect(srv.url)
        await late.call("subscribe", {"channel": "ticks"})
        game = await late.call("get_game")
        gid = game["game"]["game_id"]
        await late.wait_for(lambda: any(t["game_id"] == gid and t["is_rug"]
                                        for t in late.of("ticks")), 30)
        full = await late.call("get_game", {"game_id": gid})
        await late.close()
        await early.close()
        return game, late.of("ticks"), full

    with live(games=4, speed=10) as srv:
        game, ticks, full = run(go(srv))
    gid = game["game"]["game_id"]
    drawn = {t["tick"]: t["price_x"] for t in game["ticks"]}
    assert min(drawn) == 0 and max(drawn) >= 30
    for t in ticks:
        if t["game_id"] == gid:
            drawn[t["tick"]] = t["price_x"]
    assert sorted(drawn) == list(range(max(drawn) + 1))  # no gap, nothing missing
    assert drawn == {t["tick"]: t["price_x"] for t in full["ticks"]}
