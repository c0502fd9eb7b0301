"""Where a figure came from: the command that measured it and the code it ran.

Written beside the figures into a benchmark's or an evaluation's JSON, and shown
with the tables the docs generate from it (``scripts/docs_tables.py``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def provenance() -> dict[str, str]:
    """The command line (as ``scripts/NAME args``) and the commit, ``+changes`` when
    the working tree differed from it."""
    script = Path(sys.argv[0]).with_suffix("").name
    commit = _git("rev-parse", "--short", "HEAD")
    changed = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "command": " ".join([f"scripts/{script}", *sys.argv[1:]]),
        "commit": commit + ("+changes" if changed else ""),
    }


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "unknown"
