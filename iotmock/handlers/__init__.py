"""Operation handlers, one module per resource family.

Importing this package registers every handler (see `iotmock._registry.operation`).
"""

from __future__ import annotations

import importlib
import pkgutil


def _import_all() -> None:
    for info in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
        importlib.import_module(info.name)


_import_all()
