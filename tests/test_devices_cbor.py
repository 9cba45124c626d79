"""The CBOR codec of the device protocols, against RFC 8949's appendix A examples."""

from __future__ import annotations

import math
from typing import Any

import pytest

from iotmock.devices.cbor import CborError, decode, encode

# (value, its CBOR in hex) from RFC 8949 appendix A; these encode and decode both ways.
EXAMPLES: list[tuple[Any, str]] = [
    (0, "00"),
    (23, "17"),
    (24, "1818"),
    (1000, "1903e8"),
    (1000000, "1a000f4240"),
    (18446744073709551615, "1bffffffffffffffff"),
    (-1, "20"),
    (-1000, "3903e7"),
    (1.1, "fb3ff199999999999a"),
    (False, "f4"),
    (True, "f5"),
    (None, "f6"),
    (b"", "40"),
    (b"\x01\x02\x03\x04", "4401020304"),
    ("", "60"),
    ("IETF", "6449455446"),
    ("\u00fc", "62c3bc"),
    ([], "80"),
    ([1, [2, 3], [4, 5]], "8301820203820405"),
    ({}, "a0"),
    ({"a": 1, "b": [2, 3]}, "a26161016162820203"),
]


@pytest.mark.parametrize(("value", "hex_cbor"), EXAMPLES, ids=[h for _, h in EXAMPLES])
def test_rfc_examples_round_trip(value: Any, hex_cbor: str) -> None:
    assert encode(value) == bytes.fromhex(hex_cbor)
    assert decode(bytes.fromhex(hex_cbor)) == value


@pytest.mark.parametrize(
    ("hex_cbor", "value"),
    [
        ("f93c00", 1.0),
        ("f97bff", 65504.0),
        ("f90001", 5.960464477539063e-8),
        ("fa47c35000", 100000.0),
    ],
)
def test_half_and_single_floats_decode(hex_cbor: str, value: float) -> None:
    assert decode(bytes.fromhex(hex_cbor)) == value


def test_half_infinity_and_nan() -> None:
    assert decode(bytes.fromhex("f97c00")) == math.inf
    assert math.isnan(decode(bytes.fromhex("f97e00")))


@pytest.mark.parametrize(
    "hex_cbor",
    ["", "1a0000", "c11a514b67b0", "5f42010243030405ff", "6261", "62c3", "0000", "a18101"],
)
def test_malformed_or_unsupported_input_is_refused(hex_cbor: str) -> None:
    with pytest.raises(CborError):
        decode(bytes.fromhex(hex_cbor))


def test_provisioning_response_round_trips() -> None:
    document = {"certificateId": "ab" * 32, "certificatePem": "-----BEGIN...", "statusCode": 400}
    assert decode(encode(document)) == document
    with pytest.raises(CborError):
        encode({"when": object()})
