"""rugslab.live's client: channels as async iterators, reconnecting with backoff and
subscribing again; refusals raise with the server's code; a slow consumer stays bounded."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

import pytest

from rugslab import live
from rugslab.backoff import Backoff
from rugslab.live.limits import BadRequest
from rugslab.live.run import LiveOptions
from rugslab.testing import RunningLive, running_live_server, sim_frames

TOKEN = "client-test-token-0123456789"
FAST = Backoff(base_s=0.05, cap_s=0.2, rng=random.Random(1))


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def _server(**opts: Any) -> Any:
    options = LiveOptions(port=0, wait_for_clients=opts.pop("wait_for_clients", 1), **opts)
    return running_live_server(sim_frames(6, seed=4, speed=20), options=options)


def test_subscribe_is_an_async_iterator_over_one_channel() -> None:
    async def go(url: str) -> list[dict[str, Any]]:
        got = []
        async with contextlib.aclosing(live.subscribe("ticks", url=url)) as ticks:
            async for tick in ticks:
                got.append(tick)
                if len(got) == 25:
                    break
        return got

    with _server() as srv:
        ticks = run(go(srv.url))
    assert [t["tick"] for t in ticks] == list(range(25))
    assert len({t["game_id"] for t in ticks}) == 1


def test_the_client_reconnects_with_backoff_and_subscribes_again() -> None:
    async def go(srv: RunningLive) -> tuple[live.LiveClient, list[tuple[str, Any]]]:
        client = live.LiveClient(srv.url, {"ticks": {"every": 2}, "games": None},
                                 backoff=FAST)
        seen: list[tuple[str, Any]] = []
        async with contextlib.aclosing(live.stream(client.channels, client=client,
                                                   include_connects=True)) as items:
            async for channel, message in items:
                seen.append((channel, message))
                ticks = sum(c == "ticks" for c, _ in seen)
                if ticks == 10 and client.connects == 1:
                    for sid in list(srv.server.clients):  # the server drops everyone
                        srv.call(srv.server.sio.disconnect(sid))
                if client.connects == 2 and ticks >= 20:
                    status = await client.request("get_status")
                    seen.append(("status", status))
                    break
        return client, seen

    with _server() as srv:
        client, seen = run(go(srv))
    connected = [m for c, m in seen if c == "connected"]
    assert connected == [{"connection": 1, "subscribed": ["ticks", "games"]},
                         {"connection": 2, "subscribed": ["ticks", "games"]}]
    assert all(m["tick"] % 2 == 0 for c, m in seen if c == "ticks")  # the filter came back
    status = seen[-1][1]
    assert status["subscribed"] == ["ticks", "games"]
    assert status["filters"] == {"ticks": {"every": 2}, "games": None}
    assert client.lost == 0


def test_a_refused_token_raises_with_its_code_instead_of_retrying() -> None:
    async def go(url: str, token: str | None) -> Any:
        with pytest.raises(BadRequest) as e:
            async for _ in live.subscribe("ticks", url=url, token=token, backoff=FAST):
                pass
        return e.value

    with _server(token=TOKEN, wait_for_clients=0) as srv:
        wrong = run(go(srv.url, "wrong-token-000000000"))
        missing = run(go(srv.url, None))

        async def right() -> dict[str, Any]:
            async for tick in live.subscribe("ticks", url=srv.url, token=TOKEN):
                return tick
            raise AssertionError("no tick")

        first = run(right())
    assert wrong.code == "bad_token" and "the token does not match" in wrong.message
    assert missing.code == "bad_token" and "no token was sent" in missing.message
    assert first["tick"] == 0


def test_a_refused_channel_or_filter_raises_with_its_code() -> None:
    async def go(url: str, channels: Any) -> BadRequest:
        with pytest.raises(BadRequest) as e:
            async for _ in live.stream(channels, url=url, backoff=FAST):
                pass
        return e.value

    with _server(wait_for_clients=0) as srv:
        bad_channel = run(go(srv.url, ["tick"]))
        bad_filter = run(go(srv.url, {"ticks": {"every": -1}}))
    assert (bad_channel.code, bad_filter.code) == ("unknown_channel", "bad_filter")
    assert bad_filter.message == ("Invalid filter 'every' of channel 'ticks': -1; expected a "
                                  "whole number 1..10000.")


def test_a_consumer_behind_by_the_queue_size_loses_the_newest_messages_counted() -> None:
    async def go(srv: RunningLive) -> tuple[live.LiveClient, list[int]]:
        client = live.LiveClient(srv.url, ["paper"], backoff=FAST, queue_size=5)
        got: list[int] = []
        async with contextlib.aclosing(live.stream(client.channels, client=client,
                                                   include_connects=True)) as items:
            async for channel, message in items:
                if channel == "connected":
                    for n in range(50):
                        srv.publish("paper", {"strategy": "s", "n": n})
                    await asyncio.sleep(1.0)  # not reading meanwhile
                    srv.publish("paper", {"strategy": "s", "n": 50})
                    continue
                got.append(message["n"])
                if message["n"] == 50:
                    break
        return client, got

    with _server(wait_for_clients=0) as srv:
        client, got = run(go(srv))
    assert got == [0, 1, 2, 3, 4, 50]
    assert (client.lost, client.overflowed) == (45, 45)


def test_duration_ends_the_stream() -> None:
    async def go(url: str) -> int:
        n = 0
        async for _ in live.stream(["ticks"], url=url, duration_s=1.0):
            n += 1
        return n

    with _server() as srv:
        assert run(go(srv.url)) > 0
