"""m.messages(filter) with wildcards: the topic tree finds the matching topics without
scanning every topic ever recorded, and agrees with MQTT matching."""

from __future__ import annotations

import random
from typing import Any

import boto3

from iotmock import IotMock, mock_iot
from iotmock.messaging.log import MessageLog, topic_matches
from iotmock.messaging.topic_tree import TopicTree


class _NoScan(dict[str, Any]):
    """A by_topic index that fails the test when someone walks all of it."""

    def items(self) -> Any:
        raise AssertionError("selection scanned every recorded topic")

    def __iter__(self) -> Any:
        raise AssertionError("selection scanned every recorded topic")

    def values(self) -> Any:
        raise AssertionError("selection scanned every recorded topic")


def test_wildcard_reads_do_not_scan_every_topic(iot_mock: IotMock) -> None:
    data = boto3.client("iot-data", region_name="us-east-1")
    for n in range(300):
        data.publish(topic=f"dev/{n}/telemetry", payload=b"n")
    data.publish(topic="target/1", payload=b"t")
    data.publish(topic="target/2/deep", payload=b"d")
    log = iot_mock.backend().store(MessageLog)
    log.by_topic = _NoScan(log.by_topic)
    assert [m.payload for m in iot_mock.messages("target/+")] == [b"t"]
    assert [m.payload for m in iot_mock.messages("target/#")] == [b"t", b"d"]
    assert len(iot_mock.messages("dev/+/telemetry")) == 300
    assert iot_mock.messages("dev/7/+") == [iot_mock.messages("dev/7/telemetry")[0]]


def test_dropped_and_cleared_topics_leave_the_tree() -> None:
    with mock_iot(max_messages=2) as mock:
        data = boto3.client("iot-data", region_name="us-east-1")
        data.publish(topic="a/1", payload=b"1")
        data.publish(topic="a/2", payload=b"2")
        data.publish(topic="b/3", payload=b"3")  # drops a/1, the oldest
        assert [m.topic for m in mock.messages("a/+")] == ["a/2"]
        log = mock.backend().store(MessageLog)
        assert sorted(log.topics.matching("+/+")) == ["a/2", "b/3"]
        mock.clear_messages()
        assert list(mock.backend().store(MessageLog).topics.matching("+/+")) == []
        assert mock.messages("a/#") == []


def test_the_tree_agrees_with_mqtt_matching() -> None:
    rng = random.Random(7)
    levels = ["a", "b", "$aws", "c", "", "x"]
    topics = {"/".join(rng.choice(levels) for _ in range(rng.randint(1, 5))) for _ in range(2000)}
    tree = TopicTree()
    for topic in topics:
        tree.add(topic)
    removed = set(rng.sample(sorted(topics), 400))
    for topic in removed:
        tree.remove(topic)
    live = topics - removed
    for _ in range(1500):
        chosen = [rng.choice([*levels, "+", "+"]) for _ in range(rng.randint(1, 5))]
        if rng.random() < 0.4:
            chosen[-1] = "#"
        topic_filter = "/".join(chosen)
        found = list(tree.matching(topic_filter))
        assert len(found) == len(set(found)), topic_filter
        assert set(found) == {t for t in live if topic_matches(topic_filter, t)}, topic_filter
    for topic in live:
        tree.remove(topic)
    assert tree.root.children == {}
