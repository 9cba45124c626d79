"""Server mode: the mock's state over HTTP for the AWS CLI, other SDKs and processes.

`iotmock serve` (cli), `mock_iot(server=True)` (group), the server itself (http), request
routing by SigV4 scope and host name (routing), the `/_iotmock/` control API (control) and
HTTPS from the mock CA (tls). See docs/server.md.
"""

from __future__ import annotations

from iotmock.server.group import ENDPOINT_VARIABLES, ServerGroup

__all__ = ["ENDPOINT_VARIABLES", "ServerGroup"]
