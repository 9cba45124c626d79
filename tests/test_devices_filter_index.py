"""The broker's subscription index: it finds exactly the clients whose filters match a
topic (MQTT matching), and forgets the subscriptions of sessions that are gone."""

from __future__ import annotations

import random

from iotmock import IotMock
from iotmock.devices.sessions import store_of
from iotmock.messaging.log import topic_matches
from iotmock.messaging.topic_tree import FilterIndex


def test_the_index_agrees_with_mqtt_matching() -> None:
    rng = random.Random(11)
    levels = ["a", "b", "$aws", "c", ""]
    filters: dict[str, str] = {}
    for n in range(1500):
        chosen = [rng.choice([*levels, "+", "+"]) for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.35:
            chosen[-1] = "#"
        filters[f"c{n}"] = "/".join(chosen)
    index = FilterIndex()
    for client, topic_filter in filters.items():
        index.add(topic_filter, client)
    removed = set(rng.sample(sorted(filters), 300))
    for client in removed:
        index.remove(filters[client], client)
    for _ in range(1500):
        topic = "/".join(rng.choice(levels) for _ in range(rng.randint(1, 5)))
        expected = {c for c, f in filters.items() if c not in removed and topic_matches(f, topic)}
        assert index.clients(topic) == expected, topic
    for client, topic_filter in filters.items():
        index.remove(topic_filter, client)
    assert index.root.children == {}


def test_gone_sessions_leave_the_index(iot_mock: IotMock) -> None:
    filters = store_of(iot_mock.backend()).filters
    device = iot_mock.devices.connect("d1")
    device.subscribe("sensors/+/temp")
    device.subscribe("alerts/#")
    assert filters.clients("sensors/k/temp") == {"d1"}
    device.unsubscribe("alerts/#")
    assert filters.clients("alerts/x") == set()
    device.disconnect()  # a clean session ends with its connection
    assert filters.clients("sensors/k/temp") == set()
    persistent = iot_mock.devices.connect("d2", clean_session=False)
    persistent.subscribe("jobs/#")
    persistent.disconnect()  # the offline session keeps its subscriptions
    assert filters.clients("jobs/1") == {"d2"}
    iot_mock.devices.connect("d2")  # a clean start discards them
    assert filters.clients("jobs/1") == set()
    assert filters.root.children == {}
