"""IoT policy documents: parsing, validation and evaluation.

`parse_policy` turns a document into an immutable `ParsedPolicy` (cached by document text,
so a policy is parsed once however often it is evaluated) or raises
MalformedPolicyException the way CreatePolicy does. `authorize` evaluates a set of
policies for one action on some resources the way the IoT device gateway does:

- an explicit Deny in any policy wins (EXPLICIT_DENY), else every resource needs an Allow
  (ALLOWED), else the request is implicitly denied (IMPLICIT_DENY);
- `*` (any run of characters, `/` included) and `?` (one character) are wildcards in
  actions and resources; actions match case-insensitively; MQTT `+` and `#` are literal;
- policy variables `${...}` are substituted from an `EvaluationContext`; substituted values
  are literal (a `*` in a client id is not a wildcard). A statement whose variable cannot be
  resolved does not match, and the variable is reported in `missing`;
- condition keys may be multivalued (the certificate's `.List` keys and
  `iot:Certificate.AvailableKeys`): `ForAllValues:` / `ForAnyValue:` compare the set, and a
  multivalued key is never a policy variable (IAM's rule).

The X.509 certificate policy variables (DG:cert-policy-variables,
DG:use-policy-variables) come from `certificate_variables`.
"""

from __future__ import annotations

import functools
import json
import operator as op
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from iotmock.core.errors import ServiceError

MAX_DOCUMENT_CHARACTERS = 2048
_VERSIONS = ("2012-10-17", "2008-10-17")
_STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
_TOP_LEVEL_KEYS = frozenset({"Version", "Statement", "Id"})
_WHITESPACE = re.compile(r"\s+")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_RESOURCE = re.compile(r"arn:[^:]*:[^:]*:[^:]*:[^:]*:.+", re.DOTALL)
# IAM's escapes for characters that would otherwise be wildcards or start a variable.
_LITERAL_VARIABLES = {"*": "*", "?": "?", "$": "$"}

ACTION_TYPES = {
    "CONNECT": "iot:Connect",
    "PUBLISH": "iot:Publish",
    "SUBSCRIBE": "iot:Subscribe",
    "RECEIVE": "iot:Receive",
}

_STRING_OPERATORS = {
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "ArnEquals",
    "ArnNotEquals",
    "ArnLike",
    "ArnNotLike",
}
_NUMERIC_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "NumericEquals": op.eq,
    "NumericNotEquals": op.ne,
    "NumericLessThan": op.lt,
    "NumericLessThanEquals": op.le,
    "NumericGreaterThan": op.gt,
    "NumericGreaterThanEquals": op.ge,
}
_NUMERIC_OPERATORS = set(_NUMERIC_COMPARISONS)
_OPERATORS = _STRING_OPERATORS | _NUMERIC_OPERATORS | {"Bool", "Null"}
_SET_OPERATORS = ("ForAllValues", "ForAnyValue")


def malformed(detail: str) -> ServiceError:
    """MalformedPolicyException with AWS's message prefix and what is wrong."""
    return ServiceError("MalformedPolicyException", f"Policy document is Malformed: {detail}")


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class Condition:
    operator: str  # without the IfExists suffix and set prefix
    key: str
    values: tuple[str, ...]
    if_exists: bool
    # "ForAllValues", "ForAnyValue" or "" (the set operator of a multivalued key).
    qualifier: str = ""


@dataclass(frozen=True, slots=True)
class Statement:
    allow: bool
    actions: tuple[str, ...]
    # True when the statement lists NotAction / NotResource instead.
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedPolicy:
    statements: tuple[Statement, ...]


def check_document_size(document: str) -> None:
    """The document must have 1 to 2048 characters, whitespace not counted (CreatePolicy)."""
    size = len(_WHITESPACE.sub("", document))
    if size == 0:
        raise malformed("the policy document is empty.")
    if size > MAX_DOCUMENT_CHARACTERS:
        raise malformed(
            f"the policy document has {size} characters excluding whitespace; "
            f"the maximum is {MAX_DOCUMENT_CHARACTERS}."
        )


