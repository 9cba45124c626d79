"""How long certificate issuance takes: 100 CreateKeysAndCertificate calls in a row.

Run from the project root: `python benchmarks/bench_certificates.py`. The first run in the
process is "cold": it includes generating the mock CA's key and filling the key pool
(see `iotmock.identity.crypto`). The budget is 1 s for the cold run; it exits non-zero when over.
For comparison it also times generating one fresh RSA-2048 key, the cost per call a
pool-less design would pay.
"""

from __future__ import annotations

import sys
import time

import boto3
from cryptography.hazmat.primitives.asymmetric import rsa

from iotmock import mock_iot

CALLS = 100
BUDGET_SECONDS = 1.0


def issue(count: int) -> float:
    with mock_iot():
        client = boto3.client("iot", region_name="us-east-1")
        client.list_certificates()  # load the service model outside the timing
        start = time.perf_counter()
        ids = {client.create_keys_and_certificate()["certificateId"] for _ in range(count)}
        elapsed = time.perf_counter() - start
    assert len(ids) == count, "certificate ids must be unique"
    return elapsed


def main() -> int:
    cold = issue(CALLS)
    warm = issue(CALLS)
    start = time.perf_counter()
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fresh_key = time.perf_counter() - start
    print(
        f"{CALLS} CreateKeysAndCertificate, cold: {cold:.3f} s ({cold / CALLS * 1000:.2f} ms/call)"
    )
    print(
        f"{CALLS} CreateKeysAndCertificate, warm: {warm:.3f} s ({warm / CALLS * 1000:.2f} ms/call)"
    )
    print(
        f"one fresh RSA-2048 key: {fresh_key * 1000:.1f} ms (x{CALLS} = {fresh_key * CALLS:.1f} s)"
    )
    if cold > BUDGET_SECONDS:
        print(f"FAIL: over the {BUDGET_SECONDS} s budget")
        return 1
    print(f"OK: under the {BUDGET_SECONDS} s budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
