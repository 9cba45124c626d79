"""The HTTP server: the mock's state for any process that speaks the AWS protocol.

A standard-library `ThreadingHTTPServer` (one thread per connection, HTTP/1.1 keep-alive)
reads each request, finds its service, account and region (`routing`), and hands it to the
same `dispatch` the in-process interception uses: routing, decoding, validation, handlers
and encoding are shared, and the mock's lock serializes state access. `/_iotmock/` is the
control API (`control`).

Malformed input never reaches the handlers: bodies over the cap answer 413, bad or
missing lengths and truncated bodies 400, and a client that stops sending is dropped after
the socket timeout. The connection is closed after each such answer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import ssl
import sys
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from iotmock.core.dispatch import dispatch
from iotmock.core.errors import ServiceError
from iotmock.core.model import SERVICE_NAMES
from iotmock.core.protocol import RawRequest, RawResponse, encode_error
from iotmock.families import load_all
from iotmock.server.control import PREFIX, Control
from iotmock.server.routing import resolve
from iotmock.server.tls import TlsFiles, issue_server_files

if TYPE_CHECKING:
    from iotmock._mock import IotMock

logger = logging.getLogger("iotmock.server")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5588
# The largest IoT request body is an iot-data Publish payload (128 KB, answered 413 by
# the handler past that); 1 MiB leaves room for every modeled request and nothing more.
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_SOCKET_TIMEOUT = 60.0
DEFAULT_MAX_CONNECTIONS = 256
# A chunk-size line (RFC 9112 7.1): hex digits, optional extensions, the line end.
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")


@dataclass(frozen=True, slots=True)
class ServerOptions:
    host: str = DEFAULT_HOST
    port: int = 0
    tls: bool = False
    max_body: int = DEFAULT_MAX_BODY
    # Seconds a connection may stay silent (idle keep-alive, slow headers or body).
    socket_timeout: float = DEFAULT_SOCKET_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    access_log: bool = False


class _BodyError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _error_response(status: int, code: str, message: str) -> RawResponse:
    body = json.dumps({"message": message}).encode()
    return RawResponse(
        status,
        {
            "content-type": "application/json",
            "x-amzn-errortype": code,
            "content-length": str(len(body)),
        },
        body,
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        app = self.server.app
        self.request.settimeout(app.options.socket_timeout)
        if app.ssl_context is not None:
            # The handshake runs here, in the connection's own thread, under the timeout:
            # a slow or plain-text client cannot hold up the accept loop.
            self.request = app.ssl_context.wrap_socket(self.request, server_side=True)
        super().setup()
        app.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.app.untrack(self.connection)

    # The standard library answers malformed request lines and headers through send_error;
    # answer them as the rest of the server does, in JSON, and drop the connection.
    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self._write(_error_response(code, "BadRequest", message or explain or ""), close=True)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.app.options.access_log:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _serve(self) -> None:
        app = self.server.app
        try:
            body = self._read_body(app.options.max_body)
        except _BodyError as error:
            self._write(_error_response(error.status, error.code, error.message), close=True)
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            response = app.answer(self.command, self.path, headers, body)
        except Exception:  # never let one request take the connection thread down silently
            logger.exception("iotmock server failed on %s %s", self.command, self.path)
            response = _error_response(500, "InternalFailureException", "iotmock server error")
        self._write(response)
        self.log_request(response.status, len(response.body))

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve

    def _read_body(self, cap: int) -> bytes:
        encoding = self.headers.get("transfer-encoding")
        if encoding is not None:
            if encoding.strip().lower() != "chunked":
                raise _BodyError(501, "NotImplemented", f"Transfer-Encoding {encoding}")
            return self._read_chunked(cap)
        length_text = self.headers.get("content-length")
        if length_text is None:
            return b""
        if not length_text.strip().isdigit():
            raise _BodyError(400, "InvalidRequestException", "Invalid Content-Length header")
        length = int(length_text)
        if length > cap:
            raise _BodyError(
                413,
                "RequestEntityTooLargeException",
                f"The request body ({length} bytes) is larger than this server accepts "
                f"({cap} bytes).",
            )
        body = self.rfile.read(length)
        if len(body) != length:
            raise _BodyError(400, "InvalidRequestException", "Truncated request body")
        return body

    def _read_chunked(self, cap: int) -> bytes:
        parts: list[bytes] = []
        size_total = 0
        while True:
            line = self.rfile.readline(1024)
            # chunk-size [ ";" extensions ] CRLF, the size in hex digits and nothing else:
            # int(..., 16) alone would take "-1" (then read(-1) reads until the client
            # closes), "+5", "0x10" or "1_0".
            found = _CHUNK_SIZE.fullmatch(line)
            if found is None:
                raise _BodyError(400, "InvalidRequestException", "Bad chunk size")
            size = int(found.group(1), 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            size_total += size
            if size_total > cap:
                raise _BodyError(
                    413, "RequestEntityTooLargeException", f"Request body over {cap} bytes"
                )
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _BodyError(400, "InvalidRequestException", "Truncated chunked body")
            parts.append(chunk)

    def _write(self, response: RawResponse, close: bool = False) -> None:
        if close:
            self.close_connection = True
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = ""
        lines = [f"HTTP/1.1 {response.status} {phrase}"]
        lines.extend(f"{name}: {value}" for name, value in response.headers.items())
        if "content-length" not in response.headers:
            lines.append(f"content-length: {len(response.body)}")
        if self.close_connection:
            lines.append("connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "replace")
        try:
            self.wfile.write(head + response.body)
        except OSError:
            self.close_connection = True  # the client went away


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # listen backlog: bursts of concurrent clients connect

    def __init__(self, address: tuple[str, int], app: IotServer) -> None:
        self.app = app
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN (a DNS query); not needed here.
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        if self.app.connection_count() >= self.app.options.max_connections:
            logger.warning("iotmock server: refusing %s, too many connections", client_address)
            return False
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that resets, times out or fails the TLS handshake ends its own
        # connection only; the server goes on.
        logger.debug("iotmock server: connection from %s ended", client_address, exc_info=True)


class IotServer:
    """One HTTP(S) server answering a mock's `iot`, `iot-data` and `iot-jobs-data`."""

    services = SERVICE_NAMES

    def __init__(self, mock: IotMock, options: ServerOptions | None = None) -> None:
        self.mock = mock
        self.options = options or ServerOptions()
        self.control = Control(mock, self.services)
        self.tls_files: TlsFiles | None = None
        self.ssl_context: ssl.SSLContext | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def bind(self) -> IotServer:
        """Open the listening socket (and the TLS files); `serve_forever` or `start` next."""
        load_all()  # a mock served without being started must answer every operation too
        if self.options.tls:
            self.tls_files = issue_server_files(
                self.options.host, self.mock.account_id, self.mock.region
            )
            self.ssl_context = self.tls_files.context()
        self._httpd = _HTTPServer((self.options.host, self.options.port), self)
        return self

    def start(self) -> IotServer:
        """Serve in a background (daemon) thread."""
        if self._httpd is None:
            self.bind()
        assert self._httpd is not None
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"iotmock-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until `shutdown()` from another thread or an exception."""
        if self._httpd is None:
            self.bind()
        assert self._httpd is not None
        self._httpd.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        """Stop accepting, close every open connection and remove the TLS files."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        if self._thread is not None:
            httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with self._connections_lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self.tls_files is not None:
            self.tls_files.remove()

    # ------------------------------------------------------------------ addresses

    @property
    def host(self) -> str:
        return self.options.host

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("iotmock server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.options.tls else "http"
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}"

    @property
    def ca_bundle(self) -> str | None:
        return str(self.tls_files.ca_bundle) if self.tls_files is not None else None

    # ------------------------------------------------------------------ connections

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def connection_count(self) -> int:
        return len(self._connections)

    # ------------------------------------------------------------------ requests

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> RawResponse:
        """The response to one request (`target` is the request line's path and query)."""
        parts = urlsplit(target)
        path = parts.path or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        if path.startswith(PREFIX) or path == PREFIX.rstrip("/"):
            return self.control.handle(method, path, query, body)
        try:
            where = resolve(method, path, query, headers, self.mock.account_id, self.mock.region)
        except ServiceError as error:
            return encode_error("iot", error)
        # A presigned URL's signature parameters are not the operation's input.
        query = {k: v for k, v in query.items() if not k.startswith("X-Amz-")}
        request = RawRequest(method, path, query, headers, body)
        address = headers.get("host") or self.url.split("://", 1)[1]
        _, response = dispatch(
            self.mock, where.service, request, where.account_id, where.region, address
        )
        return response