@functools.lru_cache(maxsize=4096)
def parse_policy(document: str) -> ParsedPolicy:
    """Parse and validate an IoT policy document (MalformedPolicyException otherwise)."""
    check_document_size(document)
    try:
        parsed = json.loads(document)
    except ValueError:
        raise malformed("Invalid policy syntax.") from None
    if not isinstance(parsed, dict):
        raise malformed("Invalid policy syntax. The document must be a JSON object.")
    unknown = sorted(set(parsed) - _TOP_LEVEL_KEYS)
    if unknown:
        raise malformed(f"Invalid policy syntax. Unknown element(s): {', '.join(unknown)}.")
    version = parsed.get("Version")
    if version is None:
        raise malformed("Invalid policy syntax. The Version element is missing.")
    if version not in _VERSIONS:
        raise malformed(f"Invalid policy syntax. Unsupported Version: {version!r}.")
    raw_statements = parsed.get("Statement")
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise malformed("Invalid policy syntax. The Statement element is missing or empty.")
    return ParsedPolicy(
        tuple(_parse_statement(number, raw) for number, raw in enumerate(raw_statements, 1))
    )


def _parse_statement(number: int, raw: Any) -> Statement:
    where = f"Statement {number}"
    if not isinstance(raw, dict):
        raise malformed(f"Invalid policy syntax. {where} must be a JSON object.")
    unknown = sorted(set(raw) - _STATEMENT_KEYS)
    if unknown:
        raise malformed(
            f"Invalid policy syntax. {where} has unknown element(s): {', '.join(unknown)}."
        )
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise malformed(f"Invalid policy syntax. {where} needs Effect Allow or Deny.")
    actions, not_action = _string_list(raw, where, "Action", "NotAction")
    resources, not_resource = _string_list(raw, where, "Resource", "NotResource")
    invalid = [r for r in resources if r != "*" and not _RESOURCE.fullmatch(r)]
    if invalid:
        raise malformed(f"The following resources are invalid : {', '.join(invalid)}")
    return Statement(
        allow=effect == "Allow",
        actions=actions,
        not_action=not_action,
        resources=resources,
        not_resource=not_resource,
        conditions=_parse_conditions(where, raw.get("Condition")),
    )


def _string_list(
    raw: dict[str, Any], where: str, name: str, negated: str
) -> tuple[tuple[str, ...], bool]:
    if (name in raw) == (negated in raw):
        raise malformed(f"Invalid policy syntax. {where} needs exactly one of {name} or {negated}.")
    is_negated = negated in raw
    value = raw[negated if is_negated else name]
    values = [value] if isinstance(value, str) else value
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(v, str) and v for v in values)
    ):
        raise malformed(
            f"Invalid policy syntax. {where}: {negated if is_negated else name} "
            "must be a non-empty string or list of strings."
        )
    return tuple(values), is_negated


def _parse_conditions(where: str, raw: Any) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise malformed(f"Invalid policy syntax. {where}: Condition must be a JSON object.")
    conditions: list[Condition] = []
    for full_operator, block in raw.items():
        prefix, _, operator = full_operator.rpartition(":")
        qualifier = prefix if prefix in _SET_OPERATORS else ""
        if_exists = operator.endswith("IfExists")
        if if_exists:
            operator = operator[: -len("IfExists")]
        if operator not in _OPERATORS or not isinstance(block, dict):
            raise malformed(
                f"Invalid policy syntax. {where}: invalid Condition operator {full_operator!r}."
            )
        for key, value in block.items():
            values = value if isinstance(value, list) else [value]
            conditions.append(
                Condition(
                    operator,
                    key,
                    tuple(_condition_text(v) for v in values),
                    if_exists,
                    qualifier,
                )
            )
    return tuple(conditions)


