"""Provisioning template bodies: parsing, structural checks and the intrinsic functions.

A template (DG:provision-template) is JSON with `Parameters` (name -> {Type, Default}),
optional `Mappings` and `Conditions`, and `Resources` (logical name -> {Type, Properties,
OverrideSettings, Condition}). Values may use the intrinsics Ref, Fn::Join, Fn::Select,
Fn::Split, Fn::Sub, Fn::FindInMap and Fn::If; conditions use Fn::Equals, Fn::And, Fn::Or,
Fn::Not and {"Condition": name}, with CloudFormation's semantics.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from iotmock.core.errors import invalid_request

THING = "AWS::IoT::Thing"
CERTIFICATE = "AWS::IoT::Certificate"
POLICY = "AWS::IoT::Policy"
RESOURCE_TYPES = (THING, CERTIFICATE, POLICY)
SECTIONS = frozenset(
    {
        "AWSTemplateFormatVersion",
        "Description",
        "Parameters",
        "Mappings",
        "Conditions",
        "Resources",
        "DeviceConfiguration",
    }
)
PARAMETER_TYPES = frozenset({"String", "Number", "CommaDelimitedList", "List<String>"})
INTRINSICS = frozenset(
    {"Ref", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::Sub", "Fn::FindInMap", "Fn::If"}
)
CONDITION_FUNCTIONS = frozenset({"Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition"})

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


class _NoValue:
    """`{"Ref": "AWS::NoValue"}`: removes the property or list item that holds it."""


NO_VALUE = _NoValue()


def scalar_text(value: Any) -> str | None:
    """A string, number's text, or None for anything else (booleans, lists, maps)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return str(value)


def bad_template(message: str) -> Exception:
    return invalid_request(f"The provisioning template is invalid: {message}")


@dataclass(slots=True)
class Template:
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)


def _section(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name, {})
    if not isinstance(value, dict):
        raise bad_template(f"the {name} section must be a JSON object.")
    return value


def parse_template(text: str) -> Template:
    """The template, structurally checked; InvalidRequestException says what is wrong."""
    try:
        body = json.loads(text)
    except ValueError as error:
        raise bad_template(f"the body is not valid JSON ({error}).") from None
    if not isinstance(body, dict):
        raise bad_template("the body must be a JSON object.")
    unknown = sorted(set(body) - SECTIONS)
    if unknown:
        raise bad_template(f"unknown section(s) {', '.join(unknown)}.")
    template = Template(
        parameters=_section(body, "Parameters"),
        mappings=_section(body, "Mappings"),
        conditions=_section(body, "Conditions"),
        resources=_section(body, "Resources"),
    )
    if "Resources" not in body:
        raise bad_template("the Resources section is missing.")
    for name, declaration in template.parameters.items():
        _check_parameter(name, declaration)
    for map_name, mapping in template.mappings.items():
        if not isinstance(mapping, dict) or not all(isinstance(v, dict) for v in mapping.values()):
            raise bad_template(f"mapping {map_name} must be a two-level JSON object.")
    counts = dict.fromkeys(RESOURCE_TYPES, 0)
    for logical_name, resource in template.resources.items():
        _check_resource(template, logical_name, resource)
        counts[resource["Type"]] += 1
    for resource_type in (THING, CERTIFICATE):
        if counts[resource_type] > 1:
            raise bad_template(f"a template can hold at most one {resource_type} resource.")
    return template


def _check_parameter(name: str, declaration: Any) -> None:
    if not isinstance(declaration, dict):
        raise bad_template(f"parameter {name} must be a JSON object with a Type.")
    declared = declaration.get("Type", "String")
    if declared not in PARAMETER_TYPES:
        raise bad_template(
            f"parameter {name} has unsupported Type {declared!r}; "
            f"use one of {', '.join(sorted(PARAMETER_TYPES))}."
        )


