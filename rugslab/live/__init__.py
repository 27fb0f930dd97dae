"""The live side of rugslab: a Socket.IO server of the running game and its signals, and its
Python client.

    from rugslab import live
    async for tick in live.subscribe("ticks", url="http://127.0.0.1:8765"): ...

    rugslab serve live --replay capture.jsonl --speed 20     # the server (docs/live-api.md)

Modules: `signals` (what each tick's signals say, pure), `tracker` (frames → channel
messages), `channels` (filters, subscriptions), `limits` (error codes, token, rate),
`delivery` (bounded per-client queues), `requests` (screening, request handlers), `server`
(`LiveServer`), `run` (`serve_live`: feed or replay, collector and lake), `client`.
"""

from rugslab.live.client import DEFAULT_LIVE_URL, LiveClient, stream, subscribe
from rugslab.live.limits import ERROR_CODES, BadRequest, Limits
from rugslab.live.run import LiveOptions, serve_live
from rugslab.live.server import LiveServer
from rugslab.live.signals import SignalEngine

__all__ = ["DEFAULT_LIVE_URL", "ERROR_CODES", "BadRequest", "Limits", "LiveClient",
           "LiveOptions", "LiveServer", "SignalEngine", "serve_live", "stream", "subscribe"]