def _condition_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise malformed(f"Invalid policy syntax. Invalid Condition value {value!r}.")


# --------------------------------------------------------------------------- context


@dataclass(slots=True)
class EvaluationContext:
    """The values policy variables and condition keys resolve to (without `${}`), e.g.
    `{"iot:ClientId": "sensor-1"}`. Names looked up but absent are collected in
    `missing` (TestAuthorization's missingContextValues)."""

    values: Mapping[str, str]
    missing: dict[str, None] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        """The value of a single-valued key (None when absent)."""
        if name in _LITERAL_VARIABLES:
            return _LITERAL_VARIABLES[name]
        found = self.values.get(name)
        if found is None and name.endswith(".0") and name.startswith(CERTIFICATE_PREFIX):
            found = self.values.get(name[:-2])  # index 0: the first value
        if found is None:
            self.missing[name] = None
        return found

    def present(self, name: str) -> bool:
        """Whether the key has a value (the Null operator; nothing is reported missing)."""
        listed = _multivalued(self.values, name)
        if listed is not None:
            return bool(listed)
        return name in _LITERAL_VARIABLES or self.values.get(name) is not None

    def all_values(self, name: str) -> tuple[str, ...]:
        """Every value of a condition key: all of a multivalued key's, the one of a
        single-valued key, none when absent (reported missing)."""
        listed = _multivalued(self.values, name)
        if listed is None:
            value = self.get(name)
            return () if value is None else (value,)
        if not listed:
            self.missing[name] = None
        return listed

    def substitute(self, name: str) -> str | None:
        """What `${name}` becomes: its value; None when absent or multivalued (IAM: a
        multivalued key is not a policy variable), so the element cannot match. A
        certificate variable whose value holds a wildcard character or more than 1024
        characters is not replaced: the `${name}` text stays; special characters of a
        certificate variable's value are escaped with a backslash
        (DG:use-policy-variables)."""
        if _multivalued(self.values, name) is not None:
            return None
        value = self.get(name)
        if value is None or not name.startswith(CERTIFICATE_PREFIX):
            return value
        if len(value) > MAX_CERTIFICATE_VALUE or _CERTIFICATE_WILDCARDS.search(value):
            return "${" + name + "}"
        if _DIRECTORY_NAME.search(name):
            return value  # a distinguished name, its attribute values already escaped
        return _escape(value)


CERTIFICATE_PREFIX = "iot:Certificate."
AVAILABLE_KEYS = "iot:Certificate.AvailableKeys"
# DG:use-policy-variables, "X.509 Certificate policy variable limitations": certificate
# attributes holding arrays are limited to five items; a value with a wildcard character,
# or longer than 1024 characters, is not substituted; special characters are escaped.
MAX_CERTIFICATE_ITEMS = 5
MAX_CERTIFICATE_VALUE = 1024
_CERTIFICATE_WILDCARDS = re.compile(r"[*$+?#]")
_CERTIFICATE_SPECIALS = re.compile(r'([,"\\+=<>;])')
_INDEXED = re.compile(r"\.[0-9]+$")
# `...AlternativeName.DirectoryName` (and its `.N` values): the guide's own
# `cn=...,ou=...,o=...,c=...` form, whose separators are not escaped.
_DIRECTORY_NAME = re.compile(r"\.AlternativeName\.DirectoryName(\.[0-9]+)?$")

