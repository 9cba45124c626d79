"""The MQTT endpoint: an asyncio TLS server in a daemon thread, serving one mock.

`MqttListener(mock, host, port).start()` binds (port 0 picks a free port) and returns once
the socket listens; `stop()` closes every connection (each reports its end to the session
layer as SERVER_INITIATED_DISCONNECT) and joins the thread. `m.mqtt`
(`mock_iot(mqtt=True)`, `iotmock serve --mqtt-port`) runs one; `start_listener(mock, host,
port)` starts another: every listener serves the same sessions, since routing is the
session layer's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from typing import TYPE_CHECKING, Any

from iotmock.devices.mqtt import limits, tls
from iotmock.devices.mqtt.auth import account_of, trusted_pems
from iotmock.devices.mqtt.connection import DeviceConnection, PeerCertificate

if TYPE_CHECKING:
    from iotmock._mock import IotMock

# Clients that open a socket and never finish the TLS handshake are dropped after this.
HANDSHAKE_TIMEOUT_SECONDS = 10.0


class MqttListener:
    """An MQTT over TLS endpoint (MQTT 3.1.1 and 5, client-certificate authentication)."""

    def __init__(self, mock: IotMock, host: str = "127.0.0.1", port: int = 0) -> None:
        self.mock = mock
        self.host = host
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.thread_id: int | None = None
        # Set before start(): seconds allowed for the TLS handshake, then for CONNECT.
        self.handshake_timeout = HANDSHAKE_TIMEOUT_SECONDS
        self.connect_timeout = limits.CONNECT_TIMEOUT_SECONDS
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[DeviceConnection] = set()
        self._identity = tls.server_identity(tls.server_names(mock, host))
        self._trust = tls.server_context(self._identity)

    @property
    def ca_file(self) -> str:
        """Path of the PEM root CA the server certificate chains to (pass it to clients)."""
        return self._identity.ca_file

    @property
    def connections(self) -> int:
        """How many device connections are open."""
        return len(self._connections)

    def connection(self, client_id: str) -> DeviceConnection | None:
        """The open connection of `client_id`, if any (for tests: its `backlog`)."""
        for connection in list(self._connections):
            session = connection.session
            if session is not None and session.client_id == client_id and not connection.closed:
                return connection
        return None

    # ------------------------------------------------------------------ start / stop

    def start(self) -> MqttListener:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.thread_id = threading.get_ident()
            self.loop.set_exception_handler(_quiet_exceptions)
            try:
                self.loop.run_until_complete(self._open())
            except BaseException as error:  # reported to start()'s caller
                failure.append(error)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

        self._thread = threading.Thread(target=run, name="iotmock-mqtt", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    async def _open(self) -> None:
        self._server = await self.loop.create_server(
            self._protocol,
            self.host,
            self.port,
            ssl=self._trust.context,
            ssl_handshake_timeout=self.handshake_timeout,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        """Close every connection and the listening socket; idempotent. Do not hold the
        mock's lock while calling it (connections take it as they close)."""
        thread = self._thread
        if thread is None:
            return
        self._thread = None
        if self.loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._close(), self.loop)
            with contextlib.suppress(Exception):
                future.result(timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
        thread.join(timeout=10)
        self._identity.directory.cleanup()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.close("SERVER_INITIATED_DISCONNECT")
        tasks = [t for t in asyncio.all_tasks(self.loop) if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ connections

    def _protocol(self) -> asyncio.StreamReaderProtocol:
        # Runs for each accepted socket before its TLS handshake starts: trust the
        # certificates the mock knows right now (see tls.py).
        with self.mock.lock:
            pems = trusted_pems(self.mock)
        self._trust.add(pems)
        reader = asyncio.StreamReader(limit=2**20, loop=self.loop)
        return asyncio.StreamReaderProtocol(reader, self._serve, loop=self.loop)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        peer: PeerCertificate | None = None
        if der is not None:
            with self.mock.lock:
                backend = account_of(self.mock, der)
            peer = PeerCertificate(
                ssl.DER_cert_to_PEM_cert(der), backend.account_id, backend.region
            )
        connection = DeviceConnection(self, reader, writer, peer)
        self._connections.add(connection)
        try:
            await connection.run()
        finally:
            self._connections.discard(connection)


def _quiet_exceptions(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Broken client connections (failed handshakes, resets) are expected here; anything
    else goes to the default handler."""
    error = context.get("exception")
    if isinstance(error, (OSError, asyncio.CancelledError, EOFError)):
        return
    loop.default_exception_handler(context)


def start_listener(mock: IotMock, host: str = "127.0.0.1", port: int = 0) -> MqttListener:
    """Start an MQTT endpoint for `mock` on `host`:`port` (0: a free port)."""
    return MqttListener(mock, host, port).start()
