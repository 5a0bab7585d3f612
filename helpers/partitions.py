"""Split one pool of examples into clients: IID, or label-skewed with a Dirichlet prior."""

from __future__ import annotations

import collections
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_federated as tff


def dirichlet_partition(
    labels: np.ndarray, sizes: Sequence[int], alpha: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """Deal example indices to clients of the given sizes, each following its own Dirichlet(alpha) label mix."""
    if sum(sizes) > len(labels):
        raise ValueError(f"client sizes add up to {sum(sizes)}, more than the {len(labels)} examples")
    num_labels = int(labels.max()) + 1
    pools = [list(rng.permutation(np.flatnonzero(labels == k))) for k in range(num_labels)]
    clients = []
    for size in sizes:
        mix = rng.dirichlet(np.full(num_labels, alpha))
        taken = []
        for _ in range(size):
            available = np.array([len(p) > 0 for p in pools])
            weights = mix * available
            if weights.sum() == 0:  # this client's labels ran out: fall back to what is left
                weights = available.astype(float)
            label = rng.choice(num_labels, p=weights / weights.sum())
            taken.append(pools[label].pop())
        clients.append(np.array(taken))
    return clients


def iid_partition(num_examples: int, sizes: Sequence[int], rng: np.random.Generator) -> list[np.ndarray]:
    """Deal example indices to clients of the given sizes uniformly at random."""
    if sum(sizes) > num_examples:
        raise ValueError(f"client sizes add up to {sum(sizes)}, more than the {num_examples} examples")
    order = rng.permutation(num_examples)
    return np.split(order[: sum(sizes)], np.cumsum(sizes)[:-1])


def pool_examples(
    client_data: tff.simulation.datasets.ClientData, client_ids: Optional[Sequence[str]] = None
) -> tuple[np.ndarray, np.ndarray]:
    """Gather the examples of `client_ids` (default: every client) into (pixels, labels) arrays, in that order."""
    pixels, labels = [], []
    for client_id in client_data.client_ids if client_ids is None else client_ids:
        for batch in client_data.create_tf_dataset_for_client(client_id).batch(4096):
            pixels.append(batch["pixels"].numpy())
            labels.append(batch["label"].numpy())
    if not labels:
        raise ValueError("No examples to pool: no client ids, or every client is empty.")
    return np.concatenate(pixels), np.concatenate(labels).astype(np.int32)


def to_client_data(
    pixels: np.ndarray, labels: np.ndarray, parts: Sequence[np.ndarray], prefix: str = "c"
) -> tff.simulation.datasets.ClientData:
    """Make index partitions a TFF ClientData with EMNIST's element structure (pixels, label), stored like EMNIST.

    TFF's `save_to_sql_client_data` writes the clients to a SQLite file (cached under ~/.cache/fl-tutorials, named
    by its content) and `load_and_parse_sql_client_data` reads it back, so the data stay on disk, as EMNIST's do.
    (`TestClientData` would put every pooled digit into TensorFlow's graph, and into every computation that builds
    client datasets.) Client ids are `prefix` plus the partition's number, in partition order.
    """
    import tensorflow as tf

    from helpers.data import cached_sql_client_data

    width = max(3, len(str(len(parts) - 1)))
    ids = [f"{prefix}{i:0{width}d}" for i in range(len(parts))]
    pixels, labels = np.asarray(pixels, np.float32), np.asarray(labels, np.int32)
    if any(len(idx) == 0 for idx in parts):
        raise ValueError("Every partition needs at least one example; drop the empty ones first.")
    chosen = dict(zip(ids, parts))
    content = [prefix.encode(), pixels.tobytes(), labels.tobytes()] + [
        np.asarray(idx, np.int64).tobytes() for idx in parts
    ]

    def dataset_fn(client_id: str) -> tf.data.Dataset:
        idx = chosen[client_id]
        return tf.data.Dataset.from_tensor_slices({"label": labels[idx], "pixels": pixels[idx]})

    return cached_sql_client_data(
        ids,
        dataset_fn,
        content,
        element_spec={"label": tf.TensorSpec([], tf.int32), "pixels": tf.TensorSpec([28, 28], tf.float32)},
    )


# --- saved from the notebooks by tools/save_code.py: edit the code there, then run the tool ---
# notebook 08_compression_secure_robust_aggregation.ipynb
def with_broken_clients(client_data, every: int = 10, factor: float = 1000.0):
    """Every `every`-th client's sensor reads its ink `factor` times too strong; returns the data and their ids."""
    if every < 1:
        raise ValueError(f"every must be at least 1, got {every}.")
    broken = sorted(client_data.client_ids[::every])  # a list: TensorFlow makes it a constant where it is traced

    def client_dataset(client_id):
        # TFF builds client datasets from their ids inside its runtime, so this is TensorFlow code: a `client_id in
        # broken` test would need the id as a Python string. tf.where keeps a healthy client's pixels as stored
        # (EMNIST stores 1.0 = background).
        is_broken = tf.reduce_any(tf.equal(client_id, broken))
        return client_data.serializable_dataset_fn(client_id).map(
            lambda e: collections.OrderedDict(
                label=e["label"], pixels=tf.where(is_broken, 1.0 - factor * (1.0 - e["pixels"]), e["pixels"])
            )
        )

    return tff.simulation.datasets.ClientData.from_clients_and_tf_fn(client_data.client_ids, client_dataset), broken


# --- end of saved code ---
