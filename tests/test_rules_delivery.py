"""Rule actions delivered to moto: device publishes -> rule -> the item, object, message
or record in moto's service, asserted through boto3."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from iotmock import IotMock, mock_iot

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/iot-rules"


@pytest.fixture
def aws() -> Iterator[IotMock]:
    with mock_aws(), mock_iot() as iot_mock:
        yield iot_mock


def _rule(
    name: str, sql: str, *actions: dict[str, Any], error: dict[str, Any] | None = None
) -> None:
    payload: dict[str, Any] = {"sql": sql, "actions": list(actions)}
    if error is not None:
        payload["errorAction"] = error
    boto3.client("iot", region_name=REGION).create_topic_rule(
        ruleName=name, topicRulePayload=payload
    )


def _publish(topic: str, message: Any) -> None:
    payload = message if isinstance(message, bytes) else json.dumps(message).encode()
    boto3.client("iot-data", region_name=REGION).publish(topic=topic, payload=payload)


def _table(name: str, hash_key: str, range_key: str | None = None, kind: str = "S") -> Any:
    ddb = boto3.client("dynamodb", region_name=REGION)
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    attributes = [{"AttributeName": hash_key, "AttributeType": kind}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
        attributes.append({"AttributeName": range_key, "AttributeType": "N"})
    ddb.create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
    )
    return ddb


def test_dynamodb_action_writes_keys_from_templates_and_the_payload_column(aws: IotMock) -> None:
    ddb = _table("telemetry", "device", "ts")
    _rule(
        "store",
        "SELECT temperature, humidity FROM 'devices/+/telemetry'",
        {
            "dynamoDB": {
                "tableName": "telemetry",
                "roleArn": ROLE,
                "hashKeyField": "device",
                "hashKeyValue": "${topic(2)}",
                "rangeKeyField": "ts",
                "rangeKeyValue": "${ts}",
                "rangeKeyType": "NUMBER",
                "payloadField": "data",
            }
        },
    )
    # The substitution template reads the message, not the SELECT output.
    _publish("devices/sensor-7/telemetry", {"temperature": 21.5, "humidity": 40, "ts": 1000})

    item = ddb.get_item(
        TableName="telemetry", Key={"device": {"S": "sensor-7"}, "ts": {"N": "1000"}}
    )
    assert item["Item"] == {
        "device": {"S": "sensor-7"},
        "ts": {"N": "1000"},
        "data": {"M": {"temperature": {"N": "21.5"}, "humidity": {"N": "40"}}},
    }
    assert aws.rules.invocations("store")[0].error is None


def test_dynamodb_delete_operation_and_default_payload_column(aws: IotMock) -> None:
    ddb = _table("state", "id")
    action = {
        "tableName": "state",
        "roleArn": ROLE,
        "hashKeyField": "id",
        "hashKeyValue": "${id}",
        "operation": "${op}",
    }
    _rule("upsert", "SELECT * FROM 'state'", {"dynamoDB": action})
    _publish("state", {"id": "a", "op": "INSERT"})
    assert ddb.get_item(TableName="state", Key={"id": {"S": "a"}})["Item"]["payload"] == {
        "M": {"id": {"S": "a"}, "op": {"S": "INSERT"}}
    }
    _publish("state", {"id": "a", "op": "DELETE"})
    assert "Item" not in ddb.get_item(TableName="state", Key={"id": {"S": "a"}})


def test_dynamodbv2_writes_each_attribute_in_its_own_column(aws: IotMock) -> None:
    ddb = _table("readings", "deviceId")
    _rule(
        "v2",
        "SELECT *, topic(2) AS deviceId FROM 'r/+'",
        {"dynamoDBv2": {"roleArn": ROLE, "putItem": {"tableName": "readings"}}},
    )
    _publish("r/d1", {"t": 20, "ok": True, "tags": ["a"], "meta": {"fw": "1.2"}, "none": None})
    item = ddb.get_item(TableName="readings", Key={"deviceId": {"S": "d1"}})["Item"]
    assert item == {
        "deviceId": {"S": "d1"},
        "t": {"N": "20"},
        "ok": {"BOOL": True},
        "tags": {"L": [{"S": "a"}]},
        "meta": {"M": {"fw": {"S": "1.2"}}},
        "none": {"NULL": True},
    }


def test_a_missing_table_fails_the_action_and_runs_the_error_action(aws: IotMock) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    errors = sqs.create_queue(QueueName="rule-errors")["QueueUrl"]
    _rule(
        "broken",
        "SELECT * FROM 'x'",
        {
            "dynamoDB": {
                "tableName": "missing",
                "roleArn": ROLE,
                "hashKeyField": "id",
                "hashKeyValue": "1",
            }
        },
        error={"sqs": {"queueUrl": errors, "roleArn": ROLE}},
    )
    _publish("x", {"a": 1})

    invocation = aws.rules.invocations("broken", action_type="dynamoDB")[0]
    assert invocation.error is not None and "ResourceNotFoundException" in invocation.error
    body = json.loads(sqs.receive_message(QueueUrl=errors)["Messages"][0]["Body"])
    assert body["ruleName"] == "broken"
    assert body["failures"] == [
        {
            "failedAction": "DynamoDBAction",
            "failedResource": "missing",
            "errorMessage": invocation.error,
        }
    ]
    assert base64.b64decode(body["base64OriginalPayload"]) == b'{"a": 1}'


def test_s3_sqs_and_sns_actions(aws: IotMock) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="archive")
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    watcher = sqs.create_queue(QueueName="watcher")["QueueUrl"]
    watcher_arn = sqs.get_queue_attributes(QueueUrl=watcher, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=watcher_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    _rule(
        "fanout",
        "SELECT * FROM 'fleet/+/event'",
        {"s3": {"bucketName": "archive", "key": "${topic(2)}/event.json", "roleArn": ROLE}},
        {"sqs": {"queueUrl": queue, "roleArn": ROLE, "useBase64": True}},
        {"sns": {"targetArn": topic, "roleArn": ROLE}},
    )
    _publish("fleet/d9/event", {"door": "open"})

    stored = s3.get_object(Bucket="archive", Key="d9/event.json")["Body"].read()
    assert json.loads(stored) == {"door": "open"}
    message = sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"]
    assert json.loads(base64.b64decode(message)) == {"door": "open"}
    notified = sqs.receive_message(QueueUrl=watcher)["Messages"][0]["Body"]
    assert json.loads(notified) == {"door": "open"}


def test_kinesis_and_firehose_actions(aws: IotMock) -> None:
    kinesis = boto3.client("kinesis", region_name=REGION)
    kinesis.create_stream(StreamName="events", ShardCount=1)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="lake")
    firehose = boto3.client("firehose", region_name=REGION)
    firehose.create_delivery_stream(
        DeliveryStreamName="hose",
        S3DestinationConfiguration={
            "RoleARN": ROLE,
            "BucketARN": "arn:aws:s3:::lake",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
        },
    )
    _rule(
        "streams",
        "SELECT * FROM 'k'",
        {"kinesis": {"streamName": "events", "partitionKey": "${device}", "roleArn": ROLE}},
        {"firehose": {"deliveryStreamName": "hose", "separator": "\n", "roleArn": ROLE}},
    )
    _publish("k", {"device": "d1", "v": 1})

    shard = kinesis.list_shards(StreamName="events")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName="events", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert [(r["PartitionKey"], json.loads(r["Data"])) for r in records] == [
        ("d1", {"device": "d1", "v": 1})
    ]
    assert aws.rules.invocations("streams", action_type="firehose")[0].error is None


def test_firehose_batch_mode_needs_a_json_array(aws: IotMock) -> None:
    _rule(
        "batch",
        "SELECT * FROM 'b'",
        {"firehose": {"deliveryStreamName": "hose", "batchMode": True, "roleArn": ROLE}},
    )
    _publish("b", {"not": "an array"})
    error = aws.rules.invocations("batch")[0].error
    assert error is not None and "batchMode needs a JSON array" in error


def _log_events(logs: Any, group: str) -> list[dict[str, Any]]:
    """The events of the one log stream the action created in `group`."""
    (stream,) = logs.describe_log_streams(logGroupName=group)["logStreams"]
    events: list[dict[str, Any]] = logs.get_log_events(
        logGroupName=group, logStreamName=stream["logStreamName"]
    )["events"]
    return events


def test_cloudwatch_metric_and_logs_actions(aws: IotMock) -> None:
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="/iot/devices")
    _rule(
        "observe",
        "SELECT * FROM 'm/+'",
        {
            "cloudwatchMetric": {
                "metricNamespace": "Fleet",
                "metricName": "Temperature",
                "metricValue": "${temperature}",
                "metricUnit": "None",
                "metricTimestamp": "${at}",
                "roleArn": ROLE,
            }
        },
        {"cloudwatchLogs": {"logGroupName": "/iot/devices", "roleArn": ROLE}},
    )
    _publish("m/d1", {"temperature": 23.5, "at": 1767225600})

    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    metrics = cloudwatch.list_metrics(Namespace="Fleet")["Metrics"]
    assert [m["MetricName"] for m in metrics] == ["Temperature"]
    events = _log_events(logs, "/iot/devices")
    assert [json.loads(e["message"]) for e in events] == [{"temperature": 23.5, "at": 1767225600}]


def test_cloudwatch_logs_batch_mode(aws: IotMock) -> None:
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="g")
    _rule(
        "batchlogs",
        "SELECT * FROM 'l'",
        {"cloudwatchLogs": {"logGroupName": "g", "batchMode": True, "roleArn": ROLE}},
    )
    # CloudWatch Logs refuses events older than 14 days: stamp them just now.
    now = int(time.time() * 1000)
    _publish(
        "l",
        [
            {"timestamp": now - 1000, "message": "second"},
            {"timestamp": now - 2000, "message": "first"},
        ],
    )
    events = _log_events(logs, "g")
    assert [(e["timestamp"], e["message"]) for e in events] == [
        (now - 2000, "first"),
        (now - 1000, "second"),
    ]


def test_step_functions_action_starts_an_execution(aws: IotMock) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name="onboard",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=ROLE,
    )["stateMachineArn"]
    _rule(
        "flow",
        "SELECT * FROM 'sf'",
        {
            "stepFunctions": {
                "stateMachineName": "onboard",
                "executionNamePrefix": "iot-",
                "roleArn": ROLE,
            }
        },
    )
    _publish("sf", {"thing": "t1"})
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 1 and executions[0]["name"].startswith("iot-")
    described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(described["input"]) == {"thing": "t1"}


def test_a_role_in_another_account_delivers_to_that_account(aws: IotMock) -> None:
    other = "111111111111"
    role = f"arn:aws:iam::{other}:role/iot-rules"
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=role, RoleSessionName="test"
    )["Credentials"]
    sqs_other = boto3.client(
        "sqs",
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    queue = sqs_other.create_queue(QueueName="cross")["QueueUrl"]
    _rule("cross", "SELECT * FROM 'c'", {"sqs": {"queueUrl": queue, "roleArn": role}})
    _publish("c", {"n": 1})
    assert json.loads(sqs_other.receive_message(QueueUrl=queue)["Messages"][0]["Body"]) == {"n": 1}


def test_delivery_can_be_turned_off() -> None:
    with mock_aws(), mock_iot(deliver_to_moto=False) as iot_mock:
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="q")["QueueUrl"]
        _rule("off", "SELECT * FROM 'o'", {"sqs": {"queueUrl": queue, "roleArn": ROLE}})
        _publish("o", {"n": 1})
        assert "Messages" not in sqs.receive_message(QueueUrl=queue)
        assert iot_mock.rules.invocations("off")[0].error is None


def test_without_an_active_moto_actions_are_recorded_only(iot_mock: IotMock) -> None:
    _rule(
        "recorded",
        "SELECT * FROM 'n'",
        {"sqs": {"queueUrl": "https://sqs.us-east-1.amazonaws.com/1/none", "roleArn": ROLE}},
    )
    _publish("n", {"n": 1})
    invocation = iot_mock.rules.invocations("recorded")[0]
    assert invocation.error is None and json.loads(invocation.payload) == {"n": 1}


def test_a_job_document_source_is_read_from_moto_s3(aws: IotMock) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="firmware")
    document = {"operation": "update", "version": "2.0"}
    s3.put_object(Bucket="firmware", Key="jobs/update.json", Body=json.dumps(document).encode())
    iot = boto3.client("iot", region_name=REGION)
    iot.create_thing(thingName="t1")
    thing_arn = iot.describe_thing(thingName="t1")["thingArn"]
    source = f"https://s3.{REGION}.amazonaws.com/firmware/jobs/update.json"
    iot.create_job(jobId="update", targets=[thing_arn], documentSource=source)

    assert json.loads(iot.get_job_document(jobId="update")["document"]) == document
    assert iot.describe_job(jobId="update")["documentSource"] == source
    jobs = boto3.client("iot-jobs-data", region_name=REGION)
    execution = jobs.describe_job_execution(jobId="update", thingName="t1")["execution"]
    assert json.loads(execution["jobDocument"]) == document

    with pytest.raises(iot.exceptions.InvalidRequestException, match="NoSuchKey"):
        iot.create_job(
            jobId="missing",
            targets=[thing_arn],
            documentSource="https://firmware.s3.amazonaws.com/jobs/none.json",
        )
