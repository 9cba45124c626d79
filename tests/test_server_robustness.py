"""The server under malformed, oversized, slow and concurrent clients (raw sockets)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from server_helpers import request, served, signed_headers

from iotmock import IotMock
from iotmock.registry.records import registry_of
from iotmock.server.http import IotServer, ServerOptions

__all__ = ["served"]


def _raw(server: IotServer, data: bytes, *, half_close: bool = False) -> bytes:
    """Send `data` on a fresh connection; everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def _healthy(server: IotServer) -> None:
    status, _, body = request(server.port, "GET", "/_iotmock/health")
    assert status == 200 and json.loads(body)["status"] == "ok"


def test_garbage_gets_a_400_and_the_server_goes_on(served: IotServer) -> None:
    answer = _raw(served, b"\x00\xff\xfe garbage \x01\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"connection: close" in answer
    answer = _raw(served, b"GET /things HTTP/1.1\r\nConnection: close\r\nBad header line\r\n\r\n")
    assert answer.split(b" ", 2)[1] in (b"400", b"200")  # stdlib may tolerate the line
    _healthy(served)


def test_truncated_body_changes_nothing(served: IotServer) -> None:
    head = (
        b"POST /things/half HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
    )
    answer = _raw(served, head + b'{"thingTypeN', half_close=True)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"Truncated request body" in answer
    assert len(registry_of(served.mock.backend()).things) == 0
    _healthy(served)


@pytest.mark.parametrize("length", ["abc", "-5", "1e3"])
def test_invalid_content_length_is_refused(served: IotServer, length: str) -> None:
    answer = _raw(served, f"POST /things/x HTTP/1.1\r\nContent-Length: {length}\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert len(registry_of(served.mock.backend()).things) == 0


def test_body_over_the_cap_is_refused_before_it_is_read(served: IotServer) -> None:
    head = b"POST /things/big HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n"
    answer = _raw(served, head)  # the body is never sent: the server must not wait for it
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert b"x-amzn-errortype: RequestEntityTooLargeException" in rest
    _healthy(served)


def test_chunked_bodies_are_read_and_capped() -> None:
    mock = IotMock()
    server = IotServer(mock, ServerOptions(max_body=64)).start()
    try:
        body = b'{"attributePayload": {"attributes": {"a": "1"}}}'
        chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
        head = (
            b"POST /things/chunky HTTP/1.1\r\nHost: iot.us-east-1.localhost\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        assert _raw(server, head + chunked).startswith(b"HTTP/1.1 200 ")
        assert registry_of(mock.backend()).things["chunky"].attributes == {"a": "1"}
        big = b"100\r\n" + b"x" * 256 + b"\r\n0\r\n\r\n"
        assert _raw(server, head.replace(b"chunky", b"big") + big).startswith(b"HTTP/1.1 413 ")
        assert "big" not in registry_of(mock.backend()).things
    finally:
        server.stop()


@pytest.mark.parametrize(
    "size_line",
    [b"-1", b"-40", b"+5", b"0x5", b"5_0", b" 5", b"5 junk", b"", b"5\x00", b"1" * 17],
)
def test_chunk_sizes_that_are_not_plain_hex_are_refused(size_line: bytes) -> None:
    # int("-1", 16) is -1, and rfile.read(-1) would read (and hold) whatever the client
    # sends until it closes: no cap at all.
    mock = IotMock()
    server = IotServer(mock, ServerOptions(max_body=64, socket_timeout=30)).start()
    try:
        head = (
            b"POST /things/neg HTTP/1.1\r\nHost: iot.us-east-1.localhost\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(head + size_line + b"\r\n" + b"x" * 4096)  # and the socket stays open
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        assert b"Bad chunk size" in answer and b"connection: close" in answer
        assert "neg" not in registry_of(mock.backend()).things
        # Extensions after the size are still allowed.
        ok = b"2;name=value\r\n{}\r\n0\r\n\r\n"
        closing = head.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
        assert _raw(server, closing.replace(b"neg", b"ext") + ok).startswith(b"HTTP/1.1 200 ")
        _healthy(server)
    finally:
        server.stop()


def test_a_silent_client_is_dropped_after_the_socket_timeout() -> None:
    server = IotServer(IotMock(), ServerOptions(socket_timeout=0.3)).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET /things HTTP/1.1\r\nHost: ")  # and then nothing
            started = time.monotonic()
            assert sock.recv(1024) == b""  # closed by the server
            assert time.monotonic() - started < 3
        _healthy(server)
    finally:
        server.stop()


def test_bad_json_and_bad_encodings_get_modeled_400s(served: IotServer) -> None:
    iot = signed_headers("iot")
    status, headers, body = request(served.port, "POST", "/things/x", b"{not json", iot)
    assert status == 400
    assert headers["x-amzn-errortype"] == "InvalidRequestException"
    assert "Could not read the request" in json.loads(body)["message"]
    status, headers, _ = request(served.port, "POST", "/things/x", b'{"a": "\xff\xfe"}', iot)
    assert (status, headers["x-amzn-errortype"]) == (400, "InvalidRequestException")
    status, headers, body = request(served.port, "GET", "/things/%FF%FE", None, iot)
    assert (status, headers["x-amzn-errortype"]) == (400, "InvalidRequestException")
    assert "regular expression" in json.loads(body)["message"]
    assert len(registry_of(served.mock.backend()).things) == 0


def test_unknown_paths_and_methods(served: IotServer) -> None:
    status, headers, body = request(served.port, "GET", "/no/such/thing/here")
    assert (status, headers["x-amzn-errortype"]) == (404, "UnknownOperationException")
    assert b"No iot, iot-data or iot-jobs-data operation matches" in body
    answer = _raw(served, b"BREW /things HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 501 ")
    _healthy(served)


def test_concurrent_clients_lose_no_update(served: IotServer) -> None:
    thread_count, per_thread = 8, 50
    iot, data = signed_headers("iot"), signed_headers("iotdata")
    assert request(served.port, "POST", "/things/shared", b"{}", iot)[0] == 200
    failures: list[object] = []

    def client(number: int) -> None:
        # One keep-alive connection per client, as SDKs do.
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        try:
            for index in range(per_thread):
                if index % 2:
                    document = {"state": {"reported": {f"c{number}": index}}}
                    path, headers = "/things/shared/shadow", data
                else:
                    document = {
                        "attributePayload": {
                            "attributes": {"last": f"{number}-{index}"},
                            "merge": True,
                        }
                    }
                    path, headers = "/things/shared", {**iot}
                    connection.request("PATCH", path, json.dumps(document), headers)
                    response = connection.getresponse()
                    answer = response.read()
                    if response.status != 200:
                        failures.append((response.status, answer))
                    continue
                connection.request("POST", path, json.dumps(document), headers)
                response = connection.getresponse()
                answer = response.read()
                if response.status != 200:
                    failures.append((response.status, answer))
        except Exception as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(thread_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    updates = thread_count * per_thread // 2
    backend = served.mock.backend()
    assert registry_of(backend).things["shared"].version == 1 + updates
    status, _, body = request(served.port, "GET", "/things/shared/shadow", None, data)
    shadow = json.loads(body)
    assert status == 200 and shadow["version"] == updates
    assert shadow["state"]["reported"] == {f"c{n}": per_thread - 1 for n in range(thread_count)}
    last = registry_of(backend).things["shared"].attributes["last"]
    assert last in {f"{n}-{per_thread - 2}" for n in range(thread_count)}


@pytest.fixture
def many_connections() -> Iterator[IotServer]:
    server = IotServer(IotMock(), ServerOptions(max_connections=4, socket_timeout=5)).start()
    yield server
    server.stop()


def test_connections_over_the_limit_are_closed_not_queued_forever(
    many_connections: IotServer,
) -> None:
    held = [
        socket.create_connection(("127.0.0.1", many_connections.port), timeout=5) for _ in range(4)
    ]
    try:
        # The server counts a connection once its thread runs: wait for all four, as a
        # fixed sleep is not enough on a loaded machine.
        deadline = time.monotonic() + 10
        while many_connections.connection_count() < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert many_connections.connection_count() == 4
        extra = socket.create_connection(("127.0.0.1", many_connections.port), timeout=5)
        with extra:
            extra.sendall(b"GET /_iotmock/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert extra.recv(1024) == b""
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 10
    while many_connections.connection_count() >= 4 and time.monotonic() < deadline:
        time.sleep(0.02)  # the server notices the closed connections
    _healthy(many_connections)
