"""Device sessions are live connections (callbacks into a transport, the mock itself),
not state a snapshot can carry: after a restore, devices connect again."""

from __future__ import annotations

from iotmock.core.snapshot import transient
from iotmock.devices.sessions import SessionStore

transient(SessionStore)
