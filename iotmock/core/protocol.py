"""The rest-json wire layer, generated from the botocore model.

`Router` maps an HTTP method and path to an operation (from each operation's
`requestUri`); `decode_request` turns a raw HTTP request into the operation's parameters
(URI labels, querystring, headers, JSON body or blob payload); `encode_output` and
`encode_error` turn a handler's result or a `ServiceError` into a raw HTTP response.

Nothing here knows a single operation by name, and nothing here depends on botocore's
request objects: the same functions serve a plain HTTP server. Per-shape converters are
compiled once and cached, so a call does no model walking.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from botocore.model import OperationModel, Shape, StructureShape
from botocore.utils import parse_timestamp

from iotmock.core.errors import ServiceError
from iotmock.core.model import operation_model, operation_names, service_model

Converter = Callable[[Any], Any]


@dataclass(slots=True)
class RawRequest:
    """An HTTP request as it would arrive on the wire (header names in lower case)."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # The operation the caller serialized, when known (the in-process interception knows
    # it; an HTTP server does not). It settles URLs two operations share: an empty label
    # makes DescribeCertificateProvider's URL ListCertificateProviders'.
    operation: str | None = None


@dataclass(slots=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


# --------------------------------------------------------------------------- routing


@dataclass(slots=True)
class _Route:
    operation: str
    segments: tuple[str, ...]  # literal segment, or "{label}" / "{label+}"
    literal_count: int
    required_query: tuple[tuple[str, str | None], ...]

    def match(self, parts: list[str], query: dict[str, list[str]]) -> dict[str, str] | None:
        labels: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.endswith("+}"):
                if index >= len(parts):
                    return None
                labels[segment[1:-2]] = "/".join(parts[index:])
                break
            if index >= len(parts):
                return None
            part = parts[index]
            if segment.startswith("{"):
                # An empty label still routes, so validation can name the member.
                labels[segment[1:-1]] = part
            elif segment != part:
                return None
        else:
            if len(parts) != len(self.segments):
                return None
        for key, value in self.required_query:
            if key not in query or (value is not None and value not in query[key]):
                return None
        return labels


class Router:
    """Maps (method, path, query) to an operation of one service."""

    def __init__(self, service: str) -> None:
        self.service = service
        # Routes bucketed by method, first path segment and segment count, so a lookup
        # tries a handful of candidates; routes with a greedy label are kept apart.
        self._routes: dict[tuple[str, str, int], list[_Route]] = {}
        self._greedy: dict[str, list[_Route]] = {}
        self._by_name: dict[str, _Route] = {}
        for name in operation_names(service):
            http = operation_model(service, name).http
            path, _, query = http["requestUri"].partition("?")
            segments = tuple(path.lstrip("/").split("/"))
            required = tuple(
                (k, v or None) for k, _, v in (p.partition("=") for p in query.split("&") if p)
            )
            route = _Route(
                name, segments, sum(1 for s in segments if not s.startswith("{")), required
            )
            self._by_name[name] = route
            if segments[-1].endswith("+}"):
                self._greedy.setdefault(http["method"], []).append(route)
            else:
                key = (http["method"], self._bucket(segments[0]), len(segments))
                self._routes.setdefault(key, []).append(route)
        for routes in (*self._routes.values(), *self._greedy.values()):
            # The most specific route wins: more literal segments, then longer paths.
            routes.sort(key=lambda r: (-r.literal_count, -len(r.segments)))

    @staticmethod
    def _bucket(first_segment: str) -> str:
        return "" if first_segment.startswith("{") else first_segment

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        expected: str | None = None,
    ) -> tuple[str, dict[str, str]]:
        """The operation name and the raw (still percent-encoded) URI labels. When the
        URL also fits `expected` (the operation the caller serialized), that one wins: an
        empty URI label never turns a describe into a list."""
        parts = path.split("?", 1)[0].lstrip("/").split("/")
        count = len(parts)
        if expected is not None:
            own = self._by_name.get(expected)
            labels = own.match(parts, query) if own is not None else None
            if labels is not None and own is not None:
                return own.operation, labels
        candidates = (
            *self._routes.get((method, parts[0], count), ()),
            *self._routes.get((method, "", count), ()),
            *self._greedy.get(method, ()),
        )
        for route in candidates:
            labels = route.match(parts, query)
            if labels is not None:
                return route.operation, labels
        raise ServiceError(
            "UnknownOperationException",
            f"No {self.service} operation matches {method} {path}",
            status=404,
        )


@functools.cache
def router(service: str) -> Router:
    return Router(service)


