"""`python -m iotmock serve ...`: see `iotmock.server.cli`."""

from __future__ import annotations

import sys

from iotmock.server.cli import main

if __name__ == "__main__":
    sys.exit(main())
