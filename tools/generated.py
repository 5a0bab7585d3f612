"""Files the tools generate: write them, or (with --check) report a stale one without touching it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parents[1]


def write_or_check(target: Path, text: str, command: str, check: bool) -> int:
    """Write `text` to `target`, or with `check` compare only; return the exit code (1: stale, run `command`)."""
    name = target.resolve().relative_to(ROOT).as_posix()  # as the repository names it: docs/RESULTS.md
    if check:
        stale = not target.exists() or target.read_text() != text
        print(f"{name} is stale: run `{command}`" if stale else f"{name} is current")
        return 1 if stale else 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    print(f"wrote {name}")
    return 0


def main(doc: str, target: Path, make: Callable[[], str], command: str, argv: Optional[list[str]] = None) -> int:
    """The command line of a generating tool: write `make()` to `target`, or with --check only compare."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {target.name} is stale; write nothing")
    return write_or_check(target, make(), command, parser.parse_args(argv).check)