def _check_resource(template: Template, logical_name: str, resource: Any) -> None:
    if not isinstance(resource, dict):
        raise bad_template(f"resource {logical_name} must be a JSON object.")
    resource_type = resource.get("Type")
    if resource_type not in RESOURCE_TYPES:
        raise bad_template(
            f"resource {logical_name} has unsupported Type {resource_type!r}; "
            f"use one of {', '.join(RESOURCE_TYPES)}."
        )
    if not isinstance(resource.get("Properties", {}), dict):
        raise bad_template(f"the Properties of resource {logical_name} must be a JSON object.")
    if not isinstance(resource.get("OverrideSettings", {}), dict):
        raise bad_template(
            f"the OverrideSettings of resource {logical_name} must be a JSON object."
        )
    condition = resource.get("Condition")
    if condition is not None and condition not in template.conditions:
        raise bad_template(f"resource {logical_name} uses undefined condition {condition!r}.")


class Evaluator:
    """Resolves intrinsic functions against parameter values, mappings and conditions."""

    def __init__(self, template: Template, parameters: dict[str, Any]) -> None:
        self._template = template
        self._values: dict[str, Any] = {}
        for name, declaration in template.parameters.items():
            raw = parameters.get(name, declaration.get("Default"))
            if raw is not None:
                self._values[name] = _typed(name, declaration.get("Type", "String"), raw)
        # Values for names the template does not declare are still usable by Ref
        # (AWS passes pseudo-parameters such as AWS::IoT::Certificate::Id this way).
        for name, raw in parameters.items():
            self._values.setdefault(name, raw)
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()

    # ------------------------------------------------------------------ values

    def resolve(self, node: Any) -> Any:
        if isinstance(node, dict):
            if len(node) == 1:
                ((key, argument),) = node.items()
                if key in INTRINSICS:
                    return self._intrinsic(key, argument)
                if key.startswith("Fn::"):
                    raise bad_template(f"unsupported intrinsic function {key}.")
            resolved = {k: self.resolve(v) for k, v in node.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        return node

    def ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            raise bad_template(f"Ref takes a parameter name, not {name!r}.")
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._values:
            return self._values[name]
        if name in self._template.parameters:
            raise invalid_request(
                f"Parameter {name} has no value: pass it in parameters or give it a Default "
                "in the template."
            )
        raise bad_template(f"Ref to undeclared parameter {name}.")

    def _intrinsic(self, name: str, argument: Any) -> Any:
        if name == "Ref":
            return self.ref(argument)
        if name == "Fn::If":
            condition, when_true, when_false = self._arguments(name, argument, 3)
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Fn::Sub":
            return self._sub(argument)
        if name == "Fn::Join":
            delimiter, items = self._arguments(name, argument, 2)
            values = self._string_list(name, self.resolve(items))
            return self._string(name, self.resolve(delimiter)).join(values)
        if name == "Fn::Split":
            delimiter, text = self._arguments(name, argument, 2)
            return self._string(name, self.resolve(text)).split(
                self._string(name, self.resolve(delimiter))
            )
        if name == "Fn::Select":
            index, items = self._arguments(name, argument, 2)
            return self._select(self.resolve(index), self.resolve(items))
        map_name, top, second = self._arguments(name, argument, 3)
        return self._find_in_map(
            self._string(name, self.resolve(map_name)),
            self._string(name, self.resolve(top)),
            self._string(name, self.resolve(second)),
        )

    @staticmethod
    def _arguments(name: str, argument: Any, count: int) -> list[Any]:
        if not isinstance(argument, list) or len(argument) != count:
            raise bad_template(f"{name} takes a list of {count} arguments, not {argument!r}.")
        return argument

    @staticmethod
    def _string(name: str, value: Any) -> str:
        text = scalar_text(value)
        if text is None:
            raise bad_template(f"{name} needs a string where it got {value!r}.")
        return text

    def _string_list(self, name: str, value: Any) -> list[str]:
        if not isinstance(value, list):
            raise bad_template(f"{name} needs a list where it got {value!r}.")
        return [self._string(name, item) for item in value]

    @staticmethod
    def _select(index: Any, items: Any) -> Any:
        if not isinstance(items, list):
            raise bad_template(f"Fn::Select needs a list where it got {items!r}.")
        try:
            position = int(index)
        except (TypeError, ValueError):
            raise bad_template(f"Fn::Select index {index!r} is not a number.") from None
        if not 0 <= position < len(items):
            raise invalid_request(
                f"Fn::Select index {position} is out of range for a list of {len(items)} item(s)."
            )
        return items[position]

    def _find_in_map(self, map_name: str, top: str, second: str) -> Any:
        mapping = self._template.mappings.get(map_name)
        if mapping is None:
            raise bad_template(f"Fn::FindInMap names undefined mapping {map_name}.")
        entry = mapping.get(top)
        if entry is None or second not in entry:
            raise invalid_request(
                f"Fn::FindInMap found no value for [{top}][{second}] in mapping {map_name}."
            )
        return entry[second]

    def _sub(self, argument: Any) -> str:
        variables: dict[str, Any] = {}
        if isinstance(argument, list):
            text, raw_variables = self._arguments("Fn::Sub", argument, 2)
            if not isinstance(raw_variables, dict):
                raise bad_template("the second argument of Fn::Sub must be a JSON object.")
            variables = {k: self.resolve(v) for k, v in raw_variables.items()}
        else:
            text = argument
        if not isinstance(text, str):
            raise bad_template(f"Fn::Sub needs a string where it got {text!r}.")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} stands for ${Literal}
            value = variables[name] if name in variables else self.ref(name)
            return self._string("Fn::Sub", value)

        return _SUB_VARIABLE.sub(replace, text)

    # ------------------------------------------------------------------ conditions

    def condition(self, name: Any) -> bool:
        """The value of the named condition (evaluated once, cycles refused)."""
        if not isinstance(name, str) or name not in self._template.conditions:
            raise bad_template(f"undefined condition {name!r}.")
        if name not in self._conditions:
            if name in self._evaluating:
                raise bad_template(f"condition {name} refers to itself.")
            self._evaluating.add(name)
            self._conditions[name] = self._truth(self._template.conditions[name])
            self._evaluating.discard(name)
        return self._conditions[name]

    def _truth(self, node: Any) -> bool:
        if not isinstance(node, dict) or len(node) != 1:
            raise bad_template(f"a condition must be one condition function, not {node!r}.")
        ((key, argument),) = node.items()
        if key == "Condition":
            return self.condition(argument)
        if key == "Fn::Equals":
            left, right = self._arguments(key, argument, 2)
            return bool(_comparable(self.resolve(left)) == _comparable(self.resolve(right)))
        if key == "Fn::Not":
            (inner,) = self._arguments(key, argument, 1)
            return not self._truth(inner)
        if key in ("Fn::And", "Fn::Or"):
            if not isinstance(argument, list) or not 2 <= len(argument) <= 10:
                raise bad_template(f"{key} takes a list of 2 to 10 conditions.")
            results = [self._truth(inner) for inner in argument]
            return all(results) if key == "Fn::And" else any(results)
        raise bad_template(f"unsupported condition function {key}.")


def _comparable(value: Any) -> Any:
    # CloudFormation compares parameter values as strings ("1" equals 1).
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _typed(name: str, declared: str, raw: Any) -> Any:
    if declared == "Number":
        if not isinstance(raw, (int, float)) and not _NUMBER.fullmatch(str(raw)):
            raise invalid_request(f"Parameter {name} must be a Number, not {raw!r}.")
        return str(raw)
    if declared in ("CommaDelimitedList", "List<String>"):
        if isinstance(raw, list):
            return [str(item) for item in raw]
        return [item.strip() for item in str(raw).split(",")]
    return raw
