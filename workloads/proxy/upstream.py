"""One HTTP/1.1 exchange with a workload replica, bounded by an overall deadline.

Per-read socket timeouts do not bound an exchange: an upstream that sends a byte just
before each timeout holds the web worker forever. Here every blocking socket call waits at
most until the exchange's deadline, so connect, request body, response headers and
response body together end by then, however the upstream paces its bytes.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CHUNK = 64 * 1024


class UpstreamFailed(Exception):
    """The upstream broke HTTP (bad status line or headers, reset, short body): 502."""


class ConnectFailed(UpstreamFailed):
    """No connection was made, so nothing was sent: another replica may be tried."""


class DeadlineExceeded(TimeoutError):
    """The exchange ran past its deadline: 504."""


@dataclass(frozen=True)
class Deadline:
    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("the upstream did not finish within the deadline")
        return left


class _DeadlineSocket(socket.socket):
    """A socket whose every blocking call gives up at the deadline (http.client and its
    buffered reader call these methods for each system call)."""

    deadline: Deadline

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self.settimeout(self.deadline.remaining())
        return super().recv(bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self.settimeout(self.deadline.remaining())
        return super().recv_into(buffer, nbytes, flags)

    def send(self, data: Any, flags: int = 0) -> int:
        self.settimeout(self.deadline.remaining())
        return super().send(data, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        # Since Python 3.5 the timeout bounds the whole sendall, not each partial send.
        self.settimeout(self.deadline.remaining())
        super().sendall(data, flags)


class _Connection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, deadline: Deadline) -> None:
        super().__init__(host, port)
        self.deadline = deadline

    def connect(self) -> None:
        plain = socket.create_connection((self.host, self.port), self.deadline.remaining())
        bounded = _DeadlineSocket(plain.family, plain.type, plain.proto, fileno=plain.detach())
        bounded.deadline = self.deadline
        bounded.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = bounded


@dataclass
class Exchange:
    """An answered request: status and headers read and checked, the body still unread."""

    connection: _Connection
    response: http.client.HTTPResponse
    # The upstream's Content-Length when it framed the body by length, else None.
    content_length: int | None

    def read(self) -> bytes:
        """The next piece of the body, as soon as it arrives; b"" at its end. Raises
        UpstreamFailed for a broken or short body and DeadlineExceeded at the deadline."""
        try:
            piece = self.response.read1(CHUNK)
        except TimeoutError as error:
            raise DeadlineExceeded(str(error)) from error
        except (http.client.HTTPException, OSError, ValueError) as error:
            raise UpstreamFailed(
                f"the upstream broke off its answer ({type(error).__name__})"
            ) from error
        if piece or self.content_length is None or self.response.length in (None, 0):
            return piece
        # http.client ends a length-framed body quietly when the peer closes early.
        raise UpstreamFailed("the upstream closed the connection before the end of its answer")

    def close(self) -> None:
        self.connection.close()


def exchange(
    address: str,
    *,
    method: str,
    target: str,
    headers: dict[str, str],
    body: Iterable[bytes] | None,
    length: int | None,
    deadline: Deadline,
) -> Exchange:
    """Send the request to ``address`` (``host:port``) and read the answer's head.

    ``length`` frames ``body`` with Content-Length; a body without one is sent chunked.
    Raises ConnectFailed before anything was sent, UpstreamFailed for a protocol error,
    DeadlineExceeded past the deadline; exceptions from ``body`` propagate unchanged."""
    host, port = address.rsplit(":", 1)
    connection = _Connection(host, int(port), deadline)
    try:
        connection.connect()
    except TimeoutError as error:
        connection.close()
        raise DeadlineExceeded(str(error)) from error
    except OSError as error:
        connection.close()
        raise ConnectFailed(f"could not connect to a replica ({type(error).__name__})") from error
    try:
        _send(connection, method, target, headers, body, length)
        response = connection.getresponse()
        content_length = _checked_framing(response)
    except TimeoutError as error:
        connection.close()
        raise DeadlineExceeded(str(error)) from error
    except (http.client.HTTPException, OSError, ValueError) as error:
        connection.close()
        raise UpstreamFailed(
            f"the upstream's answer is not valid HTTP ({type(error).__name__})"
        ) from error
    except BaseException:
        connection.close()
        raise
    return Exchange(connection, response, content_length)


def _send(
    connection: _Connection,
    method: str,
    target: str,
    headers: dict[str, str],
    body: Iterable[bytes] | None,
    length: int | None,
) -> None:
    # putrequest sends the target as given (it is printable ASCII already); Host comes from
    # the replica's address, Accept-Encoding only from the client.
    connection.putrequest(method, target, skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name, value)
    chunked = body is not None and length is None
    if length is not None:
        connection.putheader("Content-Length", str(length))
    elif chunked:
        connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    for piece in body or ():
        if not piece:
            continue
        connection.send(b"%X\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
    if chunked:
        connection.send(b"0\r\n\r\n")


def _checked_framing(response: http.client.HTTPResponse) -> int | None:
    """Refuse answers whose framing a proxy cannot relay faithfully (RFC 9112 §6.3)."""
    if not 200 <= response.status <= 599:
        # 1xx other than 100 would be taken for the final answer; above 599 is not HTTP.
        raise http.client.HTTPException(f"status {response.status}")
    if response.msg.defects:
        # A line that is no header ends http.client's header section early, silently
        # dropping the fields after it (Content-Length among them).
        raise http.client.HTTPException("a malformed header section")
    encodings = response.msg.get_all("Transfer-Encoding") or []
    if encodings and not response.chunked:
        raise http.client.HTTPException("a transfer coding other than chunked")
    lengths = {value.strip() for value in response.msg.get_all("Content-Length") or []}
    if response.chunked or not lengths:
        return None
    if len(lengths) > 1 or not next(iter(lengths)).isdigit():
        # Conflicting or malformed lengths are how responses get smuggled.
        raise http.client.HTTPException("conflicting or malformed Content-Length")
    return int(next(iter(lengths)))
