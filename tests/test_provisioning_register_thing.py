"""RegisterThing: template parameters and intrinsics, the three resource types, attachments,
override settings, and the errors that name what is wrong."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from error_checks import error_of
from identity_state import insert_dynamic_thing_group

from iotmock import IotMock
from iotmock.core import events
from iotmock.identity.crypto import (
    CertificateAuthority,
    make_ca,
    make_csr,
    new_ec_key,
    to_pem,
    verification_certificate,
)
from iotmock.identity.records import identity_of
from iotmock.registry.records import registry_of

DOCUMENT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}],
    }
)


def register(iot: Any, template: dict[str, Any], **parameters: str) -> dict[str, Any]:
    return dict(iot.register_thing(templateBody=json.dumps(template), parameters=parameters))


def thing_template(**properties: Any) -> dict[str, Any]:
    return {
        "Parameters": {"ThingName": {"Type": "String"}},
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {"ThingName": {"Ref": "ThingName"}, **properties},
            }
        },
    }


def thing_and_certificate_template(**properties: Any) -> dict[str, Any]:
    """The thing template plus a certificate from a fresh CSR."""
    template = thing_template(**properties)
    template["Resources"]["c"] = {
        "Type": "AWS::IoT::Certificate",
        "Properties": {"CertificateSigningRequest": make_csr(new_ec_key())},
    }
    return template


@pytest.fixture
def group_events(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, str]]]:
    seen: list[tuple[str, str, str]] = []

    def recorder(event: str) -> Any:
        def record(ctx: Any, *, thing_name: str, group_name: str) -> None:
            seen.append((event, thing_name, group_name))

        return record

    for event in ("thing_added_to_group", "thing_removed_from_group"):
        subscribers = events._SUBSCRIBERS[event]
        monkeypatch.setitem(events._SUBSCRIBERS, event, [*subscribers, recorder(event)])
    yield seen


# --------------------------------------------------------------------------- the full flow


def test_register_thing_creates_thing_certificate_and_policy_and_attaches_them(
    iot: Any, iot_mock: IotMock
) -> None:
    key = new_ec_key()
    template = {
        "Parameters": {
            "ThingName": {"Type": "String"},
            "CSR": {"Type": "String"},
        },
        "Resources": {
            "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "ThingName"}}},
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateSigningRequest": {"Ref": "CSR"}, "Status": "ACTIVE"},
            },
            "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": DOCUMENT}},
        },
    }

    result = register(iot, template, ThingName="sensor-1", CSR=make_csr(key, "sensor-1"))

    cert = x509.load_pem_x509_certificate(result["certificatePem"].encode())
    assert cert.public_key() == key.public_key()
    cert.verify_directly_issued_by(
        x509.load_pem_x509_certificate(iot_mock.certificates.ca_pem().encode())
    )
    arns = result["resourceArns"]
    assert set(arns) == {"thing", "certificate", "policy"}
    assert arns["thing"] == "arn:aws:iot:us-east-1:123456789012:thing/sensor-1"
    cert_id = arns["certificate"].rsplit("/", 1)[1]
    description = iot.describe_certificate(certificateId=cert_id)["certificateDescription"]
    assert description["status"] == "ACTIVE"
    assert description["certificatePem"] == result["certificatePem"]
    policy_name = arns["policy"].rsplit("/", 1)[1]
    assert len(policy_name) == 40
    assert policy_name == policy_name.upper()

    backend = iot_mock.backend()
    assert registry_of(backend).thing_principals["sensor-1"] == {
        arns["certificate"]: "NON_EXCLUSIVE_THING"
    }
    assert registry_of(backend).principal_things[arns["certificate"]] == {
        "sensor-1": "NON_EXCLUSIVE_THING"
    }
    assert list(identity_of(backend).target_policies[arns["certificate"]]) == [policy_name]
    assert iot.describe_thing(thingName="sensor-1")["thingArn"] == arns["thing"]


def test_the_same_inline_document_reuses_its_policy(iot: Any, iot_mock: IotMock) -> None:
    template = {
        "Resources": {
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateSigningRequest": make_csr(new_ec_key())},
            },
            "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": DOCUMENT}},
        }
    }
    first = register(iot, template)
    template["Resources"]["certificate"]["Properties"] = {
        "CertificateSigningRequest": make_csr(new_ec_key())
    }

    second = register(iot, template)

    assert first["resourceArns"]["policy"] == second["resourceArns"]["policy"]
    assert len(identity_of(iot_mock.backend()).policies) == 1


def test_an_existing_policy_by_name(iot: Any, iot_mock: IotMock) -> None:
    policy_arn = iot.create_policy(policyName="DevicePolicy", policyDocument=DOCUMENT)["policyArn"]
    cert = iot.create_keys_and_certificate()
    template = {
        "Resources": {
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": cert["certificateId"]},
            },
            "pol": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "DevicePolicy"}},
        }
    }

    result = register(iot, template)

    assert result["resourceArns"] == {"certificate": cert["certificateArn"], "pol": policy_arn}
    assert result["certificatePem"] == cert["certificatePem"]
    assert list(identity_of(iot_mock.backend()).target_policies[cert["certificateArn"]]) == [
        "DevicePolicy"
    ]
    assert iot.list_attached_policies(target=cert["certificateArn"])["policies"] == [
        {"policyName": "DevicePolicy", "policyArn": policy_arn}
    ]
    # Status defaults to ACTIVE when the template gives none for... an existing certificate
    # keeps its own status.
    status = iot.describe_certificate(certificateId=cert["certificateId"])
    assert status["certificateDescription"]["status"] == "INACTIVE"


def test_an_unknown_policy_name_fails_registration(iot: Any) -> None:
    template = {
        "Resources": {"p": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "nope"}}}
    }

    with pytest.raises(ClientError) as exc:
        register(iot, template)

    assert error_of(exc)[:2] == ("ResourceRegistrationFailureException", 400)
    assert "nope" in error_of(exc)[2]


def test_a_malformed_inline_policy_is_an_invalid_request_and_creates_nothing(
    iot: Any, iot_mock: IotMock
) -> None:
    template = thing_template()
    template["Resources"]["p"] = {
        "Type": "AWS::IoT::Policy",
        "Properties": {"PolicyDocument": "{not a policy"},
    }

    with pytest.raises(ClientError) as exc:
        register(iot, template, ThingName="t")

    assert error_of(exc)[0] == "InvalidRequestException"
    assert "PolicyDocument of resource p" in error_of(exc)[2]
    assert "t" not in registry_of(iot_mock.backend()).things


# --------------------------------------------------------------------------- certificates


def test_certificate_status_inactive_and_existing_id(iot: Any) -> None:
    template = {
        "Resources": {
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {
                    "CertificateSigningRequest": make_csr(new_ec_key()),
                    "Status": "INACTIVE",
                },
            }
        }
    }
    created = register(iot, template)["resourceArns"]["certificate"].rsplit("/", 1)[1]
    assert (
        iot.describe_certificate(certificateId=created)["certificateDescription"]["status"]
        == "INACTIVE"
    )

    template["Resources"]["certificate"]["Properties"] = {
        "CertificateId": created,
        "Status": "ACTIVE",
    }
    register(iot, template)
    assert (
        iot.describe_certificate(certificateId=created)["certificateDescription"]["status"]
        == "ACTIVE"
    )


def test_certificate_status_is_not_case_sensitive_as_in_the_aws_fleet_template_example(
    iot: Any,
) -> None:
    # The AWS IoT guide's fleet provisioning template writes "Status" : "Active".
    cert = iot.create_keys_and_certificate()
    template = {
        "Parameters": {"AWS::IoT::Certificate::Id": {"Type": "String"}},
        "Resources": {
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {
                    "CertificateId": {"Ref": "AWS::IoT::Certificate::Id"},
                    "Status": "Active",
                },
            }
        },
    }

    register(iot, template, **{"AWS::IoT::Certificate::Id": cert["certificateId"]})

    description = iot.describe_certificate(certificateId=cert["certificateId"])
    assert description["certificateDescription"]["status"] == "ACTIVE"


def test_certificate_pem_registers_the_certificate(iot: Any) -> None:
    pem = to_pem(make_ca().issue(new_ec_key().public_key()))
    template = {
        "Resources": {
            "certificate": {"Type": "AWS::IoT::Certificate", "Properties": {"CertificatePem": pem}}
        }
    }

    result = register(iot, template)

    cert_id = result["resourceArns"]["certificate"].rsplit("/", 1)[1]
    description = iot.describe_certificate(certificateId=cert_id)["certificateDescription"]
    assert description["certificatePem"] == pem
    assert description["status"] == "ACTIVE"
    assert description["certificateMode"] == "SNI_ONLY"
    # Registering it again reuses the registered certificate.
    assert register(iot, template)["resourceArns"] == result["resourceArns"]


def test_certificate_pem_with_a_registered_ca(iot: Any) -> None:
    ca: CertificateAuthority = make_ca()
    code = iot.get_registration_code()["registrationCode"]
    ca_id = iot.register_ca_certificate(
        caCertificate=ca.pem,
        verificationCertificate=verification_certificate(ca, code),
        setAsActive=True,
    )["certificateId"]
    pem = to_pem(ca.issue(new_ec_key().public_key()))
    template = {
        "Resources": {
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificatePem": pem, "CACertificatePem": ca.pem},
            }
        }
    }

    result = register(iot, template)

    cert_id = result["resourceArns"]["certificate"].rsplit("/", 1)[1]
    description = iot.describe_certificate(certificateId=cert_id)["certificateDescription"]
    assert description["caCertificateId"] == ca_id


@pytest.mark.parametrize(
    ("properties", "code"),
    [
        ({}, "InvalidRequestException"),
        ({"CertificateId": "a" * 64, "CertificatePem": "x"}, "InvalidRequestException"),
        ({"CertificateSigningRequest": "garbage"}, "InvalidRequestException"),
        ({"CertificateId": "a" * 64}, "ResourceRegistrationFailureException"),
        ({"CertificateSigningRequest": "x", "Status": "REVOKED"}, "InvalidRequestException"),
    ],
)
def test_certificate_resource_errors(iot: Any, properties: dict[str, Any], code: str) -> None:
    template = {"Resources": {"c": {"Type": "AWS::IoT::Certificate", "Properties": properties}}}

    with pytest.raises(ClientError) as exc:
        register(iot, template)

    assert error_of(exc)[:2] == (code, 400)


# --------------------------------------------------------------------------- things


def test_thing_properties_type_attributes_groups_billing_group(
    iot: Any, iot_mock: IotMock, group_events: list[tuple[str, str, str]]
) -> None:
    iot.create_thing_type(thingTypeName="Sensor")
    iot.create_thing_group(thingGroupName="g1")
    iot.create_thing_group(thingGroupName="g2")
    iot.create_billing_group(billingGroupName="b1")
    template = thing_template(
        ThingTypeName="Sensor",
        AttributePayload={"model": "x1", "plant": {"Ref": "ThingName"}},
        ThingGroups=["g1", "g2"],
        BillingGroup="b1",
    )

    register(iot, template, ThingName="dev")

    thing = iot.describe_thing(thingName="dev")
    assert thing["thingTypeName"] == "Sensor"
    assert thing["attributes"] == {"model": "x1", "plant": "dev"}
    assert thing["billingGroupName"] == "b1"
    backend = iot_mock.backend()
    assert registry_of(backend).things["dev"].group_names == {"g1", "g2"}
    assert registry_of(backend).thing_groups["g1"].thing_names == {"dev"}
    assert registry_of(backend).billing_groups["b1"].thing_names == {"dev"}
    listed = iot.list_thing_groups_for_thing(thingName="dev")["thingGroups"]
    assert sorted(g["groupName"] for g in listed) == ["g1", "g2"]
    assert iot.list_things_in_thing_group(thingGroupName="g1")["things"] == ["dev"]
    assert iot.list_things_in_billing_group(billingGroupName="b1")["things"] == ["dev"]
    assert iot.list_things(thingTypeName="Sensor")["things"][0]["thingName"] == "dev"
    assert group_events == [
        ("thing_added_to_group", "dev", "g1"),
        ("thing_added_to_group", "dev", "g2"),
    ]


@pytest.mark.parametrize(
    ("properties", "fragment"),
    [
        ({"ThingGroups": ["missing"]}, "Thing group missing"),
        ({"ThingTypeName": "missing"}, "Thing type missing"),
        ({"BillingGroup": "missing"}, "Billing group missing"),
        ({"ThingGroups": ["dyn"]}, "dynamic"),
    ],
)
def test_missing_references_fail_registration_and_create_nothing(
    iot: Any, iot_mock: IotMock, properties: dict[str, Any], fragment: str
) -> None:
    insert_dynamic_thing_group(iot, iot_mock, "dyn", "attributes.x:1")
    template = thing_and_certificate_template(**properties)

    with pytest.raises(ClientError) as exc:
        register(iot, template, ThingName="dev")

    assert error_of(exc)[:2] == ("ResourceRegistrationFailureException", 400)
    assert fragment in error_of(exc)[2]
    assert "dev" not in registry_of(iot_mock.backend()).things
    assert iot.list_certificates()["certificates"] == []


def test_an_invalid_thing_name_is_an_invalid_request(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        register(iot, thing_template(), ThingName="bad name")

    code, _, message = error_of(exc)
    assert code == "InvalidRequestException"
    assert message.startswith("Resource thing: 1 validation error detected: Value 'bad name'")


def test_attribute_rules_are_checked_before_anything_is_created(
    iot: Any, iot_mock: IotMock
) -> None:
    template = thing_and_certificate_template(
        AttributePayload={"a": "1", "b": "2", "c": "3", "d": "4"}
    )

    with pytest.raises(ClientError) as exc:
        register(iot, template, ThingName="dev")
    assert "at most 3 attributes" in error_of(exc)[2]

    template["Resources"]["thing"]["Properties"]["AttributePayload"] = {"a": "has space"}
    with pytest.raises(ClientError) as exc:
        register(iot, template, ThingName="dev")
    assert "regular expression pattern" in error_of(exc)[2]

    assert iot.list_certificates()["certificates"] == []
    assert "dev" not in registry_of(iot_mock.backend()).things


def test_an_existing_thing_is_left_alone_by_default(iot: Any) -> None:
    iot.create_thing(thingName="dev", attributePayload={"attributes": {"a": "1"}})

    result = register(iot, thing_template(AttributePayload={"a": "2"}), ThingName="dev")

    assert result["resourceArns"]["thing"].endswith("thing/dev")
    assert iot.describe_thing(thingName="dev")["attributes"] == {"a": "1"}


@pytest.mark.parametrize(
    ("action", "expected"),
    [("REPLACE", {"b": "2"}), ("MERGE", {"a": "1", "b": "2"}), ("DO_NOTHING", {"a": "1"})],
)
def test_attribute_override_settings(iot: Any, action: str, expected: dict[str, str]) -> None:
    iot.create_thing(thingName="dev", attributePayload={"attributes": {"a": "1"}})
    template = thing_template(AttributePayload={"b": "2"})
    template["Resources"]["thing"]["OverrideSettings"] = {"AttributePayload": action}

    register(iot, template, ThingName="dev")

    assert iot.describe_thing(thingName="dev")["attributes"] == expected


def test_override_fail_refuses_an_existing_thing(iot: Any) -> None:
    iot.create_thing(thingName="dev")
    template = thing_template(AttributePayload={"b": "2"})
    template["Resources"]["thing"]["OverrideSettings"] = {"AttributePayload": "FAIL"}

    with pytest.raises(ClientError) as exc:
        register(iot, template, ThingName="dev")

    assert error_of(exc)[0] == "ResourceRegistrationFailureException"


def test_thing_group_override_replace(
    iot: Any, iot_mock: IotMock, group_events: list[tuple[str, str, str]]
) -> None:
    for name in ("old", "new"):
        iot.create_thing_group(thingGroupName=name)
    register(iot, thing_template(ThingGroups=["old"]), ThingName="dev")
    template = thing_template(ThingGroups=["new"])
    template["Resources"]["thing"]["OverrideSettings"] = {"ThingGroups": "REPLACE"}

    register(iot, template, ThingName="dev")

    backend = iot_mock.backend()
    assert registry_of(backend).things["dev"].group_names == {"new"}
    assert registry_of(backend).thing_groups["old"].thing_names == set()
    assert iot.list_things_in_thing_group(thingGroupName="old")["things"] == []
    assert iot.list_things_in_thing_group(thingGroupName="new")["things"] == ["dev"]
    assert group_events[-2:] == [
        ("thing_removed_from_group", "dev", "old"),
        ("thing_added_to_group", "dev", "new"),
    ]


def test_registering_twice_attaches_once(iot: Any, iot_mock: IotMock) -> None:
    cert = iot.create_keys_and_certificate()
    template = thing_template()
    template["Resources"]["c"] = {
        "Type": "AWS::IoT::Certificate",
        "Properties": {"CertificateId": cert["certificateId"]},
    }

    register(iot, template, ThingName="dev")
    register(iot, template, ThingName="dev")

    assert registry_of(iot_mock.backend()).principal_things[cert["certificateArn"]] == {
        "dev": "NON_EXCLUSIVE_THING"
    }


def test_a_certificate_exclusively_attached_elsewhere_fails(iot: Any) -> None:
    cert = iot.create_keys_and_certificate()
    iot.create_thing(thingName="owner")
    iot.attach_thing_principal(
        thingName="owner", principal=cert["certificateArn"], thingPrincipalType="EXCLUSIVE_THING"
    )
    template = thing_template()
    template["Resources"]["c"] = {
        "Type": "AWS::IoT::Certificate",
        "Properties": {"CertificateId": cert["certificateId"]},
    }

    with pytest.raises(ClientError) as exc:
        register(iot, template, ThingName="dev")

    assert error_of(exc)[0] == "ResourceRegistrationFailureException"
    assert "exclusively" in error_of(exc)[2]


# --------------------------------------------------------------------------- parameters


def test_parameter_defaults(iot: Any) -> None:
    template = {
        "Parameters": {"ThingName": {"Type": "String", "Default": "fallback"}},
        "Resources": thing_template()["Resources"],
    }

    assert register(iot, template)["resourceArns"]["thing"].endswith("thing/fallback")
    assert register(iot, template, ThingName="given")["resourceArns"]["thing"].endswith(
        "thing/given"
    )


def test_a_missing_parameter_is_named(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        register(iot, thing_template())

    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert message.startswith("Parameter ThingName has no value")


def test_a_ref_to_an_undeclared_parameter_is_a_bad_template(iot: Any) -> None:
    template = {
        "Resources": {
            "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "Nope"}}}
        }
    }

    with pytest.raises(ClientError) as exc:
        register(iot, template)

    assert "undeclared parameter Nope" in error_of(exc)[2]


def test_number_parameters_are_checked(iot: Any) -> None:
    template = thing_template(AttributePayload={"n": {"Ref": "Count"}})
    template["Parameters"]["Count"] = {"Type": "Number"}

    with pytest.raises(ClientError) as exc:
        register(iot, template, ThingName="t", Count="many")
    assert "Count must be a Number" in error_of(exc)[2]

    register(iot, template, ThingName="t", Count="42")
    assert iot.describe_thing(thingName="t")["attributes"] == {"n": "42"}


def test_a_bad_template_body_is_an_invalid_request(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.register_thing(templateBody="{oops")

    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    assert "not valid JSON" in error_of(exc)[2]


# --------------------------------------------------------------------------- intrinsics


def attributes_from(
    iot: Any, payload: dict[str, Any], template_extra: dict[str, Any], thing: str = "t"
) -> Any:
    template = thing_template(AttributePayload=payload)
    template["Parameters"].update(template_extra.pop("Parameters", {}))
    template.update(template_extra)
    register(iot, template, ThingName=thing, Serial="abc-123-xyz")
    return iot.describe_thing(thingName=thing)["attributes"]


SERIAL = {"Parameters": {"Serial": {"Type": "String"}}}


def test_join_split_select(iot: Any) -> None:
    payload = {
        "joined": {"Fn::Join": ["", ["id-", {"Ref": "Serial"}]]},
        "middle": {"Fn::Select": [1, {"Fn::Split": ["-", {"Ref": "Serial"}]}]},
        "last": {"Fn::Select": ["2", {"Fn::Split": ["-", {"Ref": "Serial"}]}]},
    }

    assert attributes_from(iot, payload, dict(SERIAL)) == {
        "joined": "id-abc-123-xyz",
        "middle": "123",
        "last": "xyz",
    }


def test_sub(iot: Any) -> None:
    payload = {
        "sub": {"Fn::Sub": "${ThingName}/${Serial}"},
        "subvars": {"Fn::Sub": ["${a}-${Serial}", {"a": {"Ref": "ThingName"}}]},
    }

    assert attributes_from(iot, payload, dict(SERIAL)) == {
        "sub": "t/abc-123-xyz",
        "subvars": "t-abc-123-xyz",
    }


def test_sub_escapes_policy_variables(iot: Any, iot_mock: IotMock) -> None:
    document = {
        "Fn::Sub": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "iot:Connect",
                        "Resource": "arn:aws:iot:${Region}:*:client/${!iot:ClientId}",
                    }
                ],
            }
        )
    }
    template = {
        "Parameters": {"Region": {"Type": "String"}},
        "Resources": {
            "p": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": document}}
        },
    }

    name = register(iot, template, Region="eu-west-1")["resourceArns"]["p"].rsplit("/", 1)[1]

    stored = identity_of(iot_mock.backend()).policies[name].default_version.document
    assert json.loads(stored)["Statement"][0]["Resource"] == (
        "arn:aws:iot:eu-west-1:*:client/${iot:ClientId}"
    )


def test_find_in_map(iot: Any) -> None:
    extra = {
        **SERIAL,
        "Mappings": {"Plants": {"abc-123-xyz": {"City": "Lyon"}}},
    }
    payload = {"city": {"Fn::FindInMap": ["Plants", {"Ref": "Serial"}, "City"]}}

    assert attributes_from(iot, payload, extra) == {"city": "Lyon"}


def test_find_in_map_with_a_missing_key_names_it(iot: Any) -> None:
    template = thing_template(AttributePayload={"c": {"Fn::FindInMap": ["M", "x", "y"]}})
    template["Mappings"] = {"M": {"a": {"b": "c"}}}

    with pytest.raises(ClientError) as exc:
        register(iot, template, ThingName="t")

    assert "[x][y]" in error_of(exc)[2]


def test_select_out_of_range_is_an_invalid_request(iot: Any) -> None:
    template = thing_template(AttributePayload={"c": {"Fn::Select": [5, ["a"]]}})

    with pytest.raises(ClientError) as exc:
        register(iot, template, ThingName="t")

    assert error_of(exc)[0] == "InvalidRequestException"
    assert "out of range" in error_of(exc)[2]


def test_unsupported_intrinsic_is_named(iot: Any) -> None:
    template = thing_template(AttributePayload={"c": {"Fn::GetAtt": ["a", "b"]}})

    with pytest.raises(ClientError) as exc:
        register(iot, template, ThingName="t")

    assert "Fn::GetAtt" in error_of(exc)[2]


def test_conditions_and_fn_if(iot: Any) -> None:
    extra = {
        "Parameters": {"Env": {"Type": "String", "Default": "prod"}},
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
            "IsNotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
            "Both": {"Fn::And": [{"Condition": "IsProd"}, {"Fn::Equals": ["1", 1]}]},
            "Either": {"Fn::Or": [{"Condition": "IsNotProd"}, {"Condition": "Both"}]},
        },
    }
    payload = {
        "tier": {"Fn::If": ["IsProd", "gold", "bronze"]},
        "both": {"Fn::If": ["Both", "yes", "no"]},
        "either": {"Fn::If": ["Either", "yes", "no"]},
        "gone": {"Fn::If": ["IsNotProd", "x", {"Ref": "AWS::NoValue"}]},
    }

    assert attributes_from(iot, payload, extra) == {"tier": "gold", "both": "yes", "either": "yes"}


def test_a_resource_condition_skips_the_resource(iot: Any, iot_mock: IotMock) -> None:
    template = thing_template()
    template["Parameters"]["WithCert"] = {"Type": "String", "Default": "no"}
    template["Conditions"] = {"MakeCert": {"Fn::Equals": [{"Ref": "WithCert"}, "yes"]}}
    template["Resources"]["c"] = {
        "Type": "AWS::IoT::Certificate",
        "Condition": "MakeCert",
        "Properties": {"CertificateSigningRequest": make_csr(new_ec_key())},
    }

    skipped = register(iot, template, ThingName="a")
    assert set(skipped["resourceArns"]) == {"thing"}
    assert "certificatePem" not in skipped

    made = register(iot, template, ThingName="b", WithCert="yes")
    assert set(made["resourceArns"]) == {"thing", "certificate"}
    assert registry_of(iot_mock.backend()).thing_principals["b"]


def test_a_self_referencing_condition_is_a_bad_template(iot: Any) -> None:
    template = thing_template(AttributePayload={"x": {"Fn::If": ["Loop", "a", "b"]}})
    template["Conditions"] = {"Loop": {"Fn::Not": [{"Condition": "Loop"}]}}

    with pytest.raises(ClientError) as exc:
        register(iot, template, ThingName="t")

    assert "refers to itself" in error_of(exc)[2]


# --------------------------------------------------------------------------- other families


def test_a_provisioned_thing_joins_a_continuous_job_of_its_group(iot: Any) -> None:
    iot.create_thing_group(thingGroupName="fleet")
    group_arn = iot.describe_thing_group(thingGroupName="fleet")["thingGroupArn"]
    iot.create_job(
        jobId="firmware",
        targets=[group_arn],
        document=json.dumps({"operation": "update"}),
        targetSelection="CONTINUOUS",
    )

    register(iot, thing_template(ThingGroups=["fleet"]), ThingName="late")

    summaries = iot.list_job_executions_for_thing(thingName="late")["executionSummaries"]
    assert [(s["jobId"], s["jobExecutionSummary"]["status"]) for s in summaries] == [
        ("firmware", "QUEUED")
    ]
    assert iot.list_things_in_thing_group(thingGroupName="fleet")["things"] == ["late"]


def test_two_groups_of_one_hierarchy_are_refused_before_anything_is_created(iot: Any) -> None:
    iot.create_thing_group(thingGroupName="root")
    iot.create_thing_group(thingGroupName="left", parentGroupName="root")
    iot.create_thing_group(thingGroupName="right", parentGroupName="root")
    template = thing_and_certificate_template(ThingGroups=["left", "right"])

    with pytest.raises(ClientError) as exc:
        register(iot, template, ThingName="dev")

    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    assert "only one group of a hierarchy" in error_of(exc)[2]
    assert iot.list_things()["things"] == []
    assert iot.list_certificates()["certificates"] == []