# --------------------------------------------------------------------------- values


def _timestamp_in(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, bool):
        raise ValueError(f"Invalid timestamp {str(value).lower()}")
    # Out-of-range instants surface as OverflowError/OSError (the platform's time_t) or
    # botocore's RuntimeError; they are malformed input, not an iotmock failure.
    try:
        if isinstance(value, (int, float)):
            return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
        parsed: dt.datetime = parse_timestamp(value)
    except (OverflowError, OSError, RuntimeError) as exc:
        raise ValueError(f"Timestamp {value} is out of range") from exc
    return parsed


def _timestamp_out(value: Any) -> float | int:
    if isinstance(value, dt.datetime):
        seconds = value.timestamp()
        return int(seconds) if seconds.is_integer() else seconds
    return value  # type: ignore[no-any-return]


def _identity(value: Any) -> Any:
    return value


def _text_to_bool(value: str) -> bool:
    # Only the two literals are booleans: "yes", "1" or "" are malformed, not false.
    if value == "true":
        return True
    if value == "false":
        return False
    raise ValueError(f"'{value}' is not a boolean (true or false)")


# Java's int and long: AWS's services read integer members into these, so a value outside
# them is malformed input (a 400), never compared with the member's range.
_JAVA_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def _java_integer(type_name: str, *, from_text: bool) -> Converter:
    """Text (labels, query values, headers) becomes an int; a JSON body value stays as sent
    (a string there is validation's "Member must be of type integer")."""
    low, high = _JAVA_RANGES[type_name]

    def convert(value: Any) -> Any:
        number = int(value) if from_text and isinstance(value, str) else value
        if isinstance(number, int) and not isinstance(number, bool) and not low <= number <= high:
            raise ValueError(f"{number} is out of range for a Java {type_name} ({low}..{high})")
        return number

    return convert


@functools.cache
def _scalar_from_text(type_name: str) -> Converter:
    """How a URI label, query value or header value becomes a typed value."""
    if type_name in ("integer", "long"):
        return _java_integer(type_name, from_text=True)
    if type_name in ("float", "double"):
        return float
    if type_name == "boolean":
        return _text_to_bool
    if type_name == "timestamp":
        return _timestamp_in
    if type_name == "blob":
        return base64.b64decode
    return _identity


_DECODERS: dict[tuple[str, str], Converter] = {}
_ENCODERS: dict[tuple[str, str], Converter] = {}


def _json_decoder(service: str, shape: Shape) -> Converter:
    """A converter from a JSON body value of `shape` to the Python parameter value."""
    key = (service, shape.name)  # shape names are unique per service
    found = _DECODERS.get(key)
    if found is not None:
        return found
    type_name = shape.type_name
    if type_name == "structure":
        # wire name -> (member name, converter or None when the value passes as is)
        decoded: dict[str, tuple[str, Converter | None]] = {}

        def decode_structure(value: Any) -> Any:
            if not isinstance(value, dict):
                return value
            out: dict[str, Any] = {}
            for wire, item in value.items():
                spec = decoded.get(wire)
                if spec is None or item is None:
                    continue
                name, convert = spec
                out[name] = item if convert is None else convert(item)
            return out

        _DECODERS[key] = decode_structure  # before members: shapes may recurse
        assert isinstance(shape, StructureShape)
        for name, member in shape.members.items():
            convert = _json_decoder(service, member)
            wire = member.serialization.get("name", name)
            decoded[wire] = (name, None if convert is _identity else convert)
        return decode_structure
    if type_name == "list":
        item = _json_decoder(service, shape.member)
        converter: Converter = (
            (lambda value: [item(v) for v in value] if isinstance(value, list) else value)
            if item is not _identity
            else _identity
        )
    elif type_name == "map":
        map_value = _json_decoder(service, shape.value)
        converter = (
            (
                lambda value: (
                    {k: map_value(v) for k, v in value.items()}
                    if isinstance(value, dict)
                    else value
                )
            )
            if map_value is not _identity
            else _identity
        )
    elif type_name == "timestamp":
        converter = _timestamp_in
    elif type_name == "blob":
        converter = base64.b64decode
    elif type_name in _JAVA_RANGES:
        converter = _java_integer(type_name, from_text=False)
    else:
        converter = _identity
    _DECODERS[key] = converter
    return converter


