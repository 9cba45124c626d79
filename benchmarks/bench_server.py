"""Server-mode throughput: iotmock's server against moto's server, side by side.

Both servers run as subprocesses on free loopback ports. A thing and its shadow are
created in each through boto3; then signed DescribeThing and UpdateThingShadow requests,
prepared once by botocore, are replayed over one keep-alive `http.client` connection for a
fixed time, and requests per second are printed for both, with the ratio.

    python benchmarks/bench_server.py [--seconds 3]

Numbers are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSResponse

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
THING = "bench-thing"
SHADOW = b'{"state": {"reported": {"temperature": 21, "firmware": "1.0.3"}}}'


@dataclass
class Prepared:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIABENCHMARK",
        AWS_SECRET_ACCESS_KEY="x",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(ROOT / ".no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(ROOT / ".no-aws-credentials"),
        PYTHONPATH=str(ROOT),
    )
    return env


def start_iotmock() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "iotmock", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    assert process.stdout is not None
    found = re.search(r"at (http://\S+) ", process.stdout.readline())
    assert found, "iotmock serve printed no URL"
    return process, found.group(1)


def start_moto() -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    moto_server = Path(sys.executable).with_name("moto_server")
    command = [str(moto_server)] if moto_server.exists() else [sys.executable, "-m", "moto.server"]
    process = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_environment(),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto_server did not start")


def _client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="AKIABENCHMARK",
        aws_secret_access_key="x",
    )


def prepare(service: str, url: str, operation: str, **params: Any) -> Prepared:
    """The signed HTTP request botocore would send for one call, without sending it."""
    client = _client(service, url)
    captured: list[Prepared] = []

    def capture(request: Any, **kwargs: Any) -> AWSResponse:
        split = urlsplit(request.url)
        path = split.path + (f"?{split.query}" if split.query else "")
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else bytes(body)
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        captured.append(Prepared(request.method, path, headers, body))
        return AWSResponse(request.url, 200, {}, _Empty())

    client.meta.events.register_first("before-send", capture)
    # The empty canned answer may not parse for every operation; the request is captured.
    with contextlib.suppress(Exception):
        getattr(client, operation)(**params)
    return captured[0]


class _Empty:
    def stream(self, *args: Any, **kwargs: Any) -> Any:
        yield b"{}"


def replay(url: str, request: Prepared, seconds: float) -> float:
    """Requests per second over one keep-alive connection."""
    split = urlsplit(url)
    connection = http.client.HTTPConnection(split.hostname, split.port, timeout=30)
    headers = dict(request.headers)
    count = 0
    try:
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        while True:
            connection.request(request.method, request.path, request.body, headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{url} answered {response.status} to {request.path}")
            count += 1
            if count % 50 == 0 and time.perf_counter() >= deadline:
                break
        return count / (time.perf_counter() - started)
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    servers = {"iotmock": start_iotmock(), "moto_server": start_moto()}
    try:
        requests: dict[str, dict[str, Prepared]] = {}
        for name, (_, url) in servers.items():
            _client("iot", url).create_thing(thingName=THING)
            _client("iot-data", url).update_thing_shadow(thingName=THING, payload=SHADOW)
            requests[name] = {
                "DescribeThing": prepare("iot", url, "describe_thing", thingName=THING),
                "UpdateThingShadow": prepare(
                    "iot-data", url, "update_thing_shadow", thingName=THING, payload=SHADOW
                ),
            }
        print(f"{'operation':<20}{'iotmock req/s':>16}{'moto_server req/s':>20}{'ratio':>8}")
        for operation in ("DescribeThing", "UpdateThingShadow"):
            rates = {}
            for name, (_, url) in servers.items():
                replay(url, requests[name][operation], 0.5)  # warm up
                rates[name] = replay(url, requests[name][operation], args.seconds)
            ratio = rates["iotmock"] / rates["moto_server"]
            print(
                f"{operation:<20}{rates['iotmock']:>16,.0f}{rates['moto_server']:>20,.0f}"
                f"{ratio:>7.1f}x"
            )
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
