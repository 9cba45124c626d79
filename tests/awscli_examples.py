"""The AWS CLI's example files (`awscli/examples/{iot,iot-data,iot-jobs-data}/*.rst`), which
show commands with the JSON AWS really returned, read as replayable examples.

`examples()` yields each example whose command and output parse (the output read
leniently, `lenient_json`), `unreadable()` the outputs that still do not parse and the
files whose commands and outputs do not pair up; `replay()` runs one
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
_MISSING_COMMA = re.compile(r"([\]}\"\del])([ \t\r]*\n\s*\")")


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
    """The `aws ...` commands of a file, continuation lines joined, in order. A command
    starts a literal block (the line before it is prose): the `aws iot ...` lines of a
    setup script (inside a loop, in `$(...)`) are not the example's command. Lines are
    joined while they end with a backslash or a quote is left open (a PEM in quotes)."""
    commands = []
    lines = text.splitlines()
    index = 0
    previous = ""
    while index < len(lines):
        raw = lines[index]
        line = raw.strip()
        if line.startswith("aws iot") and not previous[:1].isspace():
            parts = [line]
            while index + 1 < len(lines):
                if parts[-1].endswith("\\"):
                    parts[-1] = parts[-1][:-1]
                elif not _open_quote(" ".join(parts)):
                    break
                index += 1
                parts.append(lines[index].strip())
            commands.append(" ".join(parts))
        if line:
            previous = raw
        index += 1
    return commands


def _open_quote(command: str) -> bool:
    try:
        shlex.split(command)
    except ValueError:
        return True
    return False


# What the CLI user who copies an example's output must repair to read it as JSON:
_TRAILING_COMMA = re.compile(r",(\s*\n\s*[\]}])")
# a timestamp printed bare (describe-custom-metric)
_BARE_TIMESTAMP = re.compile(r"(:\s*)(\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)?)(?=\s*[,}\n])")
# a JSON document inside a string whose quotes are not escaped (test-invoke-authorizer)
_UNESCAPED_DOCUMENT = re.compile(r'^(\s*(?:"\w+":\s*)?)"(\{.*\})"(,?)[ \t]*$', re.MULTILINE)
_UNESCAPED_QUOTE = re.compile(r'(?<!\\)"')
# a backslash that escapes nothing JSON knows (`\G` in a PEM): kept as a backslash
_STRAY_BACKSLASH = re.compile(r'(?<!\\)((?:\\\\)*)\\(?![\\"/bfnrtu])')


def _escape_document(found: re.Match[str]) -> str:
    inner = found.group(2)
    if _UNESCAPED_QUOTE.search(inner) is None:
        return found.group(0)
    return f"{found.group(1)}{json.dumps(inner)}{found.group(3)}"


def lenient_json(text: str) -> Any:
    """`text` read as JSON the way a reader of the example must: a missing comma between
    two members is added (after a `}`, `]`, string, number, true, false or null), a
    trailing comma dropped, a bare timestamp quoted, an embedded document's quotes
    escaped, a backslash that escapes nothing kept, line breaks inside strings kept, and
    whatever follows the document (a stray closing brace) dropped. Raises ValueError
    when it still does not parse."""
    text = _MISSING_COMMA.sub(r"\1,\2", text)
    text = _TRAILING_COMMA.sub(r"\1", text)
    text = _BARE_TIMESTAMP.sub(r'\1"\2"', text)
    text = _UNESCAPED_DOCUMENT.sub(_escape_document, text)
    text = _STRAY_BACKSLASH.sub(r"\1\\\\", text)
    return json.JSONDecoder(strict=False).raw_decode(text.strip())[0]


@dataclass(frozen=True)
class Unreadable:
    """An example output (or a whole file) `examples()` cannot replay, and why."""

    service: str
    name: str  # "<file stem>#<n>", or "<file stem>" when commands and outputs do not pair
    problem: str

    def __str__(self) -> str:
        return f"{self.service}/{self.name}"


def _read(service: str) -> Iterator[Example | Unreadable]:
    base = examples_dir()
    if base is None:
        return
    model = service_model(service)
    by_cli = {xform_name(name, "-"): name for name in model.operation_names}
    for path in sorted((base / service).glob("*.rst")):
        text = path.read_text()
        commands = _command_blocks(text)
        outputs = _OUTPUT.findall(text)
        if not outputs:
            continue  # the commands print nothing (or write a file)
        if len(commands) != len(outputs):
            problem = f"{len(commands)} commands, {len(outputs)} outputs"
            yield Unreadable(service, path.stem, problem)
            continue
        for number, (command, output) in enumerate(zip(commands, outputs, strict=True), 1):
            name = f"{path.stem}#{number}"
            try:
                words = shlex.split(command)
            except ValueError as error:
                yield Unreadable(service, name, f"command: {error}")
                continue
            try:
                document = lenient_json(output)
            except ValueError as error:
                yield Unreadable(service, name, f"output: {error}")
                continue
            if len(words) < 3 or words[2] not in by_cli:
                yield Unreadable(service, name, f"no such operation: {command[:60]}")
            elif not isinstance(document, dict):
                yield Unreadable(service, name, "output is not a JSON object")
            else:
                yield Example(service, by_cli[words[2]], name, tuple(words[3:]), document)


def examples(service: str) -> Iterator[Example]:
    """The examples of `service` whose command and output can be read."""
    for found in _read(service):
        if isinstance(found, Example):
            yield found


def unreadable(service: str) -> Iterator[Unreadable]:
    """The example outputs of `service` that cannot be read, even leniently, and the
    files whose commands and outputs do not pair up."""
    for found in _read(service):
        if isinstance(found, Unreadable):
            yield found


def example_file(service: str, stem: str, name: str) -> Any:
    """The JSON of a file an example shows ("Contents of ``name``::" in `stem`.rst),
    read as the CLI user who copies it must (`lenient_json`)."""
    base = examples_dir()
    assert base is not None
    found = re.search(
        _CONTENTS.format(re.escape(name)), (base / service / f"{stem}.rst").read_text()
    )
    if found is None:
        raise NotReplayable(f"{stem}.rst shows no {name}")
    return lenient_json(found.group(1))


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
    if kind in ("float", "double"):
        return float(text)
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