# The subject and issuer attributes the developer guide lists, plus Locality (JITP passes
# it as AWS::IoT::Certificate::Locality).
_NAME_ATTRIBUTES = {
    "CommonName": NameOID.COMMON_NAME,
    "Country": NameOID.COUNTRY_NAME,
    "Organization": NameOID.ORGANIZATION_NAME,
    "OrganizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "Locality": NameOID.LOCALITY_NAME,
    "State": NameOID.STATE_OR_PROVINCE_NAME,
    "SerialNumber": NameOID.SERIAL_NUMBER,
    "DistinguishedNameQualifier": NameOID.DN_QUALIFIER,
    "Title": NameOID.TITLE,
    "Surname": NameOID.SURNAME,
    "GivenName": NameOID.GIVEN_NAME,
    "Initials": NameOID.INITIALS,
    "Pseudonym": NameOID.PSEUDONYM,
    "GenerationQualifier": NameOID.GENERATION_QUALIFIER,
}
_ALTERNATIVE_NAMES: dict[type[x509.GeneralName], str] = {
    x509.RFC822Name: "RFC822Name",
    x509.DNSName: "DNSName",
    x509.DirectoryName: "DirectoryName",
    x509.UniformResourceIdentifier: "UniformResourceIdentifier",
    x509.IPAddress: "IPAddress",
}
_ALTERNATIVE_NAME_EXTENSIONS: tuple[
    tuple[str, type[x509.SubjectAlternativeName] | type[x509.IssuerAlternativeName]], ...
] = (("Subject", x509.SubjectAlternativeName), ("Issuer", x509.IssuerAlternativeName))


@functools.lru_cache(maxsize=1024)
def certificate_variables(pem: str) -> dict[str, str]:
    """The X.509 certificate policy variables of a PEM certificate (empty when it does
    not parse; DG:cert-policy-variables):

    - `iot:Certificate.SerialNumber`: the serial number in decimal;
    - `iot:Certificate.Subject.<attribute>` and `Issuer.<attribute>` (CommonName, Country,
      Organization, ...), `Subject.AlternativeName.<kind>` and
      `Issuer.AlternativeName.<kind>` (RFC822Name, DNSName, DirectoryName as
      `cn=...,ou=...,o=...,c=...`, UniformResourceIdentifier, IPAddress).

    A multi-valued attribute's first value is under its name and the next ones, up to five
    in all, under `<name>.1` ... `<name>.4`; `EvaluationContext` answers `<name>.0`,
    `<name>.List` and `iot:Certificate.AvailableKeys` from these. The values are the
    certificate's own (conditions compare them as they are); special characters are
    escaped only where a value replaces `${...}` (`EvaluationContext.substitute`)."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return {}
    found = {"iot:Certificate.SerialNumber": str(certificate.serial_number)}
    for part, name in (("Subject", certificate.subject), ("Issuer", certificate.issuer)):
        for label, oid in _NAME_ATTRIBUTES.items():
            values = [_text(a.value) for a in name.get_attributes_for_oid(oid)]
            _add_values(found, f"{CERTIFICATE_PREFIX}{part}.{label}", values)
    for part, extension in _ALTERNATIVE_NAME_EXTENSIONS:
        try:
            names = certificate.extensions.get_extension_for_class(extension).value
        except (x509.ExtensionNotFound, ValueError):
            continue
        by_kind: dict[str, list[str]] = {}
        for general_name in names:
            kind = _ALTERNATIVE_NAMES.get(type(general_name))
            if kind is not None:
                by_kind.setdefault(kind, []).append(_general_name(general_name.value))
        for kind, values in by_kind.items():
            _add_values(found, f"{CERTIFICATE_PREFIX}{part}.AlternativeName.{kind}", values)
    return found


def _add_values(found: dict[str, str], name: str, values: list[str]) -> None:
    for index, value in enumerate(values[:MAX_CERTIFICATE_ITEMS]):
        found[name if index == 0 else f"{name}.{index}"] = value


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode(errors="replace")


def _escape(value: str) -> str:
    return _CERTIFICATE_SPECIALS.sub(r"\\\1", value)


def _general_name(value: object) -> str:
    """A subject or issuer alternative name as a policy variable's value."""
    if isinstance(value, x509.Name):
        # DG:use-policy-variables: DirName:/C=US/O=IoT/OU=SmartHome/CN=LightBulbCert is
        # cn=LightBulbCert,ou=SmartHome,o=IoT,c=US (RFC 4514 order, lowercase keys).
        return ",".join(
            "+".join(_attribute_text(attribute) for attribute in rdn)
            for rdn in reversed(value.rdns)
        )
    if isinstance(value, str):
        return value
    return str(value)  # an IPv4 or IPv6 address


