"""The shape of the package: a core that knows no family, families that register their
handlers, and a mock object whose test-facing API is grouped by family."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pathlib
import textwrap

import pytest

import iotmock
from iotmock import IotMock
from iotmock.core.mock_api import FamilyApi, LazyGroup
from iotmock.core.operations import HANDLERS
from iotmock.devices.mqtt.group import MqttGroup
from iotmock.families import FAMILIES, load_all
from iotmock.server.group import ServerGroup

PACKAGE = pathlib.Path(iotmock.__file__).parent

LIFECYCLE = {
    "start",
    "stop",
    "started",
    "backend",
    "backends",
    "reset",
    "as_account",
    "messages",
    "clear_messages",
    "shadow",
    "snapshot",
    "restore",
    "mqtt",  # a property: the MQTT endpoint's part is created on first use (cross-cutting)
}
GROUPS = {
    "rules",
    "authorizers",
    "certificates",
    "registration",
    "defender",
    "audit",
    "commands",
    "devices",
    "shadows",
    "jobs",
    "faults",
    "calls",
}


def _imported_modules(path: pathlib.Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_imports_no_family(path: pathlib.Path) -> None:
    families = {f"iotmock.{family}" for family in FAMILIES}
    reached = {
        module
        for module in _imported_modules(path)
        if any(module == f or module.startswith(f + ".") for f in families)
    }
    assert reached == set(), f"{path.name} imports family modules {sorted(reached)}"


def test_every_handler_lives_in_a_family_package_or_core() -> None:
    load_all()
    assert len(HANDLERS) > 280
    allowed = tuple(f"iotmock.{family}." for family in (*FAMILIES, "core"))
    misplaced = {
        key: handler.__module__
        for key, handler in HANDLERS.items()
        if not handler.__module__.startswith(allowed)
    }
    assert misplaced == {}


def test_the_mock_keeps_only_lifecycle_and_cross_cutting_members() -> None:
    public = {name for name in vars(IotMock) if not name.startswith("_")}
    assert public == LIFECYCLE | GROUPS


# Cross-cutting parts serve every family, so they are instance attributes the mock starts
# and stops with itself (not family groups): `m.server` (HTTP), `m.mqtt` (MQTT endpoint).
CROSS_CUTTING = {"server": ServerGroup, "mqtt": MqttGroup}


@pytest.mark.parametrize("name", sorted(CROSS_CUTTING))
def test_cross_cutting_parts_start_and_stop_with_the_mock(name: str) -> None:
    idle = getattr(IotMock(), name)
    assert isinstance(idle, CROSS_CUTTING[name])
    with IotMock() as mock:
        assert not getattr(mock, name).running, "off unless asked for"
    enabled = IotMock(**{name: True})
    with enabled:
        assert getattr(enabled, name).running
    assert not getattr(enabled, name).running


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_group_is_a_typed_documented_family_api(group: str) -> None:
    descriptor = vars(IotMock)[group]
    assert isinstance(descriptor, LazyGroup)
    mock = IotMock()
    api = getattr(mock, group)
    assert isinstance(api, FamilyApi)
    assert getattr(mock, group) is api, "a group is created once per mock"
    assert type(api).__module__.startswith("iotmock."), type(api).__module__
    methods = [
        member
        for name, member in inspect.getmembers(type(api), inspect.isfunction)
        if not name.startswith("_")
    ]
    assert methods, f"m.{group} offers nothing"
    for method in methods:
        assert inspect.getdoc(method), f"m.{group}.{method.__name__} has no docstring"
        signature = inspect.signature(method)
        assert signature.return_annotation is not inspect.Signature.empty
        for parameter in list(signature.parameters.values())[1:]:
            assert parameter.annotation is not inspect.Parameter.empty, (
                f"m.{group}.{method.__name__}({parameter.name}) is untyped"
            )


def test_groups_of_two_mocks_are_separate() -> None:
    first, second = IotMock(), IotMock()
    assert first.rules is not second.rules


# --------------------------------------------------------------------------- family boundaries
#
# A family reads another family's records through that family's accessor functions
# (`registry_of`, `identity_of`, `cas_of`, `shadows_of`, ...) and its public functions,
# and changes them only through the owner's public functions (docs/architecture.md, "How
# a family keeps its state"). Two checks guard this: no family imports another family's
# private names or store classes, and no family writes into a record it got from another
# family.

# Methods that change the container or record they are called on.
MUTATORS = frozenset(
    {
        "add",
        "append",
        "clear",
        "discard",
        "extend",
        "insert",
        "pop",
        "popitem",
        "put",
        "remove",
        "setdefault",
        "sort",
        "update",
    }
)


def _family_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) > 1 and parts[0] == "iotmock" and parts[1] in FAMILIES:
        return parts[1]
    return None


def _family_modules() -> list[pathlib.Path]:
    return sorted(
        path
        for family in FAMILIES
        for path in (PACKAGE / family).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _relative(path: pathlib.Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _is_store_or_private(name: str) -> bool:
    private = name.startswith("_") and not name.startswith("__")
    return private or name.endswith(("Store", "State"))


def _foreign_imports(path: pathlib.Path) -> set[tuple[str, str]]:
    """Private names and store classes `path` takes from other families' modules."""
    family = _family_of(_module_name(path))
    tree = ast.parse(path.read_text())
    found: set[tuple[str, str]] = set()
    foreign_modules: dict[str, str] = {}  # local name -> other family's module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            owner = _family_of(node.module)
            if owner is None or owner == family:
                continue
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if (PACKAGE.parent / submodule.replace(".", "/")).with_suffix(".py").exists():
                    foreign_modules[alias.asname or alias.name] = submodule
                elif _is_store_or_private(alias.name):
                    found.add((_relative(path), submodule))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                owner = _family_of(alias.name)
                if owner is not None and owner != family and alias.asname:
                    foreign_modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in foreign_modules
            and _is_store_or_private(node.attr)
        ):
            found.add((_relative(path), f"{foreign_modules[node.value.id]}.{node.attr}"))
    return found


