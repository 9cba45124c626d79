"""Operations of the newest botocore that this branch does not answer yet.

The drift check (`.ci/run`, second environment with the newest botocore) fails on every
operation of the installed model that no handler serves, except the ones listed here,
which must still answer 501 `NotImplemented`. Empty this set when their handlers land.
"""

from __future__ import annotations

PENDING_OPERATIONS: frozenset[tuple[str, str]] = frozenset()