def _json_encoder(service: str, shape: Shape) -> Converter:
    """A converter from a handler's Python value of `shape` to its JSON body value."""
    key = (service, shape.name)  # shape names are unique per service
    found = _ENCODERS.get(key)
    if found is not None:
        return found
    type_name = shape.type_name
    if type_name == "structure":
        # member name -> (wire name, converter or None when the value passes as is)
        encoded: dict[str, tuple[str, Converter | None]] = {}
        plain = False  # no member renamed or converted: only drop None and strangers

        def encode_structure(value: Any) -> Any:
            if plain:
                return {k: v for k, v in value.items() if v is not None and k in encoded}
            out: dict[str, Any] = {}
            for name, item in value.items():
                spec = encoded.get(name)
                if spec is None or item is None:
                    continue  # None and names outside the output shape are not sent
                wire, convert = spec
                out[wire] = item if convert is None else convert(item)
            return out

        _ENCODERS[key] = encode_structure
        assert isinstance(shape, StructureShape)
        for name, member in shape.members.items():
            convert = _json_encoder(service, member)
            wire = member.serialization.get("name", name)
            encoded[name] = (wire, None if convert is _identity else convert)
        plain = all(wire == name and convert is None for name, (wire, convert) in encoded.items())
        return encode_structure
    if type_name == "list":
        item = _json_encoder(service, shape.member)
        converter: Converter = (
            (lambda value: [item(v) for v in value]) if item is not _identity else _identity
        )
    elif type_name == "map":
        map_value = _json_encoder(service, shape.value)
        converter = (
            (lambda value: {k: map_value(v) for k, v in value.items()})
            if map_value is not _identity
            else _identity
        )
    elif type_name == "timestamp":
        converter = _timestamp_out
    elif type_name == "blob":
        converter = _blob_out
    else:
        converter = _identity
    _ENCODERS[key] = converter
    return converter


def _blob_out(value: Any) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode()


# --------------------------------------------------------------------------- requests


@dataclass(slots=True)
class _InputPlan:
    """How to find each input member in an HTTP request, compiled once per operation."""

    uri: list[tuple[str, str, Converter]]
    query: list[tuple[str, str, Converter, bool]]  # member, key, convert, is_list
    query_map: str | None
    headers: list[tuple[str, str, Converter]]
    payload: tuple[str, str, Converter] | None  # member, type, converter
    body: Converter | None


def _header_converter(member: Shape) -> Converter:
    if member.serialization.get("jsonvalue"):
        return lambda text: json.loads(base64.b64decode(text))
    return _scalar_from_text(member.type_name)


@functools.cache
def _input_plan(service: str, operation: str) -> _InputPlan:
    model = operation_model(service, operation)
    shape = model.input_shape
    plan = _InputPlan([], [], None, [], None, None)
    if shape is None:
        return plan
    assert isinstance(shape, StructureShape)
    payload_name = shape.serialization.get("payload")
    body_members = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            plan.uri.append((name, wire, _scalar_from_text(member.type_name)))
        elif location == "querystring":
            if member.type_name == "map":
                plan.query_map = name
            elif member.type_name == "list":
                item = _scalar_from_text(member.member.type_name)
                plan.query.append((name, wire, item, True))
            else:
                plan.query.append((name, wire, _scalar_from_text(member.type_name), False))
        elif location == "header":
            plan.headers.append((name, wire.lower(), _header_converter(member)))
        elif name == payload_name:
            converter = _json_decoder(service, member)
            plan.payload = (name, member.type_name, converter)
        else:
            body_members[name] = member
    if body_members and plan.payload is None:
        plan.body = _json_decoder(service, shape)
    return plan


# No IoT input nests deeper than 10 levels (a topic rule payload's); a body nested deeper
# than this is malformed, and refusing it here keeps the recursive code after decoding
# (validation renders values in its messages) far from Python's recursion limit.
MAX_JSON_DEPTH = 64


def json_deeper_than(value: Any, levels: int) -> bool:
    """Whether a JSON value nests more than `levels` levels (an object or array counts
    one); looks no deeper than that, so a value nested 900 deep costs no deep recursion."""
    if isinstance(value, dict):
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return False
    return levels == 0 or any(json_deeper_than(child, levels - 1) for child in children)


def _json_object(body: bytes) -> dict[str, Any]:
    """A request body that holds a structure: a JSON object, else ValueError (a JSON
    array or string is malformed input, not an empty structure)."""
    too_deep = f"the JSON body nests more than {MAX_JSON_DEPTH} levels"
    try:
        document = json.loads(body)
    except RecursionError:  # json's parser recurses once per level
        raise ValueError(too_deep) from None
    if not isinstance(document, dict):
        kind = _JSON_KINDS.get(type(document), "a value")
        raise ValueError(f"the JSON body is {kind}, not an object")
    # Each level opens a bracket: most bodies have too few to need the walk.
    if body.count(b"{") + body.count(b"[") > MAX_JSON_DEPTH and json_deeper_than(
        document, MAX_JSON_DEPTH
    ):
        raise ValueError(too_deep)
    return document


_JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def decode_request(
    service: str, operation: str, labels: dict[str, str], request: RawRequest
) -> dict[str, Any]:
    """The operation's parameters, as a boto3 caller passed them."""
    plan = _input_plan(service, operation)
    params: dict[str, Any] = {}
    try:
        if plan.body is not None and request.body:
            params.update(plan.body(_json_object(request.body)))
        for name, wire, convert in plan.uri:
            if wire in labels:
                params[name] = convert(unquote(labels[wire]))
        for name, wire, convert, is_list in plan.query:
            values = request.query.get(wire)
            if values:
                params[name] = [convert(v) for v in values] if is_list else convert(values[0])
        if plan.query_map is not None:
            known = {wire for _, wire, _, _ in plan.query}
            extra = {k: v[0] for k, v in request.query.items() if k not in known}
            if extra:
                params[plan.query_map] = extra
        for name, wire, convert in plan.headers:
            header = request.headers.get(wire)
            if header is not None:
                params[name] = convert(header)
        if plan.payload is not None:
            name, type_name, convert = plan.payload
            if type_name == "blob":
                if request.body:
                    params[name] = request.body
            elif request.body:
                params[name] = convert(_json_object(request.body))
    except (ValueError, TypeError) as exc:
        raise ServiceError(
            "InvalidRequestException", f"Could not read the request: {exc}", status=400
        ) from exc
    return params


# --------------------------------------------------------------------------- responses


@dataclass(slots=True)
class _OutputPlan:
    status_member: str | None
    headers: list[tuple[str, str]]
    payload: tuple[str, str, Converter] | None
    body: Converter | None


@functools.cache
def _output_plan(service: str, operation: str) -> _OutputPlan:
    model = operation_model(service, operation)
    plan = _OutputPlan(None, [], None, None)
    shape = model.output_shape
    if shape is None:
        return plan
    assert isinstance(shape, StructureShape)
    payload_name = shape.serialization.get("payload")
    has_body = False
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location == "statusCode":
            plan.status_member = name
        elif location == "header":
            plan.headers.append((name, member.serialization.get("name", name)))
        elif name == payload_name:
            plan.payload = (name, member.type_name, _json_encoder(service, member))
        else:
            has_body = True
    if has_body and plan.payload is None:
        plan.body = _json_encoder(service, shape)
    return plan


_REQUEST_ID_PREFIX = str(uuid.uuid4())[:24]
_request_numbers = itertools.count(1)


def _request_id() -> str:
    """A UUID-shaped request id, unique in the process (cheaper than uuid4 per call)."""
    return f"{_REQUEST_ID_PREFIX}{next(_request_numbers):012x}"


def encode_output(
    model: OperationModel, output: dict[str, Any], status: int | None = None
) -> RawResponse:
    plan = _output_plan(model.service_model.service_name, model.name)
    headers = {"x-amzn-requestid": _request_id(), "content-type": "application/json"}
    code = int(status or model.http.get("responseCode", 200))
    if plan.status_member is not None and output.get(plan.status_member) is not None:
        code = int(output[plan.status_member])
    for name, wire in plan.headers:
        if output.get(name) is not None:
            headers[wire.lower()] = str(output[name])
    body = b""
    if plan.payload is not None:
        name, type_name, convert = plan.payload
        value = output.get(name)
        if value is not None:
            if type_name == "blob":
                body = value.encode() if isinstance(value, str) else bytes(value)
                headers["content-type"] = "application/octet-stream"
            else:
                body = json.dumps(convert(value)).encode()
    elif plan.body is not None:
        body = json.dumps(plan.body(output)).encode()
    else:
        body = b"{}"
    headers["content-length"] = str(len(body))
    return RawResponse(code, headers, body)


def error_status(service: str, code: str) -> int:
    shape = service_model(service).shape_for_error_code(code)
    if shape is None:
        return 400
    return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))


def encode_error(service: str, error: ServiceError) -> RawResponse:
    status = error.status or error_status(service, error.code)
    body = json.dumps({"message": error.message, **error.fields}).encode()
    headers = {
        "x-amzn-requestid": _request_id(),
        "x-amzn-errortype": error.code,
        "content-type": "application/json",
        "content-length": str(len(body)),
    }
    return RawResponse(status, headers, body)
