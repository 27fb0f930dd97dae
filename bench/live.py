"""Benchmark: the live server's fan-out to many subscribers, and what clients that never read
cost the others.

    .venv/bin/python bench/live.py [--clients 500] [--stalled 10] [--seconds 30] \
        [--speed 20] [--workers 2] [--files CAPTURE...]

Two runs of `rugslab serve live --feed URL` listening to `rugslab serve replay CAPTURES --loop
--speed 20` (two subprocesses, so the replay keeps its schedule whatever the live server does;
default captures: the two Dec 2025 files of ../shared/captures), each with `--clients`
subscribers of the `ticks` and `signals` channels spread over `--workers` client processes:

- run A: the subscribers only;
- run B: the same plus `--stalled` clients that subscribe to both channels and then never
  read their socket again (nor answer pings).

A subscriber is a bare Engine.IO v4 websocket client (aiohttp; it answers pings and acks by
hand) that, for every `ticks` / `signals` message, takes the wall clock and the message's
`recv_ts` (when the server's collector received the frame): delay = receipt − recv_ts. Client
and server share the machine's clock. The replay waits until every client is connected and
subscribed (`--wait-for-clients`), then each run lasts `--seconds`.

Reports per run: frames per second taken by the live server against those the replay sent
(a server that falls behind the feed takes fewer: its delay then starts before the frame
receipt this bench measures from), messages received, p50 / p99 / max delay (pooled over all
subscribers; log-binned histogram, ±1.2%), the server's resident memory before the clients
connected and once all were connected (memory per client = the difference / clients), its
peak, the server's drops by code, and for run B the ratio p99(B) / p99(A) (goal: within 2x).
The server and the client processes share the machine's cores, so client work is in the
delays too: a subscriber does the least a client can (no JSON decoding).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "captures"
DEFAULT_FILES = [SHARED / "2025-12-12_two-rugs.jsonl",
                 SHARED / "2025-12-06_active-to-cooldown.jsonl"]
#: log-spaced delay bins: 1 µs .. 1000 s, 200 per decade
BINS_PER_DECADE = 200
LOW_EXP, HIGH_EXP = -6, 3
N_BINS = (HIGH_EXP - LOW_EXP) * BINS_PER_DECADE


def _bin(delay_s: float) -> int:
    import math

    if delay_s <= 10.0**LOW_EXP:
        return 0
    i = int((math.log10(delay_s) - LOW_EXP) * BINS_PER_DECADE)
    return min(max(i, 0), N_BINS - 1)


def _quantile(hist: list[int], q: float) -> float:
    total = sum(hist)
    if not total:
        return float("nan")
    target, acc = q * total, 0
    for i, n in enumerate(hist):
        acc += n
        if acc >= target:
            return 10 ** (LOW_EXP + (i + 0.5) / BINS_PER_DECADE)
    return float("nan")


# ------------------------------------------------------------------ client worker
async def _client(url: str, stalled: bool, hist: list[int], counts: dict[str, int],
                  ready: asyncio.Event, stop: asyncio.Event) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(
            url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
            autoping=False, max_msg_size=0)
        await ws.receive_str()  # Engine.IO open
        await ws.send_str("40")
        await ws.receive_str()  # Socket.IO connect
        await ws.send_str('421["subscribe",{"channel":"ticks"}]')
        await ws.send_str('422["subscribe",{"channel":"signals"}]')
        acks = 0
        while acks < 2:
            msg = await ws.receive_str()
            if msg.startswith("43"):
                acks += 1
            elif msg == "2":
                await ws.send_str("3")
        counts["ready"] += 1
        if counts["ready"] >= counts["clients"]:
            ready.set()
        if stalled:  # never read again: the kernel buffers fill, then the server's queue
            await stop.wait()
            return
        key = '"recv_ts":"'
        while not stop.is_set():
            msg = await ws.receive()
            if msg.type != aiohttp.WSMsgType.TEXT:
                counts["closed"] += 1
                return
            data = msg.data
            if data == "2":
                await ws.send_str("3")
                continue
            if data.startswith('42["ticks"') or data.startswith('42["signals"'):
                now = time.time()
                i = data.find(key)
                if i < 0:
                    continue
                ts = data[i + len(key): i + len(key) + 26]
                sent = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
                hist[_bin(now - sent)] += 1
                counts["messages"] += 1


async def _worker(url: str, clients: int, stalled: int) -> dict[str, Any]:
    hist = [0] * N_BINS
    counts = {"clients": clients + stalled, "ready": 0, "messages": 0, "closed": 0}
    ready, stop = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    tasks = [asyncio.create_task(_client(url, i < stalled, hist, counts, ready, stop))
             for i in range(clients + stalled)]
    await ready.wait()
    print("READY", flush=True)
    await stop.wait()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"hist": hist, "messages": counts["messages"], "closed": counts["closed"]}


# ------------------------------------------------------------------ the runs
def _rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def _start(cmd: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "rugslab", *cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, next(w for w in line.split() if w.startswith("http://"))


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return dict(json.loads(r.read()))


def run(files: list[Path], clients: int, stalled: int, seconds: float, speed: float,
        workers: int) -> dict[str, Any]:
    total = clients + stalled
    replay, replay_url = _start(["serve", "replay", *map(str, files), "--loop", "--speed",
                                 str(speed), "--port", "0", "--wait-for-clients", "1"])
    server, url = _start(["serve", "live", "--feed", replay_url, "--port", "0",
                          "--wait-for-clients", str(total), "--max-clients", str(total + 10)])
    time.sleep(1.0)
    rss_idle = _rss_mb(server.pid)
    procs = []
    for w in range(workers):
        n = clients // workers + (1 if w < clients % workers else 0)
        s = stalled // workers + (1 if w < stalled % workers else 0)
        procs.append(subprocess.Popen(
            [sys.executable, __file__, "--worker", url, str(n), str(s)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT))
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "READY"
    rss_connected = _rss_mb(server.pid)
    t0, peak = time.monotonic(), rss_connected
    sent0, got0 = _get(replay_url + "/stats")["frames_sent"], _get(url + "/status")["frames"]
    while time.monotonic() - t0 < seconds:
        time.sleep(0.5)
        peak = max(peak, _rss_mb(server.pid))
    status = _get(url + "/status")
    sent = _get(replay_url + "/stats")["frames_sent"]
    for p in procs:
        p.send_signal(signal.SIGTERM)
    results = [json.loads(p.communicate(timeout=60)[0].splitlines()[-1]) for p in procs]
    for proc in (server, replay):
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    hist = [sum(h) for h in zip(*(r["hist"] for r in results), strict=True)]
    return {"clients": clients, "stalled": stalled, "messages": sum(r["messages"] for r in results),
            "closed": sum(r["closed"] for r in results),
            "p50_ms": _quantile(hist, 0.5) * 1e3, "p99_ms": _quantile(hist, 0.99) * 1e3,
            "max_ms": _quantile(hist, 1.0) * 1e3,
            "rss_idle_mb": rss_idle, "rss_connected_mb": rss_connected, "rss_peak_mb": peak,
            "kb_per_client": (rss_connected - rss_idle) * 1024 / max(total, 1),
            "dropped": status["dropped"], "clients_end": status["clients"],
            "frames_sent_per_s": (sent - sent0) / seconds,
            "frames_taken_per_s": (status["frames"] - got0) / seconds,
            "published": status["published"]}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        url, n, s = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        print(json.dumps(asyncio.run(_worker(url, n, s))), flush=True)
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--stalled", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--speed", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--files", type=Path, nargs="*", default=DEFAULT_FILES)
    args = ap.parse_args()
    print(f"# {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; replay "
          f"{', '.join(p.name for p in args.files)} at {args.speed:g}x; {args.seconds:g} s a run")
    a = run(args.files, args.clients, 0, args.seconds, args.speed, args.workers)
    b = run(args.files, args.clients, args.stalled, args.seconds, args.speed, args.workers)
    head = (f"{'run':4} {'subs':>5} {'stalled':>7} {'frames/s':>13} {'messages':>9} "
            f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'RSS idle':>9} {'conn.':>7} {'peak':>7} "
            f"{'KB/client':>9} {'at end':>6}  dropped")
    print(head)
    for name, r in (("A", a), ("B", b)):
        rates = f"{r['frames_taken_per_s']:.0f}/{r['frames_sent_per_s']:.0f}"
        print(f"{name:4} {r['clients']:>5} {r['stalled']:>7} {rates:>13} {r['messages']:>9,} "
              f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['max_ms']:>8.1f} "
              f"{r['rss_idle_mb']:>8.0f}M {r['rss_connected_mb']:>6.0f}M {r['rss_peak_mb']:>6.0f}M "
              f"{r['kb_per_client']:>9.1f} {r['clients_end']:>6}  {r['dropped'] or 'none'}")
    print("frames/s: taken by the live server / sent by the replay (equal: it kept up); "
          "at end: clients the server still served")
    print(f"p99 with stalled clients / without: {b['p99_ms'] / a['p99_ms']:.2f}x (goal <= 2x)")
    print(json.dumps({"A": a, "B": b}))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