def test_families_take_no_private_names_or_stores_from_other_families() -> None:
    found = set().union(*(_foreign_imports(path) for path in _family_modules()))
    unexpected = sorted(found)
    assert unexpected == [], (
        "read other families' records through their accessor functions (registry_of, "
        f"identity_of, cas_of, templates_of, shadows_of, retained_of, ...), not their stores "
        f"or private names: {unexpected}"
    )


# What a value is to the write check: another family's record (or store), or a local
# container of such records (a list or dict the module built itself: changing it is fine,
# changing what it holds is not).
RECORD, HOLDER = "record", "holder"


def _is_foreign_record(kind: object, family: str) -> bool:
    return (
        isinstance(kind, type)
        and dataclasses.is_dataclass(kind)
        and _family_of(kind.__module__) not in (None, family)
    )


def _annotation_kind(namespace: dict[str, object], annotation: object, family: str) -> str | None:
    """RECORD when an annotation (a string under `from __future__ import annotations`) is
    a record class of a family other than `family` (or None); HOLDER when it only holds
    such records (`list[ThingGroup]`); else None."""
    if not isinstance(annotation, str):
        annotation = getattr(annotation, "__name__", "")
    try:
        tree = ast.parse(str(annotation), mode="eval").body
    except SyntaxError:
        return None
    tops = [tree]
    while isinstance(tops[-1], ast.BinOp):  # X | None
        tops[-1:] = [tops[-1].left, tops[-1].right]
    for top in tops:
        if isinstance(top, ast.Name) and _is_foreign_record(namespace.get(top.id), family):
            return RECORD
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and _is_foreign_record(namespace.get(node.id), family):
            return HOLDER
    return None


