"""`python -m helpers.program` killed while it writes a checkpoint, at several points, and a disk that fills up.

Deterministic: a small driver replaces TFF's `file_utils.write_saved_model` (what `FileProgramStateManager.save`
calls) so that saving a chosen round stops at a chosen point, either dying at once (`os._exit`, as SIGKILL would) or
failing with ENOSPC. The next run must resume from the last complete checkpoint, never load a half-written one,
and lose or repeat no finished round in the metrics. The cases run as one chain of runs on one folder (CHAIN).
"""

from __future__ import annotations

import csv
import shutil
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


# The five ways a save can go wrong, each at its own round of one run: every crashed process is followed by the next,
# which resumes the run (and so shows how the crash before it was handled) and then crashes in the next way. One chain
# of six processes instead of a fresh run and a resume per case: each process imports TensorFlow and TFF, which is
# most of its time. (mode, the round whose save it breaks, the round the next process resumes after)
CHAIN = [
    ("empty folder", 3, 2),
    ("no saved_model.pb", 4, 3),
    ("truncated variables", 5, 4),
    ("complete", 6, 6),
    ("enospc", 7, 6),
]
FINAL_ROUND = 8


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[subprocess.CompletedProcess], list[list[str]]]:
    """The run's folder; its processes, one per crash in CHAIN and one that finishes the run; and the checkpoint
    folder's entries after each of them."""
    folder = tmp_path_factory.mktemp("crashes")
    runs, entries = [], []
    for mode, crash_at in [(mode, crash_at) for mode, crash_at, _ in CHAIN] + [("none", 0)]:
        runs.append(_train(folder, FINAL_ROUND, mode, crash_at))
        entries.append(sorted(p.name for p in (folder / "run").iterdir()))
    return folder, runs, entries


@pytest.mark.parametrize("stage", range(len(CHAIN)), ids=[mode for mode, _, _ in CHAIN])
def test_a_crash_while_saving_loses_no_finished_round(chain, stage: int) -> None:
    folder, runs, entries = chain
    mode, crash_at, resumes_after = CHAIN[stage]
    crashed, resumed = runs[stage], runs[stage + 1]
    if mode == "enospc":
        assert crashed.returncode == 2, crashed.stderr[-2000:]
        last = crashed.stderr.strip().splitlines()[-1]
        assert last.startswith(f"error: could not write the checkpoint of round {crash_at}") and "No space left" in last
        assert f"resumes from the last complete checkpoint, round {resumes_after}." in last
        assert f"Saved the state after round {crash_at}." not in crashed.stdout, "a failed save is not reported"
        assert f"program_state_{crash_at}" not in entries[stage], "the partial checkpoint is removed"
    else:
        assert crashed.returncode == 137, crashed.stderr[-2000:]
    assert f"Resuming from the checkpoint of round {resumes_after} " in resumed.stdout, resumed.stdout[-2000:]
    unreadable = f"checkpoint of round {crash_at} is unreadable"
    if mode in ("complete", "enospc"):  # a whole checkpoint is loaded; a failed save leaves no folder to set aside
        assert unreadable not in resumed.stdout + resumed.stderr
    else:
        assert unreadable in resumed.stdout + resumed.stderr, "set aside, never loaded"


def test_the_run_survives_its_crashes_with_every_round_once(chain) -> None:
    folder, runs, _ = chain
    assert runs[-1].returncode == 0, runs[-1].stderr[-2000:]
    assert f"Saved the state after round {FINAL_ROUND}." in runs[-1].stdout
    with open(folder / "metrics" / "metrics.csv") as f:
        rounds = [int(row["round"]) for row in csv.DictReader(f)]
    assert rounds == list(range(1, FINAL_ROUND + 1)), "no round lost or repeated"


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
    chain, tmp_path: Path
) -> None:
    """Only a half-written newest checkpoint is set aside; a complete one that does not load stops the program."""
    folder, runs, _ = chain
    assert runs[-1].returncode == 0
    shutil.copytree(folder / "run", tmp_path / "run")  # the finished run's checkpoints, complete
    before = sorted(p.name for p in (tmp_path / "run").iterdir())
    command = [
        sys.executable,
        "-c",
        FAILING_LOAD,
        "--rounds",
        str(FINAL_ROUND + 2),
        "--checkpoint-dir",
        str(tmp_path / "run"),
        "--metrics-dir",
        str(tmp_path / "metrics"),
        *ARGS,
    ]
    failed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert failed.returncode == 2, failed.stderr[-2000:]
    last = failed.stderr.strip().splitlines()[-1]
    assert f"checkpoint of round {FINAL_ROUND}" in last and "MemoryError" in last and "Nothing was moved" in last, last
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == before, "nothing set aside, renamed or removed"
    assert "Resuming" not in failed.stdout and f"round {FINAL_ROUND + 1}" not in failed.stdout
