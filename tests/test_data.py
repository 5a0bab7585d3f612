"""helpers.data: the offline sample through TFF's loader, source selection, preprocessing and errors."""

from __future__ import annotations

import collections
import socket
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from helpers import data


@pytest.fixture(scope="module")
def sample() -> data.FederatedData:
    return data.load_emnist(source="sample")


def test_sample_loads_through_tff_loader(sample: data.FederatedData, capsys: pytest.CaptureFixture) -> None:
    assert sample.source == "sample"
    assert len(sample.train.client_ids) == 100
    assert sample.train.client_ids == sample.test.client_ids  # every writer has a train and a test split
    example = next(iter(sample.train.create_tf_dataset_for_client("w000")))
    assert example["pixels"].shape == (28, 28) and example["pixels"].dtype == tf.float32
    assert 0 <= int(example["label"]) <= 9


def test_sample_counts_match_metadata(sample: data.FederatedData) -> None:
    sizes = data.split_sizes(data.sample_cache_dir() / data.SQLITE_NAME)
    assert sizes == {"digits_only_train": (100, 9000), "digits_only_test": (100, 1000)}
    n_test = sum(1 for c in sample.test.client_ids for _ in sample.test.create_tf_dataset_for_client(c))
    assert n_test == 1000


def test_sample_uses_emnist_pixel_convention(sample: data.FederatedData) -> None:
    pixels = np.stack([e["pixels"].numpy() for e in sample.train.create_tf_dataset_for_client("w001")])
    assert pixels.min() >= 0.0 and pixels.max() <= 1.0
    assert np.all(pixels[:, 0, :] == 1.0), "the top row is background, stored as 1.0"
    assert (pixels == 1.0).mean() > 0.7, "most of a digit image is background"


def test_sample_is_non_iid(sample: data.FederatedData) -> None:
    sizes, major_labels, label_share = [], [], np.zeros(10)
    for client_id in sample.train.client_ids:
        labels = [int(e["label"]) for e in sample.train.create_tf_dataset_for_client(client_id)]
        counts = collections.Counter(labels)
        sizes.append(len(labels))
        major_labels.append(sum(v >= 0.1 * len(labels) for v in counts.values()))
        label_share += np.bincount(labels, minlength=10)
    # Label skew: with Dirichlet(0.5) a client is dominated by a few digits, while the pool stays balanced.
    assert 2.0 <= np.mean(major_labels) <= 5.0
    assert label_share.min() / label_share.max() > 0.6
    # Unequal client sizes, as with real writers.
    assert max(sizes) / min(sizes) > 3


def test_preprocess_shapes_polarity_and_seed(sample: data.FederatedData) -> None:
    ds = sample.train.create_tf_dataset_for_client("w000")
    batches = list(data.preprocess(ds, num_epochs=2, batch_size=20, seed=1))
    assert batches[0]["x"].shape == (20, 784) and batches[0]["y"].shape == (20, 1)
    assert sum(b["x"].shape[0] for b in batches) == 2 * sum(1 for _ in ds)
    assert float(tf.reduce_min(batches[0]["x"])) == 0.0, "background becomes 0 after preprocessing"
    again = list(data.preprocess(ds, num_epochs=2, batch_size=20, seed=1))
    other = list(data.preprocess(ds, num_epochs=2, batch_size=20, seed=2))
    assert np.array_equal(batches[0]["y"], again[0]["y"])
    assert not all(np.array_equal(a["y"], b["y"]) for a, b in zip(batches, other))


