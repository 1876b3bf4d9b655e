"""Static reference data shipped in ``datasynth/data`` (account templates, calendars, names)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> Any:
    """Parsed JSON file ``datasynth/data/<name>.json`` (cached; treat as read-only)."""
    text = resources.files("datasynth.data").joinpath(f"{name}.json").read_text("utf-8")
    return json.loads(text)
