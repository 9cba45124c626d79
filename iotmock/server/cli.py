"""`iotmock serve` (also `python -m iotmock serve`): the mock as a standalone server."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

from iotmock.server.http import (
    DEFAULT_HOST,
    DEFAULT_MAX_BODY,
    DEFAULT_PORT,
    DEFAULT_SOCKET_TIMEOUT,
    IotServer,
    ServerOptions,
)

if TYPE_CHECKING:
    from iotmock._mock import IotMock


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iotmock", description="An in-memory mock of AWS IoT (iot, iot-data, iot-jobs-data)."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve iot, iot-data and iot-jobs-data over HTTP on one port",
        description="Serve the AWS IoT APIs from in-memory state (see docs/server.md).",
    )
    serve.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to bind (default {DEFAULT_HOST}; any other is reachable from elsewhere)",
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0 picks a free one"
    )
    serve.add_argument(
        "--account-id",
        default=None,
        help="account of requests whose access key id is not a 12-digit account id "
        "(default 123456789012)",
    )
    serve.add_argument(
        "--region", default=None, help="region of unsigned requests (default us-east-1)"
    )
    serve.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a certificate from the mock CA; prints the CA bundle path",
    )
    serve.add_argument(
        "--max-body",
        type=int,
        default=DEFAULT_MAX_BODY,
        help=f"largest request body in bytes (default {DEFAULT_MAX_BODY})",
    )
    serve.add_argument(
        "--socket-timeout",
        type=float,
        default=DEFAULT_SOCKET_TIMEOUT,
        help=f"seconds a silent connection is kept (default {DEFAULT_SOCKET_TIMEOUT:g})",
    )
    serve.add_argument("--access-log", action="store_true", help="log each request to stderr")
    serve.add_argument(
        "--state",
        metavar="FILE",
        help="start from this snapshot (JSON, from IotMock.snapshot() or GET /_iotmock/state)",
    )
    serve.add_argument(
        "--save-state",
        metavar="FILE",
        help="write the state to this snapshot file on exit (may be the --state file)",
    )
    serve.add_argument(
        "--mqtt-port",
        type=int,
        default=None,
        help="also serve MQTT 3.1.1/5 over TLS to device clients on this port (0 picks a "
        "free one); prints the endpoint and the CA file clients trust (docs/devices.md)",
    )
    return parser


class _Stop(BaseException):
    """Raised by the SIGINT/SIGTERM handler in the main thread. A BaseException, like
    KeyboardInterrupt: socketserver catches `Exception` around request processing, which
    would swallow a signal arriving while the main thread starts a request's thread."""


# Both stop the server cleanly (SIGINT: Ctrl-C, also for a background job of a shell).
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from iotmock._mock import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, IotMock
    from iotmock.families import load_all

    load_all()  # registers every operation handler

    mock = IotMock(
        account_id=args.account_id or DEFAULT_ACCOUNT_ID, region=args.region or DEFAULT_REGION
    )
    if args.state:
        from iotmock.core.snapshot import SnapshotError, load_state

        try:
            load_state(mock, args.state)
        except (OSError, ValueError, SnapshotError) as exc:
            print(f"iotmock: cannot load the state {args.state}: {exc}", file=sys.stderr)
            return 1
    options = ServerOptions(
        host=args.host,
        port=args.port,
        tls=args.tls,
        max_body=args.max_body,
        socket_timeout=args.socket_timeout,
        access_log=args.access_log,
    )
    try:
        server = IotServer(mock, options).bind()
    except OSError as exc:
        print(f"iotmock: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    # Explicit handlers for both: a job started in the background by a shell inherits
    # SIGINT ignored, and Python then installs no KeyboardInterrupt handler of its own.
    # Installed before the start line, so whoever reads that line can stop the server.
    previous = {number: signal.signal(number, _stop) for number in _STOP_SIGNALS}
    try:
        return _serve(args, mock, server)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _serve(args: argparse.Namespace, mock: IotMock, server: IotServer) -> int:
    """Print the start line(s), serve until SIGINT or SIGTERM, stop and save."""
    try:
        line = (
            f"iotmock serving iot, iot-data, iot-jobs-data at {server.url} "
            f"(account {mock.account_id}, region {mock.region}"
        )
        if server.ca_bundle is not None:
            line += f", CA bundle {server.ca_bundle}"
        print(line + ")", flush=True)
        if args.mqtt_port is not None:
            mock.mqtt.enabled = True
            try:
                mock.mqtt.start(args.host, args.mqtt_port)
            except OSError as exc:
                print(
                    f"iotmock: cannot serve MQTT on {args.host}:{args.mqtt_port}: {exc}",
                    file=sys.stderr,
                )
                return 1
            print(
                f"iotmock serving MQTT at mqtts://{mock.mqtt.host}:{mock.mqtt.port} "
                f"(CA file {mock.mqtt.ca_file})",
                flush=True,
            )
        server.serve_forever()
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        for number in _STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)  # a second Ctrl-C does not cut the stop short
        mock.mqtt.stop()  # no-op without --mqtt-port
        server.stop()
    if args.save_state:
        from iotmock.core.snapshot import save_state

        save_state(mock, args.save_state)
        print(f"iotmock saved its state to {args.save_state}", flush=True)
    print("iotmock stopped", flush=True)
    return 0