def test_preprocess_rejects_malformed_client_data() -> None:
    no_pixels = tf.data.Dataset.from_tensor_slices({"image": tf.zeros([2, 28, 28]), "label": tf.zeros([2], tf.int32)})
    with pytest.raises(ValueError, match="'pixels' and 'label'"):
        data.preprocess(no_pixels)
    wrong_shape = tf.data.Dataset.from_tensor_slices(
        {"pixels": tf.zeros([2, 32, 32]), "label": tf.zeros([2], tf.int32)}
    )
    with pytest.raises(ValueError, match="28x28"):
        data.preprocess(wrong_shape)
    wrong_dtype = tf.data.Dataset.from_tensor_slices(
        {"pixels": tf.zeros([2, 28, 28], tf.uint8), "label": tf.zeros([2], tf.int32)}
    )
    with pytest.raises(ValueError, match="Expected float 'pixels'.*got uint8.*1.0 - image / 255"):
        data.preprocess(wrong_dtype)


def test_unknown_client_id_is_a_clear_error(sample: data.FederatedData) -> None:
    with pytest.raises(KeyError, match="Unknown client id.*'nobody'"):
        data.make_federated_data(sample.train, ["w000", "nobody"])


def test_sample_clients_is_seeded_and_distinct() -> None:
    ids = [f"c{i}" for i in range(50)]
    first = data.sample_clients(ids, 10, round_num=3, seed=7)
    assert first == data.sample_clients(ids, 10, round_num=3, seed=7)
    assert len(set(first)) == 10
    assert first != data.sample_clients(ids, 10, round_num=4, seed=7)
    assert first != data.sample_clients(ids, 10, round_num=3, seed=8)
    with pytest.raises(ValueError, match="between 1 and 50"):
        data.sample_clients(ids, 51, round_num=1, seed=0)


def test_fl_data_forces_sample_without_probing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("FL_DATA=sample must not touch the network")

    monkeypatch.setattr(data, "is_online", fail)
    monkeypatch.setenv("FL_DATA", "sample")
    assert data.load_emnist(source="emnist").source == "sample"


