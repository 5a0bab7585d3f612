"""helpers.partitions: IID and label-skewed splits of the same examples, and notebook 08's broken clients."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from helpers import data, partitions


def test_iid_and_skewed_partitions_use_the_same_examples() -> None:
    labels = np.repeat(np.arange(10), 50)
    sizes = [25] * 20
    iid = partitions.iid_partition(len(labels), sizes, np.random.default_rng(0))
    skew = partitions.dirichlet_partition(labels, sizes, alpha=0.1, rng=np.random.default_rng(0))
    for parts in (iid, skew):
        assert [len(p) for p in parts] == sizes
        assert sorted(np.concatenate(parts)) == list(range(500)), "each example exactly once"
    distinct = lambda parts: np.mean([len(set(labels[p])) for p in parts])  # noqa: E731
    assert distinct(skew) < distinct(iid) - 3


def test_partitions_reject_oversized_requests() -> None:
    with pytest.raises(ValueError, match="more than the 10 examples"):
        partitions.iid_partition(10, [6, 6], np.random.default_rng(0))
    with pytest.raises(ValueError, match="more than the 4 examples"):
        partitions.dirichlet_partition(np.array([0, 1, 0, 1]), [3, 3], 0.5, np.random.default_rng(0))


def test_pool_and_wrap_round_trip(sample: data.FederatedData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # an empty cache: the files below are this test's
    pixels, labels = partitions.pool_examples(sample.test)
    assert pixels.shape == (1000, 28, 28) and labels.shape == (1000,)
    parts = partitions.iid_partition(len(labels), [100] * 10, np.random.default_rng(1))
    wrapped = partitions.to_client_data(pixels, labels, parts, prefix="t")
    assert wrapped.client_ids[:2] == ["t000", "t001"]
    stored = list(wrapped.create_tf_dataset_for_client("t003").as_numpy_iterator())
    assert [int(e["label"]) for e in stored] == labels[parts[3]].tolist(), "a client's examples, in partition order"
    assert np.array_equal(np.stack([e["pixels"] for e in stored]), pixels[parts[3]])
    files = sorted((data._cache_root() / "partitions").glob("*.sqlite"))
    import sqlite3

    for path in files:  # TFF's reader selects a client's rows by client_id: an index must serve that query
        plan = (
            sqlite3.connect(path)
            .execute("EXPLAIN QUERY PLAN SELECT serialized_example_proto FROM examples WHERE client_id = 't003'")
            .fetchall()
        )
        assert "USING INDEX" in str(plan), plan
    partitions.to_client_data(pixels, labels, parts, prefix="t")  # the same partition: the same file, not rewritten
    assert sorted((data._cache_root() / "partitions").glob("*.sqlite")) == files
    with pytest.raises(ValueError, match="at least one example"):
        partitions.to_client_data(pixels, labels, [parts[0], np.array([], int)])
    counts = data.label_counts(wrapped)
    assert counts.shape == (10, 10) and counts.sum() == 1000
    assert np.array_equal(counts.sum(axis=0), np.bincount(labels, minlength=10))
    batch = next(iter(data.make_federated_data(wrapped, ["t000"])[0]))
    assert batch["x"].shape[1] == 784, "wrapped data goes through the same preprocessing"
    # A subset of clients pools exactly their examples, in the order given.
    some = [sample.test.client_ids[5], sample.test.client_ids[2]]
    sub_pixels, sub_labels = partitions.pool_examples(sample.test, some)
    expected = [int(e["label"]) for c in some for e in sample.test.create_tf_dataset_for_client(c)]
    assert sub_labels.tolist() == expected and sub_pixels.shape == (len(expected), 28, 28)
    with pytest.raises(ValueError, match="No examples to pool"):
        partitions.pool_examples(sample.test, [])


def test_broken_clients_read_ink_a_thousand_times_too_strong_and_the_others_are_untouched() -> None:
    from helpers.data import load_emnist
    from helpers.partitions import with_broken_clients

    train, _, _ = load_emnist(only_digits=True, source="sample")
    corrupted, broken = with_broken_clients(train, every=10)
    assert broken == sorted(train.client_ids[::10]) and len(broken) == 10
    for client_id in (broken[0], train.client_ids[1]):
        clean = next(iter(train.create_tf_dataset_for_client(client_id)))["pixels"].numpy()
        seen = next(iter(corrupted.create_tf_dataset_for_client(client_id)))["pixels"].numpy()
        expected = 1.0 - 1000.0 * (1.0 - clean) if client_id in broken else clean
        np.testing.assert_allclose(seen, expected, rtol=1e-5)
    with pytest.raises(ValueError, match="at least 1"):
        with_broken_clients(train, every=0)
