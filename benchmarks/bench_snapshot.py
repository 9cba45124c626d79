"""A fleet fixture built through the API against the same fleet restored from a snapshot.

Each device is what fleet provisioning leaves: a thing, an active AWS-issued certificate
attached to it, a policy attached to the certificate, and a reported shadow.

    python benchmarks/bench_snapshot.py              # 1,000 devices
    python benchmarks/bench_snapshot.py --devices 200
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Any

import boto3

from iotmock import IotMock, mock_iot
from iotmock.core.snapshot import load_state, save_state

POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
    }
)


def build_fleet(devices: int) -> None:
    iot = boto3.client("iot", region_name="us-east-1")
    data = boto3.client("iot-data", region_name="us-east-1")
    iot.create_policy(policyName="device", policyDocument=POLICY)
    for index in range(devices):
        name = f"device-{index:05d}"
        iot.create_thing(thingName=name)
        certificate = iot.create_keys_and_certificate(setAsActive=True)
        iot.attach_thing_principal(thingName=name, principal=certificate["certificateArn"])
        iot.attach_policy(policyName="device", target=certificate["certificateArn"])
        data.update_thing_shadow(
            thingName=name, payload=json.dumps({"state": {"reported": {"fw": "1.0"}}}).encode()
        )


def check(devices: int) -> None:
    iot = boto3.client("iot", region_name="us-east-1")
    count = sum(len(page["things"]) for page in iot.get_paginator("list_things").paginate())
    assert count == devices, count


def _best(run: Any, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    mock = mock_iot()
    start = time.perf_counter()
    with mock:
        build_fleet(args.devices)
        built = time.perf_counter() - start
        start = time.perf_counter()
        document = mock.snapshot()
        snapshotted = time.perf_counter() - start
        text = json.dumps(document)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "fleet.json")
            save_state(mock, path)

            def from_document() -> None:
                IotMock().restore(document)

            def from_file() -> None:
                load_state(IotMock(), path)

            restored = _best(from_document, args.repeats)
            loaded = _best(from_file, args.repeats)
    with mock_iot(state=document):
        check(args.devices)

    print(f"devices                         {args.devices}")
    print(f"build through the API     s     {built:8.3f}")
    print(f"snapshot()                s     {snapshotted:8.3f}")
    print(f"snapshot JSON             MB    {len(text) / 1e6:8.2f}")
    print(f"restore(document)         s     {restored:8.3f}   ({built / restored:.0f}x faster)")
    print(f"load_state(file)          s     {loaded:8.3f}   ({built / loaded:.0f}x faster)")


if __name__ == "__main__":
    main()
