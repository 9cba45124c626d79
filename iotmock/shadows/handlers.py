"""Device shadows: UpdateThingShadow, GetThingShadow, DeleteThingShadow,
ListNamedShadowsForThing, and the MQTT shadow topics.

Every shadow change publishes the documented reserved-topic messages
(`$aws/things/<thing>/shadow/[name/<shadow>/]update/accepted|rejected|delta|documents`,
`delete/accepted|rejected`). Messages published to the request topics
(`.../shadow/update`, `.../get`, `.../delete`, by iot-data Publish or a rule's republish
action) are served as the Device Shadow service serves MQTT requests.

Shadows do not require a registered thing (spec §9).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from iotmock.core import clock
from iotmock.core.errors import ServiceError, not_found
from iotmock.core.events import subscribe
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import paginate
from iotmock.core.protocol import error_status
from iotmock.messaging.log import Message, publish, publish_document
from iotmock.shadows.document import (
    JsonObject,
    ShadowDocument,
    ShadowStore,
    apply_update,
    full_document,
    parse_request,
)

SOURCE = "shadow"

# The MQTT request topics of the Device Shadow service.
_REQUEST_TOPIC = re.compile(
    r"\$aws/things/(?P<thing>[^/]+)/shadow/(?:name/(?P<shadow>[^/]+)/)?"
    r"(?P<action>update|get|delete)"
)


def shadow_topic(thing: str, name: str | None, suffix: str) -> str:
    """`$aws/things/<thing>/shadow/[name/<shadow>/]<suffix>`."""
    named = f"name/{name}/" if name is not None else ""
    return f"$aws/things/{thing}/shadow/{named}{suffix}"


def _missing(thing: str, name: str | None) -> ServiceError:
    return not_found(f"No shadow exists with name: '{name if name is not None else thing}'")


def _encode(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _reject(
    ctx: RequestContext,
    topic: str,
    error: ServiceError,
    token: str | None,
) -> None:
    """Publish the error document of a rejected request on `.../rejected`."""
    document: JsonObject = {
        "code": error.status or error_status("iot-data", error.code),
        "message": error.message,
        "timestamp": int(clock.now()),
    }
    if token is not None:
        document["clientToken"] = token
    publish(ctx, topic, _encode(document), source=SOURCE)


def _client_token(payload: bytes) -> str | None:
    """The clientToken of a request payload, when it has one (for rejected documents)."""
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    token = document.get("clientToken") if isinstance(document, dict) else None
    return token if isinstance(token, str) else None


def update_shadow(ctx: RequestContext, thing: str, name: str | None, payload: bytes) -> bytes:
    """Apply an update request and publish its messages; returns the response document."""
    store = ctx.backend.store(ShadowStore)
    try:
        request = parse_request(payload)
        now = clock.now()
        shadow = store.get(thing, name)
        is_new = shadow is None
        if shadow is None:
            shadow = ShadowDocument()
            base_version = store.base_version(thing, name, now)
        else:
            base_version = shadow.version
        result = apply_update(shadow, request, int(now), base_version)
    except ServiceError as error:
        _reject(ctx, shadow_topic(thing, name, "update/rejected"), error, _client_token(payload))
        raise
    if is_new:
        store.put(thing, name, shadow)
        store.deleted.pop((thing, name), None)
    response = _encode(result.response)
    publish(ctx, shadow_topic(thing, name, "update/accepted"), response, source=SOURCE)
    # The delta and documents trees are never changed after this point (the stored
    # shadow is copy-on-write), so their JSON is produced only if someone reads it.
    if result.delta is not None:
        publish_document(
            ctx, shadow_topic(thing, name, "update/delta"), result.delta, source=SOURCE
        )
    documents: JsonObject = {"current": result.current, "timestamp": shadow.timestamp}
    if not is_new:
        documents = {"previous": result.previous, **documents}
    if "clientToken" in result.response:
        documents["clientToken"] = result.response["clientToken"]
    publish_document(ctx, shadow_topic(thing, name, "update/documents"), documents, source=SOURCE)
    return response


def get_shadow(ctx: RequestContext, thing: str, name: str | None) -> JsonObject:
    shadow = ctx.backend.store(ShadowStore).get(thing, name)
    if shadow is None:
        raise _missing(thing, name)
    return full_document(shadow, int(clock.now()))


def delete_shadow(
    ctx: RequestContext, thing: str, name: str | None, token: str | None = None
) -> bytes:
    """Delete a shadow, keeping its version for 48 hours; publishes `delete/accepted`."""
    store = ctx.backend.store(ShadowStore)
    shadow = store.get(thing, name)
    if shadow is None:
        error = _missing(thing, name)
        _reject(ctx, shadow_topic(thing, name, "delete/rejected"), error, token)
        raise error
    now = clock.now()
    store.remove(thing, name)
    store.deleted[(thing, name)] = (shadow.version, now)
    document: JsonObject = {"version": shadow.version, "timestamp": int(now)}
    if token is not None:
        document["clientToken"] = token
    response = _encode(document)
    publish(ctx, shadow_topic(thing, name, "delete/accepted"), response, source=SOURCE)
    return response


@operation("iot-data", "UpdateThingShadow")
def update_thing_shadow(ctx: RequestContext, params: Params) -> dict[str, Any]:
    payload = params.get("payload") or b""
    return {"payload": update_shadow(ctx, params["thingName"], params.get("shadowName"), payload)}


@operation("iot-data", "GetThingShadow")
def get_thing_shadow(ctx: RequestContext, params: Params) -> dict[str, Any]:
    document = get_shadow(ctx, params["thingName"], params.get("shadowName"))
    return {"payload": _encode(document)}


@operation("iot-data", "DeleteThingShadow")
def delete_thing_shadow(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return {"payload": delete_shadow(ctx, params["thingName"], params.get("shadowName"))}


@operation("iot-data", "ListNamedShadowsForThing")
def list_named_shadows_for_thing(ctx: RequestContext, params: Params) -> dict[str, Any]:
    thing = params["thingName"]
    index = ctx.backend.store(ShadowStore).named.get(thing)

    def names_after(after: str | None) -> Iterator[tuple[str, str]]:
        # An unknown thing has no named shadows: an empty list, not 404 (spec §9).
        if index is not None:
            for key, _ in index.items_after(after):
                yield key, key

    names, token = paginate(
        f"ListNamedShadowsForThing:{thing}",
        names_after,
        params.get("nextToken"),
        params.get("pageSize"),
    )
    return {"results": names, "nextToken": token, "timestamp": int(clock.now())}


# --------------------------------------------------------------------------- MQTT requests


@subscribe("message_published", topic_prefix="$aws/things/")
def _serve_shadow_request(ctx: RequestContext, message: Message) -> None:
    """Answer a message on a shadow request topic as the Device Shadow service does."""
    if message.source == SOURCE or not message.topic.startswith("$aws/things/"):
        return
    match = _REQUEST_TOPIC.fullmatch(message.topic)
    if match is None:
        return
    thing, name, action = match["thing"], match["shadow"], match["action"]
    token = _client_token(message.payload)
    try:
        if action == "update":
            update_shadow(ctx, thing, name, message.payload)
        elif action == "delete":
            delete_shadow(ctx, thing, name, token)
        else:
            _answer_get(ctx, thing, name, token)
    except ServiceError:
        pass  # already answered on the `rejected` topic


def _answer_get(ctx: RequestContext, thing: str, name: str | None, token: str | None) -> None:
    try:
        document = get_shadow(ctx, thing, name)
    except ServiceError as error:
        _reject(ctx, shadow_topic(thing, name, "get/rejected"), error, token)
        return
    if token is not None:
        document["clientToken"] = token
    publish(ctx, shadow_topic(thing, name, "get/accepted"), _encode(document), source=SOURCE)