class _ForeignWrites(ast.NodeVisitor):
    """Writes into records of other families, tracked per function. A value is a foreign
    record when it comes from a call to another family's function that returns one
    (`registry_of(backend)`, `get_group(...)`), from a parameter or variable annotated with
    one, from an attribute, item or method result of one, or from iterating over one or
    over a local container of them."""

    def __init__(self, namespace: dict[str, object], family: str, sources: dict[str, str]) -> None:
        self.namespace = namespace
        self.family = family
        self.sources = sources
        self.scopes: list[dict[str, str]] = [{}]
        self.found: list[tuple[int, str]] = []

    def _kind(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.scopes[-1].get(node.id)
        if isinstance(node, ast.Attribute | ast.Subscript):
            return RECORD if self._kind(node.value) else None
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                return self.sources.get(func.id)
            # A method of a record answers its records; of a container, a container
            # (`.values()`, `.get(...)`, `.copy()`).
            return self._kind(func.value) if isinstance(func, ast.Attribute) else None
        if isinstance(node, ast.IfExp):
            return self._kind(node.body) or self._kind(node.orelse)
        if isinstance(node, ast.BoolOp):
            kinds = [self._kind(value) for value in node.values]
            return RECORD if RECORD in kinds else HOLDER if HOLDER in kinds else None
        return None

    def _bind(self, target: ast.expr, kind: str | None) -> None:
        if isinstance(target, ast.Name):
            if kind:
                self.scopes[-1][target.id] = kind
            else:
                self.scopes[-1].pop(target.id, None)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._bind(element, kind)

    def _check_target(self, target: ast.expr, node: ast.stmt) -> None:
        # A container has no attributes to set: setting one means setting a record's.
        if (isinstance(target, ast.Attribute) and self._kind(target.value)) or (
            isinstance(target, ast.Subscript) and self._kind(target.value) == RECORD
        ):
            self.found.append((node.lineno, ast.unparse(node)))
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._check_target(element, node)

    def _annotated(self, annotation: ast.expr | None) -> str | None:
        if annotation is None:
            return None
        return _annotation_kind(self.namespace, ast.unparse(annotation), self.family)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scopes.append(dict(self.scopes[-1]))
        arguments = node.args
        for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
            self._bind(ast.Name(argument.arg), self._annotated(argument.annotation))
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        for target in node.targets:
            self._check_target(target, node)
            self._bind(target, self._kind(node.value))

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.generic_visit(node)
        self._check_target(node.target, node)
        value = self._kind(node.value) if node.value is not None else None
        self._bind(node.target, self._annotated(node.annotation) or value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.generic_visit(node)
        self._check_target(node.target, node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_target(target, node)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self._bind(node.target, RECORD if self._kind(node.iter) else None)
        for statement in (*node.body, *node.orelse):
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.visit(node.iter)
        self._bind(node.target, RECORD if self._kind(node.iter) else None)
        for condition in node.ifs:
            self.visit(condition)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.generic_visit(node)
        self._bind(node.target, self._kind(node.value))

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        func = node.func
        mutator = isinstance(func, ast.Attribute) and func.attr in MUTATORS
        if mutator and self._kind(func.value) == RECORD:  # type: ignore[union-attr]
            self.found.append((node.lineno, ast.unparse(node)))


def _record_sources(tree: ast.Module, family: str) -> dict[str, str]:
    """Functions `tree` imports from other families that return their records (or
    containers of them), by local name."""
    sources: dict[str, str] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
            continue
        if _family_of(node.module) in (None, family):
            continue
        module = importlib.import_module(node.module)
        for alias in node.names:
            func = getattr(module, alias.name, None)
            if not inspect.isfunction(func):
                continue
            returned = inspect.get_annotations(func).get("return")
            kind = _annotation_kind(func.__globals__, returned, family)
            if kind:
                sources[alias.asname or alias.name] = kind
    return sources


def _foreign_writes(path: pathlib.Path) -> list[str]:
    name = _module_name(path)
    family = _family_of(name)
    assert family is not None
    tree = ast.parse(path.read_text())
    namespace = vars(importlib.import_module(name))
    visitor = _ForeignWrites(namespace, family, _record_sources(tree, family))
    visitor.visit(tree)
    return [f"{_relative(path)}:{line}: {code}" for line, code in visitor.found]


def test_families_change_other_families_records_only_through_their_functions() -> None:
    load_all()
    found = [write for path in _family_modules() for write in _foreign_writes(path)]
    assert found == [], (
        "these write into another family's records: call the owning family's public "
        f"function instead (docs/architecture.md): {found}"
    )


def test_the_write_check_sees_the_writes_it_guards_against() -> None:
    from iotmock.registry.records import Thing

    tree = ast.parse(
        textwrap.dedent(
            """\
            from iotmock.registry.records import registry_of
            from iotmock.registry.thing_groups import ancestors, get_group

            def change(backend, thing: Thing, things: list[Thing]) -> None:
                registry_of(backend).thing_groups["g"] = None
                group = get_group(backend, "g")
                group.version += 1
                chain = ancestors(backend, "g")
                chain.append(group)  # a list of this module's own: fine
                for parent in chain:
                    parent.child_names.add("x")
                thing.attributes = {}
                things.append(thing)  # fine
                things[0].version = 2
                name = group.name  # reading is fine
            """
        )
    )
    visitor = _ForeignWrites({"Thing": Thing}, "indexing", _record_sources(tree, "indexing"))
    visitor.visit(tree)
    assert [line for line, _ in visitor.found] == [5, 7, 11, 12, 14]
