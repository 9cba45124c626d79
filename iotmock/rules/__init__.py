"""The IoT rules engine: IoT SQL parsing (`parser`), evaluation (`evaluator`,
`functions`), rule state (`store`) and the action runner (`engine`)."""

from __future__ import annotations

from iotmock.rules import engine as engine  # registers the "message_published" subscriber
from iotmock.rules.parser import parse as parse
