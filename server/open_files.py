"""Every websocket is a file descriptor: `serve` raises its own open-files limit."""

from __future__ import annotations

import resource
import sys

CEILING = 1_048_576  # what to ask for when the hard limit is "unlimited"


def raise_open_files_limit() -> int:
    """Raise the soft limit on open files to the hard one; say so when it cannot."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = CEILING if hard == resource.RLIM_INFINITY else hard
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError) as error:
        print(
            f"funnelgraph: open files stay limited to {soft} ({error}); each websocket "
            "takes one: raise the limit (ulimit -n) for many live clients",
            file=sys.stderr,
        )
        return soft
    return wanted
