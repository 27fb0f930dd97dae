"""What the live server refuses, and how: error codes, the token check, the rate limit.

Every refusal carries a code from this list (clients branch on the code; the message is for
people and names the value and the fix):

    bad_token               connect: the token in the `auth` payload is missing or wrong
    server_full             connect: `max_clients` clients are connected
    rate_limited            more than `rate_per_s` messages in one second; the message is not
                            handled (dropped after `kick_after` such messages)
    message_too_large       a message longer than `max_message_bytes`; not read
    malformed               a packet that is not Socket.IO (bad JSON, binary, no event name)
    unknown_event           an event the server does not handle
    bad_request             a request whose argument is not what the event takes
    unknown_channel         subscribe / unsubscribe to a channel that does not exist
    bad_filter              a filter key or value the channel does not take
    too_many_subscriptions  more than `max_subscriptions` channels
    not_found               get_game of a game the server does not hold
    slow_consumer           the client's unsent messages passed `max_queue` (long-polling) or
                            `max_buffer_bytes` (websocket): dropped

A refused request that asked for an acknowledgement gets `{"ok": false, "code", "message"}` as
its acknowledgement; every refusal (but a connect's) is also an `error` event
`{"code", "message", "fatal"}`; `fatal: true` means the server is closing the connection.
"""

from __future__ import annotations

import hmac
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rugslab.errors import ConfigError, RugslabError

BAD_TOKEN = "bad_token"
SERVER_FULL = "server_full"
RATE_LIMITED = "rate_limited"
MESSAGE_TOO_LARGE = "message_too_large"
MALFORMED = "malformed"
UNKNOWN_EVENT = "unknown_event"
BAD_REQUEST = "bad_request"
UNKNOWN_CHANNEL = "unknown_channel"
BAD_FILTER = "bad_filter"
TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
NOT_FOUND = "not_found"
SLOW_CONSUMER = "slow_consumer"
ERROR_CODES = (BAD_TOKEN, SERVER_FULL, RATE_LIMITED, MESSAGE_TOO_LARGE, MALFORMED,
               UNKNOWN_EVENT, BAD_REQUEST, UNKNOWN_CHANNEL, BAD_FILTER, TOO_MANY_SUBSCRIPTIONS,
               NOT_FOUND, SLOW_CONSUMER)


def show(value: Any) -> str:
    """`repr(value)`, cut to 60 characters (a client's value quoted in a message)."""
    r = repr(value)
    return r if len(r) <= 60 else r[:57] + "..."


class BadRequest(RugslabError):
    """A client's request the server refuses; `.code` is one of `ERROR_CODES`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def reply(self) -> dict[str, Any]:
        """The negative acknowledgement."""
        return {"ok": False, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on clients (see the module docstring for what happens past each).

    Attributes:
        rate_per_s: messages a client may send in any one second.
        kick_after: refused (rate-limited) messages after which the client is dropped.
        max_message_bytes: longest message a client may send.
        max_subscriptions: channels one client may hold.
        max_queue: messages waiting to be written to one long-polling client (Engine.IO
            packets) before it is dropped as a slow consumer.
        max_buffer_bytes: bytes waiting to be written to one websocket client (its TCP
            transport's buffer, after what the kernel took) before it is dropped as a slow
            consumer (1 MiB: ~2,000 messages of the ticks and signals channels).
        max_clients: connected clients.
    """

    rate_per_s: int = 10
    kick_after: int = 20
    max_message_bytes: int = 16 * 1024
    max_subscriptions: int = 6
    max_queue: int = 1000
    max_buffer_bytes: int = 2**20
    max_clients: int = 1000

    def __post_init__(self) -> None:
        for name in ("rate_per_s", "kick_after", "max_message_bytes", "max_subscriptions",
                     "max_queue", "max_buffer_bytes", "max_clients"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"Invalid {name} {getattr(self, name)!r}: expected a whole "
                                  "number >= 1.")

    def as_dict(self) -> dict[str, int]:
        """The limits as plain data (for `get_status`)."""
        return {"rate_per_s": self.rate_per_s, "kick_after": self.kick_after,
                "max_message_bytes": self.max_message_bytes,
                "max_subscriptions": self.max_subscriptions, "max_queue": self.max_queue,
                "max_buffer_bytes": self.max_buffer_bytes, "max_clients": self.max_clients}


@dataclass(slots=True)
class RateWindow:
    """Messages of one client in the last second (a sliding window), and its refusals."""

    rate_per_s: int
    times: deque[float] = field(default_factory=deque)
    refused: int = 0
    last_error_s: float = -1e9

    def allow(self, now: float | None = None) -> bool:
        """Count a message at `now` (monotonic s); False when it is over the rate."""
        t = time.monotonic() if now is None else now
        while self.times and t - self.times[0] >= 1.0:
            self.times.popleft()
        if len(self.times) >= self.rate_per_s:
            self.refused += 1
            return False
        self.times.append(t)
        return True

    def should_say(self, now: float | None = None) -> bool:
        """Whether to send a `rate_limited` error now: at most one a second."""
        t = time.monotonic() if now is None else now
        if t - self.last_error_s >= 1.0:
            self.last_error_s = t
            return True
        return False


def token_matches(given: Any, expected: str) -> bool:
    """Constant-time comparison of a client's token with the server's (`hmac.compare_digest`
    on the UTF-8 bytes; a token that is not a string never matches)."""
    if type(given) is not str:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def read_token_file(path: Path | str) -> str:
    """The token in `path` (its first line, stripped).

    Raises:
        ConfigError: the file cannot be read, or holds no token, or one shorter than 16
            characters; the message names the file and the fix.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"Invalid --token-file {str(p)!r}: cannot read it ({e}). Write a "
                          "token into it, e.g. `python -c 'import secrets; "
                          "print(secrets.token_urlsafe(32))' > PATH`.") from e
    token = (text.splitlines() or [""])[0].strip()
    if len(token) < 16:
        raise ConfigError(f"Invalid --token-file {str(p)!r}: its first line holds "
                          f"{len(token)} characters; expected a token of at least 16, e.g. "
                          "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`.")
    return token
