"""Serve commands: `rugslab serve replay FILE...` and `rugslab serve sim`.

Thin: parse flags, build `Faults`, call `rugslab.sim.server.serve_replay` / `serve_sim`.
Both print the URL (clients add `?frontend-version=1.0`) and the stats URL, serve until the
feed has been sent, then exit 0 (`serve replay --loop` and `serve sim` without `--games` go on
until SIGINT/SIGTERM). Counters of client packets are at `GET <url>/stats` (counts per
connection number; no client addresses). Browser pages of another origin are refused unless
allowed with `--cors-origin` (repeatable; `*` allows any).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import typer

from rugslab.cli import app
from rugslab.sim.faults import Faults
from rugslab.sim.server import DEFAULT_PORT, serve_replay, serve_sim

serve_app = typer.Typer(
    help="Socket.IO servers that speak like backend.rugs.fun (replay of captures, simulation).",
    no_args_is_help=True,
)
app.add_typer(serve_app, name="serve")

_PORT = typer.Option(DEFAULT_PORT, "--port", help="TCP port on --host (0: any free port).")
_HOST = typer.Option("127.0.0.1", "--host", help="Address to listen on (default loopback).")
_SPEED = typer.Option(1.0, "--speed", help="Time scale: 10 = ten times faster than real time.")
_DROP = typer.Option(0.0, "--drop", help="Probability of dropping each frame.")
_DUP = typer.Option(0.0, "--duplicate", help="Probability of sending a frame twice.")
_REORDER = typer.Option(0.0, "--reorder", help="Probability of swapping a frame with the next.")
_DISC = typer.Option(
    None, "--disconnect-every", help="Disconnect every client every S wall seconds."
)
_DISC_KIND = typer.Option(
    "socketio", "--disconnect-kind",
    help="'socketio' (server sends DISCONNECT) or 'transport' (connection dropped, like a reboot).",
)
_BAD = typer.Option(0.0, "--malformed", help="Probability of replacing a payload by garbage.")
_SEED = typer.Option(0, "--seed", help="Seed of the fault RNG (and of the simulated games).")
_WAIT = typer.Option(0, "--wait-for-clients", help="Hold the feed until N clients connect.")
_CORS = typer.Option(
    None, "--cors-origin",
    help="Also accept browser pages of this origin (scheme://host[:port]); repeatable; "
    "'*' accepts any. Default: same origin only.",
)


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run until done; SIGINT/SIGTERM stop the server cleanly (exit 0)."""

    async def main() -> Any:
        task = asyncio.ensure_future(coro)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, task.cancel)
        try:
            return await task
        except asyncio.CancelledError:
            typer.echo("stopped.")
            return None

    return asyncio.run(main())


def _announce(url: str) -> None:
    typer.echo(f"serving on {url}  (clients: {url}?frontend-version=1.0; stats: {url}/stats)")


@serve_app.command("replay")
def replay_command(
    files: list[Path] = typer.Argument(  # noqa: B008 - typer declares arguments by default value
        ..., help="Capture files (any format rugslab reads), replayed in order.",
        show_default=False,
    ),
    port: int = _PORT, host: str = _HOST, speed: float = _SPEED, drop: float = _DROP,
    duplicate: float = _DUP, reorder: float = _REORDER, disconnect_every: float | None = _DISC,
    disconnect_kind: str = _DISC_KIND, malformed: float = _BAD, seed: int = _SEED,
    wait_for_clients: int = _WAIT,
    loop: bool = typer.Option(False, "--loop", help="Start over at the end, until SIGINT."),
    cors_origin: list[str] | None = _CORS,
) -> None:
    """Replay captures as the live feed, with the captured timing scaled by --speed."""
    faults = Faults(drop=drop, duplicate=duplicate, reorder=reorder, malformed=malformed,
                    disconnect_every_s=disconnect_every, disconnect_kind=disconnect_kind,
                    seed=seed)
    stats = _run(serve_replay(files, host=host, port=port, speed=speed, faults=faults,
                              loop=loop, wait_for_clients=wait_for_clients, announce=_announce,
                              cors_origins=cors_origin))
    if stats is not None:
        typer.echo(f"replayed {stats.frames} frames; skipped {stats.markers_skipped} markers, "
                   f"{stats.bad_records} unreadable records")


@serve_app.command("sim")
def sim_command(
    port: int = _PORT, host: str = _HOST, speed: float = _SPEED,
    games: int | None = typer.Option(None, "--games", help="Games to play (default: endless)."),
    players: int = typer.Option(20, "--players", help="Simulated players."),
    drop: float = _DROP, duplicate: float = _DUP, reorder: float = _REORDER,
    disconnect_every: float | None = _DISC, disconnect_kind: str = _DISC_KIND,
    malformed: float = _BAD, seed: int = _SEED, wait_for_clients: int = _WAIT,
    cors_origin: list[str] | None = _CORS,
) -> None:
    """Serve a simulated feed: provably-fair games, trades and side bets, ~250 ms/tick ÷ speed."""
    faults = Faults(drop=drop, duplicate=duplicate, reorder=reorder, malformed=malformed,
                    disconnect_every_s=disconnect_every, disconnect_kind=disconnect_kind,
                    seed=seed)
    _run(serve_sim(host=host, port=port, speed=speed, games=games, seed=seed, players=players,
                   faults=faults, wait_for_clients=wait_for_clients, announce=_announce,
                   cors_origins=cors_origin))
