"""Write requirements.txt, the pip path's fully pinned closure of uv.lock, for the one platform TFF 0.87 supports.

    uv run python tools/export_requirements.py           # after `uv lock`
    uv run python tools/export_requirements.py --check   # exit 1 if requirements.txt is stale (writes nothing)

uv.lock is resolved for Linux on x86_64 only (`[tool.uv] environments` in pyproject.toml), so `uv export` marks every
line with that platform. On any other platform pip would then skip every line and report success with nothing
installed. The markers are dropped here, so that pip elsewhere fails at once, on TFF's missing wheel, and the file
says why in its first lines.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generated  # noqa: E402  (tools/ is not a package)

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "requirements.txt"
PLATFORM = "platform_machine == 'x86_64' and sys_platform == 'linux'"
COMMAND = ["uv", "export", "--locked", "--no-hashes", "--no-emit-project", "--no-dev", "--python", "3.11"]
HEADER = (
    '# Linux on x86_64 only: TFF 0.87.0 publishes no other wheel (README.md, "Which machine").\n'
    "# Install with: pip install --no-deps -r requirements.txt   (docs/USAGE.md, the pip path)\n"
    "# Written by tools/export_requirements.py from uv.lock: do not edit.\n"
)


def without_platform_marker(line: str) -> str:
    """`line` without the lock's platform marker, keeping any other marker (Python versions)."""
    line = line.replace(f" and {PLATFORM}", "").replace(f"{PLATFORM} and ", "")
    return line.replace(f" ; {PLATFORM}", "")


def requirements() -> str:
    """The text requirements.txt should hold, from `uv export` of the current lock."""
    exported = subprocess.run(COMMAND, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    body = [without_platform_marker(line) for line in exported.splitlines() if not line.startswith("#")]
    return HEADER + "\n".join(body).strip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return generated.main(__doc__, TARGET, requirements, "uv run python tools/export_requirements.py", argv)


if __name__ == "__main__":
    sys.exit(main())
