"""helpers.client_cache: each client's examples are parsed once, the same batches come back, the folder is bounded."""

from __future__ import annotations

import collections
import os
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_federated as tff

from helpers import data, models
from helpers import runs as training
from helpers.algorithms import build_fedavg
from helpers.client_cache import ClientCache
from helpers.runtime import client_cache, private_test_context, use_private_runtime


def _entry(folder: Path, name: str, size: int, mtime: int, complete: bool = True) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.data-00000-of-00001").write_bytes(b"x" * size)
    if complete:
        (folder / f"{name}.index").write_bytes(b"")
        os.utime(folder / f"{name}.index", ns=(mtime, mtime))


def test_trim_drops_unfinished_entries_then_the_oldest_until_it_fits(tmp_path: Path) -> None:
    cache = ClientCache(max_bytes=250, parent=tmp_path)
    folder = Path(cache.folder_for(object.__new__(type("Data", (), {}))))
    for number, name in enumerate(["c-old", "c-middle", "c-new"]):
        _entry(folder, name, 100, mtime=10**9 * (number + 1))
    _entry(folder, "c-unfinished", 10, mtime=0, complete=False)
    _entry(folder, "c-locked", 10, mtime=4 * 10**9)
    (folder / "c-locked.lockfile").write_bytes(b"")
    cache.trim()
    assert sorted(path.name for path in folder.iterdir()) == [
        "c-middle.data-00000-of-00001",
        "c-middle.index",
        "c-new.data-00000-of-00001",
        "c-new.index",
    ]
    assert cache.size_bytes() == 200
    cache.remove()
    assert not cache.root.exists()
    with pytest.raises(ValueError, match="max_bytes"):
        ClientCache(max_bytes=-1, parent=tmp_path)


def test_each_client_data_object_gets_its_own_folder(tmp_path: Path) -> None:
    cache = ClientCache(parent=tmp_path)
    first, second = data.load_emnist(source="sample").train, data.load_emnist(source="sample").test
    assert cache.folder_for(first) == cache.folder_for(first) != cache.folder_for(second)
    assert cache.folder_for(["unhashable"]) is None  # not cached rather than confused with another object
    cache.remove()


def test_ids_become_file_names_inside_the_folder(tmp_path: Path) -> None:
    """Any id, "../x" and "" included, is cached under the folder and comes back unchanged."""

    def dataset_fn(client_id: tf.Tensor) -> tf.data.Dataset:
        value = tf.cast(tf.strings.length(client_id), tf.float32)
        return tf.data.Dataset.range(3).map(
            lambda i: collections.OrderedDict(label=tf.cast(i, tf.int32), pixels=tf.fill([28, 28], value))
        )

    ids = ["../escape", "a/b", ""]
    client_data = tff.simulation.datasets.ClientData.from_clients_and_tf_fn(ids, dataset_fn)
    folder = tmp_path / "cache"
    folder.mkdir()
    build = data.client_dataset_computation(client_data, str(folder), num_epochs=2, batch_size=6)
    for _ in range(2):  # written, then read back
        for client_id in ids:
            (batch,) = list(build(client_id).as_numpy_iterator())
            np.testing.assert_array_equal(batch["x"], 1.0 - len(client_id))
            assert sorted(batch["y"].ravel().tolist()) == [0, 0, 1, 1, 2, 2]
    names = sorted(path.name for path in folder.iterdir())
    assert len(names) == 6 and all(name.startswith("c-") for name in names), names
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache"]


