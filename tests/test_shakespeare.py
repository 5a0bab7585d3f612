"""helpers.shakespeare: the offline sample through TFF's loader by default, TFF's data set on request."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import data, shakespeare

ROOT = Path(__file__).resolve().parents[1]


def test_the_sample_loads_through_tffs_loader(capsys: pytest.CaptureFixture[str]) -> None:
    loaded = shakespeare.load_shakespeare()
    assert loaded.source == "sample"
    assert loaded.train.client_ids == loaded.test.client_ids and len(loaded.train.client_ids) == 153
    assert "THE_TEMPEST_PROSPERO" in loaded.train.client_ids
    first = next(iter(loaded.train.create_tf_dataset_for_client("THE_TEMPEST_PROSPERO")))
    assert set(first) == {"snippets"} and first["snippets"].dtype.name == "string"
    assert "153 clients, 3,556 train and 662 test snippets" in capsys.readouterr().out


def test_tffs_data_set_offline_names_the_fix(tmp_path: Path, no_network: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FL_DATA", "emnist")
    with pytest.raises(data.DataSourceError, match="FL_DATA=sample"):
        shakespeare.load_shakespeare(cache_dir=str(tmp_path))


def test_auto_falls_back_to_the_sample_offline(
    tmp_path: Path, no_network: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert shakespeare.load_shakespeare(source="auto", cache_dir=str(tmp_path)).source == "sample"
    assert "falling back to the offline sample" in capsys.readouterr().out


def test_a_cached_tff_file_is_used_without_the_network(tmp_path: Path, no_network: None) -> None:
    sample = data.sample_cache_dir(shakespeare.SAMPLE_FILE, shakespeare.SQLITE_NAME) / shakespeare.SQLITE_NAME
    (tmp_path / shakespeare.SQLITE_NAME).write_bytes(sample.read_bytes())
    assert shakespeare.load_shakespeare(source="emnist", cache_dir=str(tmp_path)).source == "tff"


def test_a_missing_sample_names_its_builder(tmp_path: Path) -> None:
    with pytest.raises(data.DataSourceError, match="build_shakespeare_sample.py"):
        data.sample_cache_dir(
            tmp_path / "shakespeare.sqlite.lzma", shakespeare.SQLITE_NAME, "build_shakespeare_sample.py"
        )


def test_stand_in_runs_skip_the_notebook_that_reads_shakespeare() -> None:
    """An EMNIST stand-in has nothing for notebook 14: tools/run_standin.py skips it, saying why, unless --sample."""
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import repo
    import run_standin

    assert [p.name[:2] for p in repo.notebooks() if run_standin.reads_shakespeare(p)] == ["14"]