def _attribute_text(attribute: x509.NameAttribute[str | bytes]) -> str:
    key = attribute.rfc4514_string().split("=", 1)[0]
    return f"{key.lower()}={_escape(_text(attribute.value))}"


def _multivalued(values: Mapping[str, str], name: str) -> tuple[str, ...] | None:
    """The values of a multivalued certificate key (`<variable>.List`: every value of the
    attribute; `iot:Certificate.AvailableKeys`: the certificate variables that have a
    value), or None for any other key."""
    if not name.startswith(CERTIFICATE_PREFIX):
        return None
    if name == AVAILABLE_KEYS:
        return tuple(
            key for key in values if key.startswith(CERTIFICATE_PREFIX) and not _INDEXED.search(key)
        )
    if not name.endswith(".List"):
        return None
    base = name[: -len(".List")]
    first = values.get(base)
    if first is None:
        return ()
    listed = [first]
    for index in range(1, MAX_CERTIFICATE_ITEMS):
        value = values.get(f"{base}.{index}")
        if value is None:
            break
        listed.append(value)
    return tuple(listed)


# --------------------------------------------------------------------------- matching


@functools.lru_cache(maxsize=8192)
def _compile(pieces: tuple[tuple[bool, str], ...], ignore_case: bool) -> re.Pattern[str]:
    """A regex for `pieces`: (is_literal_value, text); glob text gets `*`/`?` wildcards,
    substituted variable values are matched literally."""
    parts: list[str] = []
    for is_value, text in pieces:
        if is_value:
            parts.append(re.escape(text))
        else:
            parts.append(
                "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in text)
            )
    return re.compile("".join(parts), (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


def _pattern(text: str, context: EvaluationContext, ignore_case: bool) -> re.Pattern[str] | None:
    """`text` with its variables substituted, compiled; None when a variable is missing."""
    pieces: list[tuple[bool, str]] = []
    position = 0
    for variable in _VARIABLE.finditer(text):
        pieces.append((False, text[position : variable.start()]))
        value = context.substitute(variable.group(1))
        if value is None:
            return None
        pieces.append((True, value))
        position = variable.end()
    pieces.append((False, text[position:]))
    return _compile(tuple(pieces), ignore_case)


def _substitute(text: str, context: EvaluationContext) -> str | None:
    """`text` with its variables replaced by their values; None when one is missing."""
    if "${" not in text:
        return text
    parts: list[str] = []
    position = 0
    for variable in _VARIABLE.finditer(text):
        value = context.substitute(variable.group(1))
        if value is None:
            return None
        parts.append(text[position : variable.start()])
        parts.append(value)
        position = variable.end()
    parts.append(text[position:])
    return "".join(parts)


def _matches_any(
    patterns: Iterable[str], value: str, context: EvaluationContext, ignore_case: bool
) -> bool | None:
    """Whether a pattern matches `value`; None when none matched and a variable was
    missing (the element cannot be decided)."""
    undecided = False
    for text in patterns:
        compiled = _pattern(text, context, ignore_case)
        if compiled is None:
            undecided = True
        elif compiled.fullmatch(value):
            return True
    return None if undecided else False


def _element_matches(
    patterns: tuple[str, ...],
    negated: bool,
    value: str,
    context: EvaluationContext,
    ignore_case: bool,
) -> bool:
    found = _matches_any(patterns, value, context, ignore_case)
    if found is None:
        return False  # an unresolved variable never grants nor denies
    return found != negated


def _condition_holds(condition: Condition, context: EvaluationContext) -> bool:
    if condition.operator == "Null":
        present = context.present(condition.key)
        return (condition.values[0].lower() == "true") != present
    actuals = context.all_values(condition.key)
    if condition.qualifier == "ForAllValues":
        # IAM: true when every value matches, and when the key has no value at all.
        return all(_value_holds(condition, actual, context) for actual in actuals)
    if condition.qualifier == "ForAnyValue":
        return any(_value_holds(condition, actual, context) for actual in actuals)
    if not actuals:
        return condition.if_exists
    # A multivalued key without a set operator holds when one of its values does.
    return any(_value_holds(condition, actual, context) for actual in actuals)


def _value_holds(condition: Condition, actual: str, context: EvaluationContext) -> bool:
    """Whether the condition holds for one value of its key."""
    operator = condition.operator
    negated = "Not" in operator
    if operator == "Bool":
        return actual.lower() in (v.lower() for v in condition.values)
    if operator in _NUMERIC_OPERATORS:
        return _numeric_holds(operator, actual, condition.values)
    if operator.startswith("StringEquals") or operator.startswith("StringNotEquals"):
        # IAM substitutes policy variables in the values of string conditions too.
        expected = [_substitute(v, context) for v in condition.values]
        if operator.endswith("IgnoreCase"):
            found = actual.lower() in (v.lower() for v in expected if v is not None)
        else:
            found = actual in expected
        if not found and None in expected:
            return False  # an unresolved variable never grants nor denies
        return found != negated
    # StringLike / ArnLike / ArnEquals: globs with variables.
    matched = _matches_any(condition.values, actual, context, ignore_case=False)
    if matched is None:
        return False  # an unresolved variable never grants nor denies
    return matched != negated


def _numeric_holds(operator: str, actual: str, expected: tuple[str, ...]) -> bool:
    try:
        number = float(actual)
        targets = [float(v) for v in expected]
    except ValueError:
        return False
    compare = _NUMERIC_COMPARISONS[operator]
    return any(compare(number, target) for target in targets)


def statement_applies(
    statement: Statement, action: str, resource: str, context: EvaluationContext
) -> bool:
    return (
        _element_matches(statement.actions, statement.not_action, action, context, True)
        and _element_matches(statement.resources, statement.not_resource, resource, context, False)
        and all(_condition_holds(c, context) for c in statement.conditions)
    )


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class NamedPolicy:
    name: str
    arn: str
    document: str


@dataclass(slots=True)
class Decision:
    """The outcome of one authInfo (an action on one or more resources)."""

    decision: str  # ALLOWED | EXPLICIT_DENY | IMPLICIT_DENY
    allowed: list[NamedPolicy]
    explicit_deny: list[NamedPolicy]
    implicit_deny: list[NamedPolicy]
    missing: list[str]


def authorize(
    policies: list[NamedPolicy],
    action: str,
    resources: list[str],
    context: EvaluationContext,
) -> Decision:
    """Evaluate `action` on every resource of `resources` against `policies`."""
    allowing: dict[NamedPolicy, None] = {}
    denying: dict[NamedPolicy, None] = {}
    silent: dict[NamedPolicy, None] = {}
    all_allowed = bool(resources)
    for resource in resources:
        resource_allowed = False
        for policy in policies:
            allows = denies = False
            for statement in parse_policy(policy.document).statements:
                if statement_applies(statement, action, resource, context):
                    if statement.allow:
                        allows = True
                    else:
                        denies = True
            if denies:
                denying[policy] = None
            if allows:
                allowing[policy] = None
                resource_allowed = True
            if not allows and not denies:
                silent[policy] = None
        all_allowed = all_allowed and resource_allowed
    if denying:
        decision = "EXPLICIT_DENY"
    elif all_allowed:
        decision = "ALLOWED"
    else:
        decision = "IMPLICIT_DENY"
    return Decision(
        decision=decision,
        allowed=list(allowing),
        explicit_deny=list(denying),
        implicit_deny=list(silent) if decision == "IMPLICIT_DENY" else [],
        missing=list(context.missing),
    )
