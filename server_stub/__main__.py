"""``agent-desktop-server``: the shared sync server (arrives with the sync capability)."""

from __future__ import annotations

import sys


def main() -> int:
    print(
        "agent-desktop-server: the sync server is not part of this version yet; "
        "Agent Desktop works from its local store.",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
