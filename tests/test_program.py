"""helpers.program: the checkpointed training program and its command line."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from helpers import program as train
from helpers.settings import RoundSettings


def test_help_and_bad_round_counts(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--help"])
    assert exit_info.value.code == 0 and "--checkpoint-dir" in capsys.readouterr().out
    for rounds in ("0", "-3", "ten"):
        with pytest.raises(SystemExit) as exit_info:
            train.parse_args(["--rounds", rounds, "--checkpoint-dir", "x"])
        assert exit_info.value.code == 2
        assert "expected a positive integer" in capsys.readouterr().err
    with pytest.raises(ValueError, match="must be positive"):
        train.run_program(0, "unused")


def test_checkpoint_of_another_config_is_refused(tmp_path: Path) -> None:
    config = train.ProgramConfig().record()
    train.check_config(tmp_path / "run", config)
    train.check_config(tmp_path / "run", config)  # same settings: fine
    with pytest.raises(train.CheckpointMismatchError, match="client_lr: saved 0.1, now 0.02"):
        train.check_config(tmp_path / "run", train.ProgramConfig(client_lr=0.02).record())
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not a checkpoint")
    with pytest.raises(train.CheckpointMismatchError, match="not written by this program"):
        train.check_config(tmp_path / "other", config)


def test_cli_reports_a_mismatched_checkpoint_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / train.CONFIG_FILE).write_text(json.dumps(train.ProgramConfig(client_lr=0.5).record()))
    assert train.main(["--rounds", "1", "--checkpoint-dir", str(tmp_path), "--no-progress"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_resumed_run_equals_uninterrupted_run(tmp_path: Path) -> None:
    kwargs = dict(config=train.ProgramConfig(rounds=RoundSettings(clients_per_round=3, num_epochs=1)), progress=False)
    straight, first = train.run_program(4, str(tmp_path / "straight"), checkpoint_every=2, **kwargs)
    assert first == 1
    # "Crash" after round 2: a new program run on the same directory picks up at round 3.
    train.run_program(2, str(tmp_path / "resumed"), metrics_dir=str(tmp_path / "metrics"), **kwargs)
    resumed, first = train.run_program(
        4,
        str(tmp_path / "resumed"),
        metrics_dir=str(tmp_path / "metrics"),
        export_dir=str(tmp_path / "model"),
        **kwargs,
    )
    assert first == 3
    for a, b in zip(straight.global_model_weights.trainable, resumed.global_model_weights.trainable):
        np.testing.assert_array_equal(a, b)
    with open(tmp_path / "metrics" / "metrics.csv") as f:
        assert [int(row["round"]) for row in csv.DictReader(f)] == [1, 2, 3, 4], "nothing lost or repeated"
    assert any((tmp_path / "metrics" / "tensorboard").iterdir())
    _, again = train.run_program(4, str(tmp_path / "resumed"), **kwargs)
    assert again == 5, "a finished run has nothing left to do"

    import tensorflow as tf

    model = tf.keras.models.load_model(tmp_path / "model")
    np.testing.assert_array_equal(model.get_weights()[0], resumed.global_model_weights.trainable[0])


def test_half_written_checkpoint_falls_back_to_the_previous_one(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    kwargs = dict(config=train.ProgramConfig(rounds=RoundSettings(clients_per_round=3, num_epochs=1)), progress=False)
    train.run_program(2, str(tmp_path / "run"), **kwargs)
    (tmp_path / "run" / "program_state_3").mkdir()  # what a crash in the middle of saving round 3 leaves behind
    _, first = train.run_program(3, str(tmp_path / "run"), **kwargs)
    assert first == 3 and "checkpoint of round 3 is unreadable" in capsys.readouterr().err


def test_the_command_line_is_built_from_the_config(capsys: pytest.CaptureFixture) -> None:
    """Every ProgramConfig setting has its flag and default; a bad value is refused at the command line."""
    args = train.parse_args(["--rounds", "1", "--checkpoint-dir", "x", "--num-epochs", "2", "--server-lr", "0.5"])
    assert train.config_from_args(args) == train.ProgramConfig(rounds=RoundSettings(num_epochs=2), server_lr=0.5)
    assert train.config_from_args(train.parse_args(["--rounds", "1", "--checkpoint-dir", "x"])) == train.ProgramConfig()
    with pytest.raises(SystemExit):
        train.parse_args(["--rounds", "1", "--checkpoint-dir", "x", "--client-lr", "0"])
    assert "expected a positive number, got 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        RoundSettings(batch_size=0)
    with pytest.raises(ValueError, match="seeded cohorts"):
        train.ProgramConfig(rounds=RoundSettings(sampling="poisson"))


def test_malloc_arenas_are_capped_on_glibc_and_skipped_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver's arena cap (flat memory over long runs) works on this Linux, in a process of its own."""
    import subprocess
    import sys

    code = "from helpers.program import limit_malloc_arenas; print(limit_malloc_arenas())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "True"
    import ctypes.util

    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)  # a C library that is not to be found
    assert train.limit_malloc_arenas() is False


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m helpers.program` in a process of its own, so that its exit code and stderr are the user's."""
    import sys

    command = [sys.executable, "-m", "helpers.program", "--rounds", "1", "--no-progress", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1])


def assert_one_line_error(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    """Exit 2 and a last stderr line `error: ...` with each phrase, and no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and all(phrase in last for phrase in phrases), last


def test_a_checkpoint_dir_that_is_a_file_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "ckpt").write_text("a file")
    result = run_cli("--checkpoint-dir", str(tmp_path / "ckpt"))
    assert_one_line_error(result, "is a file, not a folder", "Pass the path of a folder")
    assert "Data:" not in result.stdout, "refused before the data (and TensorFlow) load"
    assert (tmp_path / "ckpt").read_text() == "a file"


def test_a_checkpoint_dir_that_cannot_be_created_is_one_line_error(tmp_path: Path) -> None:
    # A parent that cannot be made: /proc refuses new folders (FileNotFoundError), a file cannot hold one.
    result = run_cli("--checkpoint-dir", "/proc/self/no-such-folder/ckpt")
    assert_one_line_error(result, "could not create --checkpoint-dir", "No such file or directory",
                          "Create its parent folder first")  # fmt: skip
    (tmp_path / "notes.txt").write_text("a file")
    result = run_cli("--checkpoint-dir", str(tmp_path / "notes.txt" / "ckpt"))
    assert_one_line_error(result, f"{tmp_path / 'notes.txt'} is a file, not a folder")
    # Missing parents that can be made are made, as the documented `--checkpoint-dir runs/a` needs in a new clone.
    train.check_config(tmp_path / "runs" / "a", train.ProgramConfig().record())
    assert (tmp_path / "runs" / "a" / train.CONFIG_FILE).is_file()


def test_more_clients_per_round_than_the_data_holds_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    too_many = "1000000"  # above every source's client count (the sample has 100, full-size EMNIST 3,383)
    argv = ["--rounds", "1", "--checkpoint-dir", str(tmp_path / "run"), "--clients-per-round", too_many]
    assert train.main([*argv, "--no-progress"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(rf"error: --clients-per-round {too_many} is more than the (\d+) clients of .*\. "
                        r"Pass --clients-per-round \1 or fewer\.", last), last  # fmt: skip
    assert not (tmp_path / "run" / train.CONFIG_FILE).exists(), "a refused run leaves no settings that block a retry"
    with pytest.raises(train.ProgramInputError, match="or fewer"):
        train.check_cohort_size(101, 100, "sample")
    train.check_cohort_size(100, 100, "sample")
