"""What the resumable benchmarks share: one JSON result per cell, skipped when it exists with the same settings."""

from __future__ import annotations

import json
from pathlib import Path


def already_done(path: Path, wanted: dict, key: str, hint: str = "delete it to redo it") -> bool:
    """True when ``path`` holds a result made with ``wanted`` (under ``key``); a changed setting is an error."""
    if not path.is_file():
        return False
    stored = json.loads(path.read_text())[key]
    if stored != wanted:
        changed = sorted(k for k in wanted if stored.get(k) != wanted[k])
        raise SystemExit(f"{path} was made with other settings ({', '.join(changed)}); {hint}")
    print(f"skip {path.name} (exists)")
    return True
