"""requirements.txt (the pip path) must pin exactly what uv.lock pins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_requirements_match_lock() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked = {
        (normalise(p["name"]), p["version"])
        for p in lock["package"]
        if p.get("source", {}).get("editable") is None and p.get("source", {}).get("virtual") is None
    }
    pinned = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pinned.add((normalise(match[1]), match[2]))
    fix = "regenerate: uv export --locked --no-hashes --no-emit-project --python 3.11 -o requirements.txt"
    assert pinned == locked, f"requirements.txt drifted from uv.lock; {fix}\nonly pinned: {pinned - locked}\nonly locked: {locked - pinned}"


def test_overrides_are_applied() -> None:
    text = (ROOT / "requirements.txt").read_text()
    assert "\njax==0.4.13\n" in text and "\njaxlib==0.4.13\n" in text
    assert re.search(r"^typing-extensions==4\.(1[2-9]|[2-9]\d)", text, re.M), "IPython needs typing-extensions >= 4.6"
