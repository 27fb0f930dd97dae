"""`rugslab players`: players' games rebuilt from the feed and the agreement rate of their
ledgers with the server's leaderboard. Thin: calls `rugslab.Lake.players` and prints it."""

from __future__ import annotations

from pathlib import Path

import typer

from rugslab.cli import app
from rugslab.config import Settings

_LAKE_HELP = "Lake folder (default: $RUGSLAB_LAKE or ./lake)."


@app.command("players")
def players_command(
    lake: Path | None = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
    game: str | None = typer.Option(None, "--game", help="Only this game id."),
    player: str | None = typer.Option(None, "--player", help="Only this player id."),
) -> None:
    """Print players' games (trades, side bets, PnL at the rug) and the reconciliation.

    Each leaderboard row of the server is compared with the ledger rebuilt from the feed's
    trades: match, mismatch (shown with its differences) or incomplete (the feed lacks the
    player's trades). The agreement rate is matches / (matches + mismatches).

    Exit status 0; 2 for a missing lake or a bad option.
    """
    from rugslab.api import Lake

    path = lake if lake is not None else Settings.from_env().lake
    if not Path(path).is_dir():
        raise typer.BadParameter(f"no lake at {str(path)!r}: run `rugslab ingest` first or "
                                 "pass --lake DIR", param_hint="--lake")
    summary = Lake(path).players(game_id=game, player_id=player)
    typer.echo(str(summary))