def test_auto_falls_back_to_sample_when_offline(no_network, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    loaded = data.load_emnist(source="auto", cache_dir=str(tmp_path))
    out = capsys.readouterr().out
    assert loaded.source == "sample"
    assert "falling back to the offline sample" in out
    assert "100 clients, 9,000 train and 1,000 test examples" in out


def test_auto_uses_cached_real_emnist_without_network(
    no_network, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # A previously downloaded emnist_all.sqlite in cache_dir is used as is (here: a copy of the sample's).
    (tmp_path / data.SQLITE_NAME).write_bytes((data.sample_cache_dir() / data.SQLITE_NAME).read_bytes())
    loaded = data.load_emnist(source="auto", cache_dir=str(tmp_path))
    assert loaded.source == "emnist"
    assert "federated EMNIST (TFF's download, digits)" in capsys.readouterr().out


def test_forced_emnist_offline_says_what_to_do(no_network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FL_DATA", "emnist")
    with pytest.raises(data.DataSourceError, match="FL_DATA=sample"):
        data.load_emnist(cache_dir=str(tmp_path))


@pytest.mark.parametrize("env,arg", [(None, "mnist"), ("tff", "auto")])
def test_unknown_source_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, env, arg) -> None:
    if env:
        monkeypatch.setenv("FL_DATA", env)
    with pytest.raises(data.DataSourceError, match="choose one of auto, sample, emnist"):
        data.load_emnist(source=arg)


def test_sample_has_digits_only() -> None:
    with pytest.raises(data.DataSourceError, match="digits only"):
        data.load_emnist(only_digits=False, source="sample")


def test_missing_sample_file(tmp_path: Path) -> None:
    with pytest.raises(data.DataSourceError, match="missing.*git checkout"):
        data.sample_cache_dir(tmp_path / "emnist_all.sqlite.lzma")


def test_corrupt_sample_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    broken = tmp_path / "emnist_all.sqlite.lzma"
    broken.write_bytes(b"not an lzma stream")
    with pytest.raises(data.DataSourceError, match="corrupt"):
        data.sample_cache_dir(broken)
    truncated = tmp_path / "truncated.sqlite.lzma"
    truncated.write_bytes(data.SAMPLE_FILE.read_bytes()[: data.SAMPLE_FILE.stat().st_size // 2])
    with pytest.raises(data.DataSourceError, match="corrupt.*git checkout"):
        data.sample_cache_dir(truncated)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob(data.SQLITE_NAME))


def test_not_an_emnist_database(tmp_path: Path) -> None:
    bogus = tmp_path / data.SQLITE_NAME
    bogus.write_bytes(b"garbage" * 100)
    with pytest.raises(data.DataSourceError, match="not one of TFF.s federated SQLite files"):
        data.split_sizes(bogus)


def test_is_online_probes_with_a_timeout() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert data.is_online("127.0.0.1", timeout=1.0, port=port)
    assert not data.is_online("127.0.0.1", timeout=1.0, port=port)  # closed now


def test_pooled_test_data_keeps_every_example_in_chunks_under_tffs_limit() -> None:
    _, test, _ = data.load_emnist(source="sample")
    whole = data.pooled_test_data(test, batch_size=20)
    chunks = data.pooled_test_data(test, batch_size=20, max_examples=300)
    count = lambda datasets: sum(int(b["y"].shape[0]) for ds in datasets for b in ds)  # noqa: E731
    assert len(whole) == 1 and len(chunks) == 4 and count(whole) == count(chunks) == 1000
    labels = lambda datasets: sorted(int(y) for ds in datasets for b in ds for y in b["y"][:, 0])  # noqa: E731
    assert labels(whole) == labels(chunks)


def test_capped_client_ids() -> None:
    ids = [f"c{i}" for i in range(50)]
    assert data.capped_client_ids(ids, 100) == ids
    capped = data.capped_client_ids(ids, 10, seed=1)
    assert len(capped) == 10 and capped == sorted(capped, key=ids.index) == data.capped_client_ids(ids, 10, seed=1)
    with pytest.raises(ValueError, match="at least 1"):
        data.capped_client_ids(ids, 0)


def test_hold_out_clients_splits_writers_without_overlap(sample: data.FederatedData) -> None:
    training, validation = data.hold_out_clients(sample.train, fraction=0.1, seed=3)
    assert len(validation.client_ids) == 10 and len(training.client_ids) == 90
    assert not set(training.client_ids) & set(validation.client_ids)
    assert sorted(training.client_ids + validation.client_ids) == sorted(sample.train.client_ids)
    held = validation.client_ids[0]
    ours = [int(e["label"]) for e in validation.create_tf_dataset_for_client(held)]
    assert ours == [int(e["label"]) for e in sample.train.create_tf_dataset_for_client(held)], "the same examples"
    assert data.hold_out_clients(sample.train, fraction=0.1, seed=3)[1].client_ids == validation.client_ids
    with pytest.raises(ValueError, match="fraction must be between 0 and 1"):
        data.hold_out_clients(sample.train, fraction=1.0)


def test_two_processes_unpacking_the_sample_into_an_empty_cache_at_once_both_load_it(tmp_path, monkeypatch) -> None:
    """Each writer has its own temporary file and replaces atomically: neither renames the other's half-written file.

    Two writers (threads here: the file system sees the same race as between processes) start together on a barrier,
    into five empty caches in turn; both must get a whole file every time.
    """
    import sqlite3
    import threading

    for attempt in range(5):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / str(attempt)))
        barrier, results = threading.Barrier(2), []

        def unpack() -> None:
            barrier.wait()
            try:
                folder = data.sample_cache_dir()
                con = sqlite3.connect(folder / data.SQLITE_NAME)
                results.append(con.execute("SELECT COUNT(*) FROM examples").fetchone()[0])
                con.close()
            except Exception as error:  # reported below, with the other writer's result
                results.append(error)

        threads = [threading.Thread(target=unpack) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [10000, 10000], results
    assert not list(tmp_path.rglob("*.partial")), "no temporary file is left behind"
