"""The AWS CLI's example files (`awscli/examples/{iot,iot-data,iot-jobs-data}/*.rst`), which
show commands with the JSON AWS really returned, read as replayable examples.

`examples()` yields each example whose command and output parse; `replay()` runs one
through boto3 inside the current mock and returns the key paths of AWS's output and of
iotmock's, walked along the operation's output shape (map keys are data and collapse to
`{}`, list items to `[]`; JSON documents inside strings are not entered).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore import xform_name
from botocore.model import Shape

from iotmock.core.model import operation_model, service_model

SERVICES = {"iot": "iot", "iot-data": "iot-data", "iot-jobs-data": "iot-jobs-data"}
_COMMAND = re.compile(r"^\s*aws (iot(?:-data|-jobs-data)?) ([a-z0-9-]+)((?:.|\n)*?)(?:::)?\s*$")
_OUTPUT = re.compile(r"Output::\s*\n\n((?:[ \t]+.*\n|\n)+)")
_CONTENTS = r"Contents of ``{}``::\s*\n\n((?:[ \t]+.*\n|\n)+)"
_MISSING_COMMA = re.compile(r"([\]}\"])(\s*\n\s*\")")


def examples_dir() -> Path | None:
    try:
        import awscli
    except ImportError:
        return None
    return Path(awscli.__file__).parent / "examples"


@dataclass(frozen=True)
class Example:
    service: str
    operation: str
    name: str  # "<file stem>#<n>"
    arguments: tuple[str, ...]  # the CLI arguments, shell-split
    output: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.service}/{self.name}"


def _command_blocks(text: str) -> list[str]:
    """The `aws ...` commands of a file, continuation lines joined, in order."""
    commands = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if line.startswith("aws iot"):
            parts = [line]
            while parts[-1].endswith("\\") and index + 1 < len(lines):
                parts[-1] = parts[-1][:-1]
                index += 1
                parts.append(lines[index].strip())
            commands.append(" ".join(parts))
        index += 1
    return commands


def examples(service: str) -> Iterator[Example]:
    base = examples_dir()
    if base is None:
        return
    model = service_model(service)
    by_cli = {xform_name(name, "-"): name for name in model.operation_names}
    for path in sorted((base / service).glob("*.rst")):
        text = path.read_text()
        commands = _command_blocks(text)
        outputs = _OUTPUT.findall(text)
        if len(commands) != len(outputs):
            continue  # cannot pair commands with outputs reliably
        for number, (command, output) in enumerate(zip(commands, outputs, strict=True), 1):
            try:
                words = shlex.split(command)
                document = json.loads(output)
            except ValueError:
                continue
            if len(words) < 3 or words[2] not in by_cli or not isinstance(document, dict):
                continue
            yield Example(
                service, by_cli[words[2]], f"{path.stem}#{number}", tuple(words[3:]), document
            )


def example_file(service: str, stem: str, name: str) -> Any:
    """The JSON of a file an example shows ("Contents of ``name``::" in `stem`.rst),
    read as the CLI user who copies it must: a missing comma between two members is
    added, and whatever follows the document (a stray closing brace) is dropped."""
    base = examples_dir()
    assert base is not None
    found = re.search(
        _CONTENTS.format(re.escape(name)), (base / service / f"{stem}.rst").read_text()
    )
    if found is None:
        raise NotReplayable(f"{stem}.rst shows no {name}")
    text = _MISSING_COMMA.sub(r"\1,\2", found.group(1))
    return json.JSONDecoder().raw_decode(text.strip())[0]


class NotReplayable(Exception):
    """The example's arguments use CLI features the replay does not read (files,
    shorthand syntax)."""


def _value(shape: Shape, text: str) -> Any:
    if text.startswith("file://") or text.startswith("fileb://"):
        raise NotReplayable(f"reads a file: {text}")
    kind = shape.type_name
    if kind in ("structure", "map", "list") and text[:1] in "{[":
        return json.loads(text)
    if kind in ("structure", "map"):
        raise NotReplayable(f"shorthand syntax: {text}")
    if kind in ("integer", "long"):
        return int(text)
    if kind == "boolean":
        return text.lower() == "true"
    if kind == "blob":
        return text.encode()
    return text


def parameters(example: Example, given: Collection[str] = ()) -> dict[str, Any]:
    """The example's CLI arguments as boto3 parameters (CLI-only flags are dropped);
    members in `given` are left out unread (a setup passes them: a file's contents, an
    id AWS generated, shorthand syntax)."""
    shape = operation_model(example.service, example.operation).input_shape
    members = shape.members if shape is not None else {}
    by_flag = {xform_name(name, "-"): name for name in members}
    by_flag.update({name.lower(): name for name in members})
    params: dict[str, Any] = {}
    words = list(example.arguments)
    while words:
        word = words.pop(0)
        if not word.startswith("--"):
            raise NotReplayable(f"unexpected argument {word}")
        flag = word[2:]
        values = []
        while words and not words[0].startswith("--"):
            values.append(words.pop(0))
        negated = flag.startswith("no-") and flag[3:] in by_flag
        name = by_flag.get(flag[3:] if negated else flag)
        if name is None or name in given:
            continue  # a CLI-only flag (--certificate-pem-outfile, --cli-input-json...)
        member = members[name]
        if member.type_name == "boolean" and not values:
            params[name] = not negated
        elif (
            member.type_name == "list"
            and member.member.type_name != "structure"
            and (len(values) != 1 or values[0][:1] != "[")
        ):
            params[name] = [_value(member.member, v) for v in values]
        elif len(values) == 1:
            params[name] = _value(member, values[0])
        else:
            raise NotReplayable(f"--{flag} takes {len(values)} values")
    return params


def key_paths(shape: Shape | None, value: Any, prefix: str = "") -> set[str]:
    """Every key path of `value` along `shape` (`a.b`, list items `[]`, map keys `{}`)."""
    paths: set[str] = set()
    if shape is None:
        return paths
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key == "ResponseMetadata" or key not in shape.members:
                continue
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            paths |= key_paths(shape.members[key], item, path)
    elif shape.type_name == "list" and isinstance(value, list):
        for item in value:
            paths |= key_paths(shape.member, item, f"{prefix}[]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for item in value.values():
            paths |= key_paths(shape.value, item, f"{prefix}{{}}")
    return paths


def replay(client: Any, example: Example, **overrides: Any) -> tuple[set[str], set[str]]:
    """(AWS's key paths, iotmock's key paths) of one example run through `client`."""
    params = {**parameters(example, overrides), **overrides}
    answer = getattr(client, xform_name(example.operation))(**params)
    output_shape = operation_model(example.service, example.operation).output_shape
    return key_paths(output_shape, example.output), key_paths(output_shape, answer)
