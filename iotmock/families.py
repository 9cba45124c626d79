"""The resource families of iotmock, and loading their operation handlers.

The wire core (`iotmock.core`) knows no family: each family package registers its
handlers with `iotmock.core.operations.operation` when its modules are imported, and
subscribes to the events of `iotmock.core.events` it reacts to.
"""

from __future__ import annotations

import importlib
import pkgutil

# In dependency order: a family may use the public functions of those before it.
FAMILIES = (
    "registry",
    "identity",
    "messaging",
    "devices",
    "shadows",
    "rules",
    "jobs",
    "device_management",
    "indexing",
    "defender",
    "audit",
    "logging",
)

# Modules outside the families that hold handlers (tags apply to every family's ARNs).
_CORE_HANDLER_MODULES = ("iotmock.core.tag_handlers",)

_loaded = False


def load_all() -> None:
    """Import every family module (idempotent): registers every operation handler and
    every event subscriber."""
    global _loaded
    if _loaded:
        return
    for module in _CORE_HANDLER_MODULES:
        importlib.import_module(module)
    for family in FAMILIES:
        package = importlib.import_module(f"iotmock.{family}")
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            importlib.import_module(info.name)
    _loaded = True
