"""Rule actions delivered to moto: when moto's `mock_aws` is active in the same process,
the actions that write to another AWS service call that service through boto3 (moto
answers), with AWS IoT's mapping of the message to the request (AWS IoT developer
guide, "AWS IoT rule actions"). A delivery the service refuses (missing table, queue,
bucket, stream) fails the action, so the rule's errorAction runs, as in AWS.

Without moto, or with `mock_iot(deliver_to_moto=False)`, these actions are recorded only.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from iotmock.core import clock, moto_bridge
from iotmock.core.backend import partition
from iotmock.core.operations import RequestContext
from iotmock.rules.evaluator import Selection

Expand = Callable[[str], str]


class DeliveryError(Exception):
    """The target service refused the action's request."""


def enabled(ctx: RequestContext) -> bool:
    """Whether actions of this mock are delivered (moto active, delivery not turned off)."""
    return bool(getattr(ctx.mock, "deliver_to_moto", True)) and moto_bridge.active()


def deliver(
    ctx: RequestContext,
    action_type: str,
    config: dict[str, Any],
    selection: Selection,
    expand: Expand,
) -> None:
    """Deliver one action; raises DeliveryError when the target service refuses it."""
    send = _ACTIONS[action_type]
    try:
        send(_Delivery(ctx, config, selection, expand))
    except ClientError as error:
        info = error.response.get("Error", {})
        operation = error.operation_name
        raise DeliveryError(
            f"{operation} failed: {info.get('Code')}: {info.get('Message')}"
        ) from None
    except (BotoCoreError, ValueError, KeyError, TypeError) as error:
        raise DeliveryError(f"{type(error).__name__}: {error}") from None


class _Delivery:
    """One action run: its configuration, the rule's output and the target clients."""

    def __init__(
        self, ctx: RequestContext, config: dict[str, Any], selection: Selection, expand: Expand
    ) -> None:
        self.ctx = ctx
        self.config = config
        self.selection = selection
        self.payload = selection.encode()
        self.expand = expand

    def client(self, service: str) -> Any:
        return moto_bridge.client(service, self.ctx.region, self.config.get("roleArn"))

    def field(self, name: str, default: str | None = None) -> str | None:
        """A configuration member with its substitution templates expanded."""
        value = self.config.get(name)
        return self.expand(value) if isinstance(value, str) else default

    def json_payload(self) -> Any:
        if isinstance(self.selection.value, (bytes, bytearray)):
            raise ValueError("the message payload is not JSON")
        return self.selection.value

    def arn(self, service: str, resource: str) -> str:
        region, account = (
            self.ctx.region,
            moto_bridge.role_account(self.config.get("roleArn")) or (moto_bridge.moto_account()),
        )
        return f"arn:{partition(region)}:{service}:{region}:{account}:{resource}"


# --------------------------------------------------------------------------- DynamoDB


