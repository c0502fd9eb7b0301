"""The stamp a lock in requirements/ carries of the pyproject.toml it was made from.

It is a hash of the declared dependencies and extras only, so a change to them
(and nothing else in pyproject.toml) makes the test of the locks fail until
``scripts/lock`` is run again.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def dependencies_stamp(pyproject: Path = PYPROJECT) -> str:
    """A short hash of ``[project]``'s dependencies, extras and supported Pythons."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    declared = {
        "dependencies": project["dependencies"],
        "optional-dependencies": project.get("optional-dependencies", {}),
        "requires-python": project.get("requires-python"),
    }
    return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()[:16]


if __name__ == "__main__":
    print(dependencies_stamp())
