"""Registry event configurations: DescribeEventConfigurations, UpdateEventConfigurations.

Every event type of the model starts disabled. An enabled type makes the mock publish
its registry event messages on `$aws/events/...` (see `iotmock.logging.registry_events`, which
this module imports so its subscribers are registered with the handlers).
"""

from __future__ import annotations

from typing import Any

from iotmock.core import clock
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.logging.registry_events import EventConfigurationStore


@operation("iot", "DescribeEventConfigurations")
def describe_event_configurations(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = ctx.backend.store(EventConfigurationStore)
    answer: dict[str, Any] = {
        "eventConfigurations": {t: {"Enabled": on} for t, on in store.enabled.items()}
    }
    if store.last_modified_at is not None:
        # An account that never updated its configuration has no dates: AWS's example
        # output (CLI describe-event-configurations) shows only the disabled types.
        answer["creationDate"] = store.created_at
        answer["lastModifiedDate"] = store.last_modified_at
    return answer


@operation("iot", "UpdateEventConfigurations")
def update_event_configurations(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = ctx.backend.store(EventConfigurationStore)
    changes = params.get("eventConfigurations") or {}
    for event_type, configuration in changes.items():
        # A Configuration without Enabled leaves the type as it is.
        if "Enabled" in configuration:
            store.enabled[event_type] = bool(configuration["Enabled"])
    if changes:
        store.last_modified_at = clock.now()
    return {}
