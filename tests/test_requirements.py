"""requirements.txt (the pip path) must pin exactly what uv.lock pins."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(lock: dict, roots: list[str]) -> set[str]:
    """The names of `roots` and of everything they depend on in the lock, whatever the version or marker."""
    depends = {}
    for p in lock["package"]:
        depends.setdefault(normalise(p["name"]), set()).update(normalise(d["name"]) for d in p.get("dependencies", []))
    seen, todo = set(), [normalise(r) for r in roots]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(depends.get(name, ()))
    return seen


def test_requirements_match_lock() -> None:
    """Every package the lock pins for the project itself, and no other; the dev group (pyproject.toml) is left out."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (project,) = [p for p in lock["package"] if p.get("source", {}).get("editable") == "."]
    main = closure(lock, [d["name"] for d in project.get("dependencies", [])])
    dev_only = closure(lock, [d["name"] for d in project.get("dev-dependencies", {}).get("dev", [])]) - main
    assert dev_only, "the dev group brings packages of its own (repo2docker), which requirements.txt must leave out"
    locked = {
        (normalise(p["name"]), p["version"])
        for p in lock["package"]
        if p.get("source", {}).get("editable") is None
        and p.get("source", {}).get("virtual") is None
        and normalise(p["name"]) not in dev_only
    }
    pinned = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pinned.add((normalise(match[1]), match[2]))
    fix = "regenerate: uv run python tools/export_requirements.py"
    assert pinned == locked, (
        f"requirements.txt drifted from uv.lock; {fix}\nonly pinned: {pinned - locked}\nonly locked: {locked - pinned}"
    )


def test_overrides_are_applied() -> None:
    text = (ROOT / "requirements.txt").read_text()
    assert "\njax==0.4.13\n" in text and "\njaxlib==0.4.13\n" in text
    assert re.search(r"^typing-extensions==4\.(1[2-9]|[2-9]\d)", text, re.M), "IPython needs typing-extensions >= 4.6"


PLATFORM = "platform_machine == 'x86_64' and sys_platform == 'linux'"
UV_STOPS = f"The current Python platform is not compatible with the lockfile's supported environments: `{PLATFORM}`"


def test_requirements_txt_is_what_the_export_tool_writes() -> None:
    """tools/export_requirements.py writes the file from uv.lock; a hand edit or a stale export fails here."""
    assert shutil.which("uv"), "uv is on PATH in CI (.ci/run installs it)"
    result = subprocess.run(
        [sys.executable, "tools/export_requirements.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_pip_elsewhere_fails_at_once_instead_of_installing_nothing() -> None:
    """No line carries the lock's platform marker (pip would skip every line on a Mac and report success)."""
    text = (ROOT / "requirements.txt").read_text()
    assert PLATFORM not in text
    assert text.startswith("# Linux on x86_64 only") and 'README.md, "Which machine"' in text.splitlines()[0]
    assert re.search(r"^tensorflow-federated==0\.87\.0$", text, re.M), "unconditional: pip elsewhere stops on its wheel"


@pytest.mark.parametrize(
    "platform", ["aarch64-apple-darwin", "x86_64-apple-darwin", "x86_64-pc-windows-msvc", "aarch64-unknown-linux-gnu"]
)
def test_uv_on_another_platform_stops_with_one_line_that_the_readme_explains(platform: str, tmp_path: Path) -> None:
    """The Quickstart's `uv run` on macOS, Windows or Linux on arm64 stops before downloading, with one line."""
    uv = shutil.which("uv")
    assert uv, "uv is on PATH in CI (.ci/run installs it)"
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    result = subprocess.run(
        [uv, "sync", "--locked", "--dry-run", "--offline", "--python-platform", platform],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    flat = " ".join(result.stderr.split())  # uv wraps long lines to the terminal's width
    assert flat.count("error:") == 1 and f"error: {UV_STOPS}" in flat, result.stderr
    assert "hint:" not in flat, "no hint to edit pyproject.toml, which cannot help"
    readme = (ROOT / "README.md").read_text()
    assert UV_STOPS in readme.replace("\n", " "), (
        "the README's Which-machine section quotes the line and says what to do"
    )
