"""Build the offline wage-panel table from the PyPI wheel ``linearmodels==6.1``.

Usage (from the repo root)::

    uv run python tools/build_wage_panel_sample.py               # downloads the wheel from PyPI with pip
    uv run python tools/build_wage_panel_sample.py WHEEL.whl     # or uses one you have

The wheel ships ``linearmodels/datasets/wage_panel/wage_panel.csv.bz2``: the panel of Vella and Verbeek (1998), 545
young men of the US National Longitudinal Survey of Youth, each observed every year from 1980 to 1987. The tool
downloads the wheel from PyPI's simple API as pip does, checks its sha256, reads that one member with ``zipfile``
(nothing is installed), decompresses it and writes
it unchanged to ``data/wage_panel/wage_panel.csv``, after checking its header, its row count and that every person
has one row per year. The same wheel gives the same bytes.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import hashlib
import io
import os
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # as a script too: tools.* from the repository's root

VERSION = "6.1"
WHEEL = f"linearmodels-{VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "2688c1f359171b9a54ae4f1c9f5aae9858f878fc40c6cb647a3a76bdccafd6a7"  # that file on PyPI
MEMBER = "linearmodels/datasets/wage_panel/wage_panel.csv.bz2"
OUTPUT = ROOT / "data" / "wage_panel" / "wage_panel.csv"
COLUMNS = (
    "nr",
    "year",
    "black",
    "exper",
    "hisp",
    "hours",
    "married",
    "educ",
    "union",
    "lwage",
    "expersq",
    "occupation",
)
PEOPLE, YEARS = 545, tuple(range(1980, 1988))


def read_table(wheel: Path, sha256: str = WHEEL_SHA256) -> bytes:
    """The wage-panel CSV's bytes, read from `wheel` after checking its hash and the table's shape.

    Raises:
      ValueError: the wheel is another file, or the table is not the 545 x 8 panel, saying which.
    """
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != sha256:
        raise ValueError(
            f"{wheel} has sha256 {digest}, not that of {WHEEL} ({sha256}): run the tool without a wheel to download "
            f"the right one from PyPI, or `pip download --no-deps --only-binary :all: --python-version 3.11 "
            f"--platform manylinux2014_x86_64 linearmodels=={VERSION}`."
        )
    with zipfile.ZipFile(wheel) as archive:
        text = bz2.decompress(archive.read(MEMBER))
    check_panel(text)
    return text


def check_panel(text: bytes) -> None:
    """Raise ValueError unless `text` is the wage panel: COLUMNS, and one row per person and year."""
    rows = list(csv.reader(io.StringIO(text.decode("ascii"))))
    if tuple(rows[0]) != COLUMNS:
        raise ValueError(f"unexpected columns {rows[0]}, expected {list(COLUMNS)}")
    per_person = Counter(row[0] for row in rows[1:])
    years = Counter(int(row[1]) for row in rows[1:])
    if len(per_person) != PEOPLE or set(per_person.values()) != {len(YEARS)} or sorted(years) != list(YEARS):
        raise ValueError(
            f"expected {PEOPLE} people with one row for each year {YEARS[0]}-{YEARS[-1]}, got {len(per_person)} "
            f"people and {len(rows) - 1} rows"
        )


def fetch_wheel(folder: Path) -> Path:
    """Download the pinned wheel from PyPI into `folder` and return its path (its hash is checked on use)."""
    from tools.repo import fetch_from_pypi

    return fetch_from_pypi("linearmodels", WHEEL, folder)


def build(wheel: Path, output: Path = OUTPUT, *, sha256: str = WHEEL_SHA256) -> str:
    """Write the table to `output` and return its sha256."""
    text = read_table(wheel, sha256)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.write_bytes(text)
    os.replace(partial, output)  # a reader sees the old table or the new one, never half of it
    return hashlib.sha256(text).hexdigest()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheel", type=Path, nargs="?", help=f"{WHEEL}; downloaded from PyPI if left out")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(Path(tmp))
        print(f"wrote {args.output}: sha256 {build(wheel, args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
