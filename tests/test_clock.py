"""One clock behind every timestamp: freezegun and time-machine both drive it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import freezegun
import time_machine

FROZEN = dt.datetime(2030, 5, 17, 12, 0, 0, tzinfo=dt.timezone.utc)


def test_freezegun_sets_creation_dates(iot: Any) -> None:
    with freezegun.freeze_time(FROZEN):
        iot.create_thing_type(thingTypeName="frozen")
    described = iot.describe_thing_type(thingTypeName="frozen")
    assert described["thingTypeMetadata"]["creationDate"] == FROZEN


def test_time_machine_moves_timestamps_and_waits(iot: Any) -> None:
    with time_machine.travel(FROZEN, tick=False) as traveller:
        iot.create_thing_type(thingTypeName="travelled")
        iot.deprecate_thing_type(thingTypeName="travelled")
        deprecated = iot.describe_thing_type(thingTypeName="travelled")["thingTypeMetadata"]
        assert deprecated["deprecationDate"] == FROZEN
        traveller.shift(dt.timedelta(minutes=6))
        iot.delete_thing_type(thingTypeName="travelled")  # the 5-minute wait has passed
    assert iot.list_thing_types()["thingTypes"] == []
