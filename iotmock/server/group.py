"""`m.server`: the in-process server of `mock_iot(server=True)`.

While the mock is active, its own state is served on a free loopback port, and the AWS
SDKs' service-specific endpoint variables point every IoT client of a child process
(the AWS CLI, a Node or Go service, a shell script) at it, so those calls reach the same
state as the test's own boto3 calls instead of AWS.

The environment is the process's, not a mock's: with several server mocks active at once
(in different threads or tasks), the variables name the most recently started one still
active, and when the last one stops they are as they were before the first started. The
fake credentials and region every mock sets are `iotmock.environment`'s.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iotmock._mock import IotMock
    from iotmock.server.http import IotServer

# The AWS SDKs' per-service endpoint variables (`AWS_ENDPOINT_URL_<service id>`, the
# service id upper-cased with spaces as underscores), honoured by botocore >= 1.31, the
# AWS CLI, and the SDKs for JavaScript v3, Go v2 and Java v2.
ENDPOINT_VARIABLES = (
    "AWS_ENDPOINT_URL_IOT",
    "AWS_ENDPOINT_URL_IOT_DATA_PLANE",
    "AWS_ENDPOINT_URL_IOT_JOBS_DATA_PLANE",
)


class _Endpoints:
    """The endpoint variables of the process, shared by every active server mock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: list[ServerGroup] = []  # in start order
        self._saved: dict[str, str | None] = {}  # before the first one started

    def push(self, group: ServerGroup) -> None:
        with self._lock:
            if not self._active:
                self._saved = {name: os.environ.get(name) for name in ENDPOINT_VARIABLES}
            self._active.append(group)
            os.environ.update(group.environment())

    def pop(self, group: ServerGroup) -> None:
        with self._lock:
            if group not in self._active:
                return
            self._active.remove(group)
            if self._active:
                os.environ.update(self._active[-1].environment())
                return
            for name, value in self._saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            self._saved = {}


_ENDPOINTS = _Endpoints()


class ServerGroup:
    """The HTTP server of one mock; running while the mock is active if it was created
    with `server=True`."""

    def __init__(self, mock: IotMock, enabled: bool = False) -> None:
        self._mock = mock
        self.enabled = enabled
        self._server: IotServer | None = None

    def start(self) -> None:
        if not self.enabled or self._server is not None:
            return
        from iotmock.server.http import IotServer, ServerOptions

        self._server = IotServer(self._mock, ServerOptions(host="127.0.0.1", port=0)).start()
        _ENDPOINTS.push(self)

    def stop(self) -> None:
        if self._server is None:
            return
        _ENDPOINTS.pop(self)  # while self.url still answers, for the mock started before
        server, self._server = self._server, None
        server.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    def _running(self) -> IotServer:
        if self._server is None:
            raise RuntimeError(
                "iotmock: this mock serves no HTTP: create it with mock_iot(server=True) "
                "(fixture: @pytest.mark.iot_mock(server=True)) and start it"
            )
        return self._server

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`: the endpoint URL of all three services."""
        return self._running().url

    @property
    def host(self) -> str:
        return self._running().host

    @property
    def port(self) -> int:
        return self._running().port

    @property
    def ca_bundle(self) -> str | None:
        """The CA bundle path for an HTTPS server; None (the in-process server is HTTP)."""
        return self._running().ca_bundle

    def environment(self) -> dict[str, str]:
        """The variables that point a child process's AWS SDK at this server."""
        url = self.url
        return dict.fromkeys(ENDPOINT_VARIABLES, url)