def test_train_reads_each_client_once_and_gets_the_same_weights_from_the_cache() -> None:
    worker = use_private_runtime()
    assert worker is not None, (
        "the private runtime is not available here; these tests need it "
        "(CONTRIBUTING.md: Where namespaces are not allowed)"
    )
    cache = client_cache()
    assert cache is worker.client_cache
    sample = data.load_emnist(source="sample").train  # a new object, so a new, empty folder
    folder = Path(cache.folder_for(sample))
    assert not any(folder.iterdir())
    spec = data.make_federated_data(sample, ["w000"])[0].element_spec
    process = build_fedavg(models.make_model_fn(models.linear_model, spec), client_lr=0.1)
    settings = training.RoundSettings(clients_per_round=4, num_epochs=2, seed=3)
    cold, _ = training.train(process, sample, num_rounds=2, settings=settings, progress=False)
    cohorts = {c for r in (1, 2) for c in data.sample_clients(sample.client_ids, 4, r, seed=3)}
    cached = {path.name for path in folder.glob("*.index")}
    assert len(cached) == len(cohorts), (cached, cohorts)
    mtimes = {path: path.stat().st_mtime_ns for path in folder.iterdir()}
    warm, _ = training.train(process, sample, num_rounds=2, settings=settings, progress=False)
    assert {path: path.stat().st_mtime_ns for path in folder.iterdir()} == mtimes, "read back, not written again"
    for a, b in zip(process.get_model_weights(cold).trainable, process.get_model_weights(warm).trainable, strict=True):
        np.testing.assert_array_equal(a, b)


def test_no_cache_where_the_worker_may_not_share_this_machines_files() -> None:
    assert use_private_runtime() is not None, (
        "the private runtime is not available here; these tests need it "
        "(CONTRIBUTING.md: Where namespaces are not allowed)"
    )
    assert client_cache() is not None
    with tff.framework.get_context_stack().install(private_test_context()):
        assert client_cache() is None
    assert client_cache() is not None


def test_the_cache_goes_with_its_worker() -> None:
    from helpers.runtime import PrivateWorker

    worker = PrivateWorker()  # raises where namespaces are not allowed: this test needs them
    root = worker.client_cache.root
    assert root.is_dir() and oct(root.stat().st_mode & 0o777) == "0o700"
    worker.stop()
    assert not root.exists()


def test_the_worker_returns_large_freed_buffers_to_the_system() -> None:
    """tf.data's file cache frees megabyte buffers from many threads; glibc would otherwise keep them.

    (CONTRIBUTING.md, Benchmarks.)
    """
    worker = use_private_runtime()
    assert worker is not None, (
        "the private runtime is not available here; these tests need it "
        "(CONTRIBUTING.md: Where namespaces are not allowed)"
    )
    binaries = [pid for pid in worker.pids() if Path(f"/proc/{pid}/exe").resolve().name == "worker_binary"]
    assert binaries, worker.pids()
    environ = Path(f"/proc/{binaries[0]}/environ").read_bytes().split(b"\0")
    assert f"MALLOC_MMAP_THRESHOLD_={4 * 2**20}".encode() in environ


def test_a_cache_goes_with_the_process_that_made_it(tmp_path: Path) -> None:
    """One made outside a worker (the benchmarks make their own) is removed at exit even if nobody calls remove()."""
    import subprocess
    import sys

    code = (
        "from pathlib import Path; from helpers.client_cache import ClientCache; "
        "print(ClientCache(parent=Path(r'%s')).root)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code % tmp_path], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1]
    )
    assert done.returncode == 0, done.stderr
    root = Path(done.stdout.strip())
    assert root.parent == tmp_path and not root.exists()


def test_a_worker_starts_in_a_process_with_many_open_descriptors() -> None:
    """A long-lived process (a test worker after many TFF runs) can hold descriptors above select()'s limit of 1023."""
    import os

    from helpers.runtime import PrivateWorker

    held = []
    try:
        while not held or held[-1] < 1100:
            held.append(os.open(os.devnull, os.O_RDONLY))
        before = len(os.listdir("/proc/self/fd"))
        worker = PrivateWorker()
        worker.stop()
        assert len(os.listdir("/proc/self/fd")) == before, "stop() closes what the worker opened"
    finally:
        for descriptor in held:
            os.close(descriptor)