def _attribute(value: Any) -> dict[str, Any]:
    """A JSON value as a DynamoDB attribute value."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float, Decimal)):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (bytes, bytearray)):
        return {"B": bytes(value)}
    if isinstance(value, list):
        return {"L": [_attribute(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: _attribute(v) for k, v in value.items()}}
    return {"S": str(value)}


def _key(kind: str | None, value: str) -> dict[str, Any]:
    return {"N": value} if (kind or "STRING") == "NUMBER" else {"S": value}


def _dynamodb(run: _Delivery) -> None:
    """`dynamoDB`: the hash (and range) key from their substitution templates, and the
    whole message in one column (`payloadField`, default `payload`): a map for JSON,
    binary otherwise. `operation` INSERT (default) or UPDATE puts the item, DELETE deletes
    the item with these keys."""
    table = run.field("tableName") or ""
    key = {
        run.config["hashKeyField"]: _key(
            run.config.get("hashKeyType"), run.field("hashKeyValue") or ""
        )
    }
    if run.config.get("rangeKeyField"):
        key[run.config["rangeKeyField"]] = _key(
            run.config.get("rangeKeyType"), run.field("rangeKeyValue") or ""
        )
    operation = (run.field("operation") or "INSERT").upper()
    client = run.client("dynamodb")
    if operation == "DELETE":
        client.delete_item(TableName=table, Key=key)
        return
    if operation not in ("INSERT", "UPDATE"):
        raise ValueError(f"operation must be INSERT, UPDATE or DELETE, not {operation!r}")
    value = run.selection.value
    column = run.config.get("payloadField") or "payload"
    item = dict(key)
    item[column] = (
        {"B": bytes(value)} if isinstance(value, (bytes, bytearray)) else _attribute(value)
    )
    client.put_item(TableName=table, Item=item)


def _dynamodb_v2(run: _Delivery) -> None:
    """`dynamoDBv2`: each attribute of the message (a JSON object) in its own column."""
    message = run.json_payload()
    if not isinstance(message, dict):
        raise ValueError("the message must be a JSON object to write it as an item")
    table = run.expand(run.config["putItem"]["tableName"])
    item = {name: _attribute(value) for name, value in message.items()}
    run.client("dynamodb").put_item(TableName=table, Item=item)


# --------------------------------------------------------------------------- S3, SQS, SNS


def _s3(run: _Delivery) -> None:
    """`s3`: the message as the object `key` (substitution template) of `bucketName`,
    with `cannedAcl` when given."""
    extra: dict[str, Any] = {}
    if run.config.get("cannedAcl"):
        extra["ACL"] = run.config["cannedAcl"]
    run.client("s3").put_object(
        Bucket=run.field("bucketName"), Key=run.field("key"), Body=run.payload, **extra
    )


def _queue_url(run: _Delivery) -> str:
    return run.field("queueUrl") or ""


def _sqs(run: _Delivery) -> None:
    """`sqs`: the message as the body, base64-encoded when `useBase64` is set."""
    payload = run.payload
    body = base64.b64encode(payload).decode() if run.config.get("useBase64") else payload.decode()
    run.client("sqs").send_message(QueueUrl=_queue_url(run), MessageBody=body)


def _sns(run: _Delivery) -> None:
    """`sns`: the message published to `targetArn`; `messageFormat` JSON sends it as a
    per-protocol message structure."""
    extra: dict[str, Any] = {}
    if run.config.get("messageFormat") == "JSON":
        extra["MessageStructure"] = "json"
    run.client("sns").publish(
        TargetArn=run.field("targetArn"), Message=run.payload.decode(), **extra
    )


# --------------------------------------------------------------------------- streams


def _kinesis(run: _Delivery) -> None:
    """`kinesis`: one record; `partitionKey` (substitution template) or a random key."""
    run.client("kinesis").put_record(
        StreamName=run.field("streamName"),
        Data=run.payload,
        PartitionKey=run.field("partitionKey") or str(uuid.uuid4()),
    )


_SEPARATORS = {"\n", "\t", "\r\n", ","}


def _firehose(run: _Delivery) -> None:
    """`firehose`: one record followed by `separator`; with `batchMode` the message is a
    JSON array and each element is a record (PutRecordBatch)."""
    separator = run.config.get("separator") or ""
    if separator and separator not in _SEPARATORS:
        raise ValueError(f"separator must be one of {sorted(_SEPARATORS)}")
    stream = run.field("deliveryStreamName")
    client = run.client("firehose")
    if run.config.get("batchMode"):
        batch = run.json_payload()
        if not isinstance(batch, list) or not 1 <= len(batch) <= 500:
            raise ValueError("batchMode needs a JSON array of 1 to 500 records")
        records = [
            {"Data": json.dumps(item, separators=(",", ":")).encode() + separator.encode()}
            for item in batch
        ]
        client.put_record_batch(DeliveryStreamName=stream, Records=records)
        return
    client.put_record(DeliveryStreamName=stream, Record={"Data": run.payload + separator.encode()})


# --------------------------------------------------------------------------- CloudWatch


def _cloudwatch_metric(run: _Delivery) -> None:
    """`cloudwatchMetric`: one data point; value, unit and timestamp (Unix seconds) come
    from substitution templates; no timestamp means now."""
    datum: dict[str, Any] = {
        "MetricName": run.field("metricName"),
        "Value": float(run.field("metricValue") or ""),
        "Unit": run.field("metricUnit") or "None",
    }
    stamp = run.field("metricTimestamp")
    seconds = float(stamp) if stamp else clock.now()
    datum["Timestamp"] = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    run.client("cloudwatch").put_metric_data(
        Namespace=run.field("metricNamespace"), MetricData=[datum]
    )


def _cloudwatch_logs(run: _Delivery) -> None:
    """`cloudwatchLogs`: the message as one log event at the current time; with
    `batchMode`, a JSON array of `{"timestamp": ms, "message": ...}` events. Events go to
    a log stream the action creates in `logGroupName` (named after the rule's account and
    region; AWS does not document its naming)."""
    group = run.field("logGroupName")
    client = run.client("logs")
    if run.config.get("batchMode"):
        batch = run.json_payload()
        if not isinstance(batch, list) or not batch:
            raise ValueError("batchMode needs a JSON array of log events")
        events: list[tuple[int, str]] = [
            (int(event["timestamp"]), str(event["message"])) for event in batch
        ]
    else:
        events = [(clock.now_millis(), run.payload.decode())]
    stream = f"iot-rules-{run.ctx.account_id}-{run.ctx.region}"
    existing = client.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)
    if not any(s["logStreamName"] == stream for s in existing.get("logStreams", [])):
        client.create_log_stream(logGroupName=group, logStreamName=stream)
    client.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": t, "message": m} for t, m in sorted(events)],
    )


# --------------------------------------------------------------------------- Step Functions


def _step_functions(run: _Delivery) -> None:
    """`stepFunctions`: starts an execution of `stateMachineName` with the message as
    input, named `executionNamePrefix` followed by a UUID."""
    name = run.field("stateMachineName") or ""
    prefix = run.field("executionNamePrefix") or ""
    run.client("stepfunctions").start_execution(
        stateMachineArn=run.arn("states", f"stateMachine:{name}"),
        name=f"{prefix}{uuid.uuid4()}"[:80],
        input=run.payload.decode(),
    )


_ACTIONS: dict[str, Callable[[_Delivery], None]] = {
    "dynamoDB": _dynamodb,
    "dynamoDBv2": _dynamodb_v2,
    "s3": _s3,
    "sqs": _sqs,
    "sns": _sns,
    "kinesis": _kinesis,
    "firehose": _firehose,
    "cloudwatchMetric": _cloudwatch_metric,
    "cloudwatchLogs": _cloudwatch_logs,
    "stepFunctions": _step_functions,
}
ACTION_TYPES = frozenset(_ACTIONS)
