"""Prints the digest of pyproject.toml's dependency lists (the project's and its extras'),
the one the locks record (scripts/lock): formatting and comments do not change it."""

import hashlib
import json
import tomllib
from pathlib import Path

project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
lists = {
    "dependencies": sorted(project.get("dependencies", [])),
    "optional-dependencies": {
        extra: sorted(requirements)
        for extra, requirements in sorted(project.get("optional-dependencies", {}).items())
    },
}
print(hashlib.sha256(json.dumps(lists, sort_keys=True).encode()).hexdigest())
