"""`python -m helpers.program` killed while it writes a checkpoint, at several points, and a disk that fills up.

Deterministic: a small driver replaces TFF's `file_utils.write_saved_model` (what `FileProgramStateManager.save`
calls) so that saving round 3 stops at a chosen point, either dying at once (`os._exit`, as SIGKILL would) or
failing with ENOSPC. The next run must resume from the last complete checkpoint, never load a half-written one,
and lose or repeat no finished round in the metrics.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DRIVER = """
import errno, os, sys
from pathlib import Path
from tensorflow_federated.python.program import file_utils

MODE, CRASH_AT = sys.argv[1], int(sys.argv[2])
original = file_utils.write_saved_model

async def write_saved_model(value, path, overwrite=False):
    if not path.endswith(f"_{CRASH_AT}"):
        return await original(value, path, overwrite)
    if MODE == "enospc":
        os.makedirs(path, exist_ok=True)
        raise OSError(errno.ENOSPC, "No space left on device")
    if MODE == "empty folder":
        os.makedirs(path)
        os._exit(137)
    await original(value, path, overwrite)
    if MODE == "no saved_model.pb":
        os.remove(Path(path) / "saved_model.pb")
    elif MODE == "truncated variables":
        data = next((Path(path) / "variables").glob("variables.data-*"))
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    os._exit(137)  # "complete": the checkpoint is whole, the process dies before anything else

file_utils.write_saved_model = write_saved_model
from helpers.program import main
sys.exit(main(sys.argv[3:]))
"""
ARGS = ["--clients-per-round", "2", "--no-progress"]


def _train(tmp_path: Path, rounds: int, mode: str = "none", crash_at: int = 0) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-c",
        DRIVER,
        mode,
        str(crash_at),
        "--rounds",
        str(rounds),
        "--checkpoint-dir",
        str(tmp_path / "run"),
        "--metrics-dir",
        str(tmp_path / "metrics"),
        *ARGS,
    ]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "mode,resumes_after",
    [("empty folder", 2), ("no saved_model.pb", 2), ("truncated variables", 2), ("complete", 3), ("enospc", 2)],
)
def test_a_crash_while_saving_loses_no_finished_round(tmp_path: Path, mode: str, resumes_after: int) -> None:
    crashed = _train(tmp_path, 4, mode, crash_at=3)
    if mode == "enospc":
        assert crashed.returncode == 2, crashed.stderr[-2000:]
        last = crashed.stderr.strip().splitlines()[-1]
        assert last.startswith("error: could not write the checkpoint of round 3") and "No space left" in last
        assert "resumes from the last complete checkpoint, round 2." in last
        assert not (tmp_path / "run" / "program_state_3").exists(), "the partial checkpoint is removed"
    else:
        assert crashed.returncode == 137, crashed.stderr[-2000:]
    resumed = _train(tmp_path, 4)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"Resuming from the checkpoint of round {resumes_after}" in resumed.stdout
    if resumes_after == 2 and mode != "enospc":
        assert "checkpoint of round 3 is unreadable" in resumed.stdout + resumed.stderr, "set aside, never loaded"
    with open(tmp_path / "metrics" / "metrics.csv") as f:
        assert [int(row["round"]) for row in csv.DictReader(f)] == [1, 2, 3, 4], "no round lost or repeated"


FAILING_LOAD = """
import sys
from tensorflow_federated.python.program import file_program_state_manager as fpsm

async def load(self, version, structure):
    raise MemoryError("simulated: the machine ran out of memory while loading")

fpsm.FileProgramStateManager.load = load
from helpers.program import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_checkpoint_that_fails_to_load_for_another_reason_stops_with_its_cause_and_moves_nothing(
    tmp_path: Path,
) -> None:
    """Only a half-written newest checkpoint is set aside; a complete one that does not load stops the program."""
    assert _train(tmp_path, 2).returncode == 0
    before = sorted(p.name for p in (tmp_path / "run").iterdir())
    command = [
        sys.executable,
        "-c",
        FAILING_LOAD,
        "--rounds",
        "4",
        "--checkpoint-dir",
        str(tmp_path / "run"),
        "--metrics-dir",
        str(tmp_path / "metrics"),
        *ARGS,
    ]
    failed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert failed.returncode == 2, failed.stderr[-2000:]
    last = failed.stderr.strip().splitlines()[-1]
    assert "checkpoint of round 2" in last and "MemoryError" in last and "Nothing was moved" in last, last
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == before, "nothing set aside, renamed or removed"
    assert "Resuming" not in failed.stdout and "round 1" not in failed.stdout
