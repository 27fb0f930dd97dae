"""Serve commands: `rugslab serve replay FILE...`, `rugslab serve sim` and `rugslab serve live`.

`serve live` (the live server of `rugslab.live`: channels, signals, requests) is documented in
`docs/live-api.md`; it stops on SIGINT/SIGTERM or `--duration` and prints its summary.

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


@serve_app.command("live")
def live_command(
    files: list[Path] | None = typer.Argument(  # noqa: B008 - typer declares arguments by default value
        None, help="Capture files to replay (with --replay), in order.", show_default=False,
    ),
    feed: str | None = typer.Option(
        None, "--feed", help="Feed URL to listen to (default: $RUGSLAB_URL or "
        "https://backend.rugs.fun). Listen-only: the collector never emits."),
    replay: bool = typer.Option(
        False, "--replay", help="Replay FILE... (captures, any format rugslab reads) instead "
        "of listening to the feed."),
    speed: float = typer.Option(1.0, "--speed", help="Replay time scale: 20 = 20x real time."),
    loop: bool = typer.Option(False, "--loop", help="Replay: start over at the end."),
    host: str = _HOST, port: int = _PORT,
    token_file: Path | None = typer.Option(  # noqa: B008
        None, "--token-file", help="File whose first line is the token clients must send "
        "(auth={'token': ...}); required unless --host is loopback."),
    lake: Path | None = typer.Option(  # noqa: B008
        None, "--lake", help="Also write the lake, exactly as `rugslab collect` does; its games "
        "fit the lake model of the signals."),
    fit_lake: Path | None = typer.Option(  # noqa: B008
        None, "--fit-lake", help="Lake whose games fit the lake model (default: --lake; read "
        "only)."),
    refit_every: str = typer.Option("10m", "--refit-every", help="Refit the lake model this "
                                    "often (e.g. 10m)."),
    heartbeat: str = typer.Option("5s", "--heartbeat", help="Seconds between heartbeats."),
    duration: str | None = typer.Option(
        None, "--duration", help="Stop after this long, e.g. 90s, 8h (default: until SIGINT)."),
    wait_for_clients: int = typer.Option(
        0, "--wait-for-clients", help="Start the source only once N clients are connected."),
    max_clients: int = typer.Option(1000, "--max-clients", help="Clients served at once."),
    max_queue: int = typer.Option(
        1000, "--max-queue", help="Messages waiting for one client before it is dropped as a "
        "slow consumer."),
    cors_origin: list[str] | None = _CORS,
    paper: list[str] | None = typer.Option(  # noqa: B008 - typer declares options by default value
        None, "--paper", help="Paper-trade this built-in strategy on the same ticks "
        "(repeatable; `rugslab backtest --list`): its orders, fills, settlements and games go "
        "out on the paper channel and, with --lake, to paper_decisions, paper_results and "
        "paper_games, as `rugslab paper` writes them."),
    paper_param: list[str] | None = typer.Option(  # noqa: B008
        None, "--paper-param", help="Parameter KEY=VALUE of the --paper strategies "
        "(repeatable); STRATEGY:KEY=VALUE for one of several."),
    bankroll: float = typer.Option(10.0, "--bankroll", help="Starting bankroll (SOL) of "
                                   "each --paper run."),
) -> None:
    """Serve the running game, its signals, trades, side bets and paper trades to Socket.IO
    clients, from the live feed or a replay (with --lake, collecting into the lake as well).

    Channels: ticks, games, trades, sidebets, signals, paper; requests: get_status, get_game,
    get_signals (docs/live-api.md). With --paper, each strategy is paper-traded on the same
    observed ticks (as `rugslab paper`: nothing is sent to rugs.fun). Binds 127.0.0.1 by
    default; any other address needs --token-file. Runs until SIGINT/SIGTERM or --duration; a
    one-pass replay stops its source at the end (the paper runs end there: the game in play
    censored, their summaries printed at exit) and the server goes on serving what it holds.
    """
    from rugslab.config import Settings, parse_duration
    from rugslab.errors import ConfigError
    from rugslab.live.limits import Limits, read_token_file
    from rugslab.live.run import LiveOptions, serve_live
    from rugslab.paper.run import paper_specs
    from rugslab.strategy.engine import ExecutionRules

    if replay and not files:
        raise ConfigError("Invalid --replay without files: name the captures to replay, e.g. "
                          "`rugslab serve live --replay capture.jsonl --speed 20`.")
    if files and not replay:
        raise ConfigError(f"Invalid argument {str(files[0])!r}: files are replayed only with "
                          "--replay (e.g. `rugslab serve live --replay FILE...`).")
    if (speed != 1.0 or loop) and not replay:
        raise ConfigError("Invalid --speed/--loop without --replay: they scale a replay; the "
                          "live feed runs in real time.")
    if not bankroll > 0:
        raise ConfigError(f"Invalid --bankroll {bankroll!r}: expected SOL > 0.")
    if bankroll != 10.0 and not paper:
        raise ConfigError("Invalid --bankroll without --paper: it is the paper runs' "
                          "bankroll; name a strategy, e.g. --paper sidebet-fixed.")
    opts = LiveOptions(
        feed_url=None if replay else (feed or Settings.from_env().url),
        replay=tuple(files or ()), speed=speed, loop=loop, lake=lake, fit_lake=fit_lake,
        refit_every_s=parse_duration(refit_every, arg="--refit-every"),
        host=host, port=port,
        token=read_token_file(token_file) if token_file is not None else None,
        heartbeat_s=parse_duration(heartbeat, arg="--heartbeat"),
        limits=Limits(max_clients=max_clients, max_queue=max_queue),
        cors_origins=tuple(cors_origin or ()),
        duration_s=None if duration is None else parse_duration(duration),
        wait_for_clients=wait_for_clients,
        paper=paper_specs(paper or (), paper_param or ()),
        paper_rules=ExecutionRules(bankroll_sol=bankroll),
    )

    async def main() -> Any:
        stop = asyncio.Event()  # a signal stops the run cleanly: the lake gets what is held
        loop_ = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop_.add_signal_handler(sig, stop.set)
        return await serve_live(opts, stop=stop, announce=_announce_live)

    typer.echo(str(asyncio.run(main())))


def _announce_live(url: str) -> None:
    typer.echo(f"serving live on {url}  (Socket.IO; status: {url}/status)", nl=True)
