"""Federated EMNIST through TFF's own loader: the offline sample by default, the real data set on request."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import lzma
import os
import socket
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Iterator, NamedTuple, Optional, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

SOURCES = ("auto", "sample", "emnist")
SAMPLE_FILE = Path(__file__).resolve().parents[1] / "data" / "emnist_sample" / "emnist_all.sqlite.lzma"
TFF_DATA_HOST = "storage.googleapis.com"  # where TFF's load_data functions download their SQLite files from
CONNECT_TIMEOUT_S = 5.0
SQLITE_NAME = "emnist_all.sqlite"  # the file name TFF's load_data looks for in cache_dir


class DataSourceError(RuntimeError):
    """The requested data cannot be loaded; the message says what to do."""


class FederatedData(NamedTuple):
    """Train and test `ClientData`, and which source they came from ("sample" or "emnist")."""

    train: tff.simulation.datasets.ClientData
    test: tff.simulation.datasets.ClientData
    source: str


def is_online(host: str = TFF_DATA_HOST, timeout: float = CONNECT_TIMEOUT_S, port: int = 443) -> bool:
    """Return True if a TCP connection to `host`:`port` opens within `timeout` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def replaced_atomically(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`, unique to this call; on success move it onto `target` in one step.

    Two processes writing the same `target` at once each write their own file, and each replace is atomic, so a
    reader sees either no file or a whole one. On an error the temporary file is removed and `target` is untouched.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fl-tutorials"


def sample_cache_dir(
    sample_file: Path = SAMPLE_FILE, sqlite_name: str = SQLITE_NAME, builder: str = "build_emnist_sample.py"
) -> Path:
    """Unpack a committed LZMA sample (once per content hash) as `sqlite_name`, the name TFF's loader looks for, and
    return the folder holding it; `builder` is the script in tools/ that rebuilds the sample."""
    if not sample_file.is_file():
        raise DataSourceError(
            f"The offline sample {sample_file} is missing. Restore it with `git checkout -- data/`, "
            f"or rebuild it with `uv run python tools/{builder}` (data/README.md)."
        )
    packed = sample_file.read_bytes()
    folder = _cache_root() / f"sample-{hashlib.sha256(packed).hexdigest()[:16]}"
    target = folder / sqlite_name
    if not target.is_file():
        try:
            raw = lzma.decompress(packed)
        except lzma.LZMAError as err:
            raise DataSourceError(
                f"The offline sample {sample_file} is corrupt ({err}). Restore it with "
                f"`git checkout -- data/`, or rebuild it with `uv run python tools/{builder}` (data/README.md)."
            ) from err
        with replaced_atomically(target) as partial:  # TFF never sees a half-written file
            partial.write_bytes(raw)
    return folder


def cached_sql_client_data(
    client_ids: Sequence[str], dataset_fn: Any, content: Sequence[bytes], element_spec: Any
) -> tff.simulation.datasets.ClientData:
    """A ClientData kept in a SQLite file written by TFF's `save_to_sql_client_data` and read by its loader.

    The file is named by a hash of `content` (the bytes that determine the data), so the same partition is written
    once; a half-written file is never used. The clients come back in `client_ids` order.
    """
    digest = hashlib.sha256(b"index on client_id")  # files written with another index (or none) are not reused
    for chunk in content:
        digest.update(hashlib.sha256(chunk).digest())
    folder = _cache_root() / "partitions"
    target = folder / f"{digest.hexdigest()[:24]}.sqlite"
    if not target.is_file():
        with replaced_atomically(target) as partial:
            tff.simulation.datasets.save_to_sql_client_data(list(client_ids), dataset_fn, str(partial))
            # TFF's writer makes no index, and TFF's reader selects one client's rows per dataset (by client_id alone
            # when there are no split names): without an index, every client dataset built in a round scans the file.
            con = sqlite3.connect(partial)
            try:
                con.execute("CREATE INDEX examples_client_split ON examples (client_id, split_name)")
                con.commit()
            finally:
                con.close()
    stored = tff.simulation.datasets.load_and_parse_sql_client_data(str(target), element_spec)
    missing = set(client_ids) - set(stored.client_ids)
    if missing:
        raise DataSourceError(f"{target} lacks clients {sorted(missing)[:3]}; delete it and run again.")
    return tff.simulation.datasets.ClientData.from_clients_and_tf_fn(list(client_ids), stored.serializable_dataset_fn)


def split_sizes(sqlite_path: Path) -> dict[str, tuple[int, int]]:
    """Return {split_name: (number of clients, number of examples)} from the client_metadata table of TFF's SQLite."""
    try:
        con = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
        try:
            rows = con.execute(
                "SELECT split_name, COUNT(DISTINCT client_id), SUM(num_examples) "
                "FROM client_metadata GROUP BY split_name"
            ).fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as err:
        raise DataSourceError(
            f"{sqlite_path} is not one of TFF's federated SQLite files ({err}). Delete it and load again."
        ) from err
    return {name: (clients, examples) for name, clients, examples in rows}


def is_standin(sqlite_path: Path) -> bool:
    """True if `sqlite_path` is the full-size stand-in built by tools/build_emnist_standin.py, not real EMNIST."""
    try:
        con = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
        try:
            return (
                con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'standin'").fetchone()
                is not None
            )
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return False


def resolve_source(source: str) -> str:
    """The data source to load: `FL_DATA` if set, else `source`.

    Raises:
      DataSourceError: the choice is not one of `SOURCES`.
    """
    forced = os.environ.get("FL_DATA")
    chosen = forced if forced else source
    if chosen not in SOURCES:
        where = f"FL_DATA={forced!r}" if forced else f"source={source!r}"
        raise DataSourceError(f"Unknown data source {where}; choose one of {', '.join(SOURCES)}.")
    return chosen


def choose_source(source: str, cached_file: Path, data_set: str) -> str:
    """Pick where to load from: "sample" or "tff" (TFF's download), from `FL_DATA` or `source`.

    "emnist" (TFF's data set) and "auto" take TFF's file when `cached_file` exists or TFF's host is reachable; "auto"
    falls back to the sample, saying so. `data_set` names the data in messages.

    Raises:
      DataSourceError: the choice is unknown, or TFF's data was asked for but is neither cached nor reachable.
    """
    chosen = resolve_source(source)
    if chosen == "sample":
        return "sample"
    if cached_file.is_file() or is_online():
        return "tff"
    if chosen == "emnist":
        raise DataSourceError(
            f"{data_set} was requested (FL_DATA/source = 'emnist') but {TFF_DATA_HOST} cannot be reached "
            f"within {CONNECT_TIMEOUT_S:.0f} s and {cached_file} does not exist. Go online "
            "once to download it, or use the offline sample: FL_DATA=sample."
        )
    print(f"{TFF_DATA_HOST} is unreachable; falling back to the offline sample.")
    return "sample"


def load_emnist(only_digits: bool = True, source: str = "sample", cache_dir: Optional[str] = None) -> FederatedData:
    """Load federated EMNIST with TFF's loader, from the offline sample (default) or the real data set; say which.

    The sample is the default so that everyone sees the committed numbers. `source="emnist"` (or `FL_DATA=emnist`)
    loads real EMNIST, from `cache_dir`/emnist_all.sqlite if it is there, else TFF's download; `"auto"` takes real
    EMNIST when cached or reachable and the sample otherwise.
    """
    emnist_dir = Path(cache_dir) if cache_dir else Path.home() / ".tff"
    chosen = choose_source(source, emnist_dir / SQLITE_NAME, "Real EMNIST")
    if chosen == "sample":
        if not only_digits:
            raise DataSourceError(
                "The offline sample holds digits only: call load_emnist(only_digits=True), "
                "or use the real data set (FL_DATA=emnist, needs internet once)."
            )
        folder = sample_cache_dir()
        label = "offline sample (real MNIST digits in TFF's EMNIST format, data/README.md)"
    else:
        folder = emnist_dir
        label = "federated EMNIST (TFF's download, " + ("digits" if only_digits else "62 classes") + ")"
        if is_standin(folder / SQLITE_NAME):
            label = "full-size stand-in for federated EMNIST (tools/build_emnist_standin.py; not EMNIST)"
    train, test = tff.simulation.datasets.emnist.load_data(only_digits=only_digits, cache_dir=str(folder))
    sizes = split_sizes(folder / SQLITE_NAME)
    prefix = "digits_only" if only_digits else "all"
    (n_clients, n_train), (_, n_test) = sizes[f"{prefix}_train"], sizes[f"{prefix}_test"]
    print(f"Data: {label}: {n_clients} clients, {n_train:,} train and {n_test:,} test examples.")
    return FederatedData(train, test, "emnist" if chosen == "tff" else "sample")


def preprocess(
    dataset: tf.data.Dataset,
    num_epochs: int = 5,
    batch_size: int = 20,
    shuffle_buffer: int = 100,
    seed: int = 0,
) -> tf.data.Dataset:
    """Turn one client's EMNIST examples into shuffled, batched (x: 784 floats, 0 = background; y: label) pairs."""
    spec = dataset.element_spec
    if not isinstance(spec, dict) or "pixels" not in spec or "label" not in spec:
        raise ValueError(f"Expected EMNIST elements with 'pixels' and 'label', got {spec}.")
    if spec["pixels"].shape[-2:] != (28, 28):
        raise ValueError(f"Expected 28x28 'pixels', got shape {spec['pixels'].shape}.")
    if not spec["pixels"].dtype.is_floating:
        raise ValueError(
            "Expected float 'pixels' in [0, 1] with 1.0 = background (EMNIST's format), "
            f"got {spec['pixels'].dtype.name}. "
            "For 0-255 images with 0 = background, convert with pixels = 1.0 - image / 255."
        )

    def to_xy(element):
        # EMNIST stores 1.0 = background; flip it so that background pixels are 0 and add nothing.
        return collections.OrderedDict(
            x=tf.reshape(1.0 - element["pixels"], [-1, 784]),
            y=tf.reshape(element["label"], [-1, 1]),
        )

    return (
        dataset.repeat(num_epochs)
        .shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=False)
        .batch(batch_size)
        .map(to_xy)
        .prefetch(tf.data.AUTOTUNE)
    )


def client_dataset_computation(
    client_data: tff.simulation.datasets.ClientData,
    cache_dir: Optional[str] = None,
    *,
    seeded_ids: bool = False,
    **preprocess_kwargs: Any,
) -> tff.Computation:
    """A TFF computation from a client id to that client's preprocessed dataset, built inside TFF's runtime.

    `tff.simulation.compose_dataset_computation_with_learning_process` puts it in front of a process, whose `next`
    then takes client ids instead of datasets. The notebook's process creates no dataset per round: every tf.data
    dataset created in Python keeps some memory that TensorFlow never frees (cause not pinned down), so building
    them here made long runs grow (CONTRIBUTING.md, Benchmarks, has the soak measurements). The datasets
    are the ones `make_federated_data` gives, batch for batch: the shuffle gets the graph-level seed it would get here.

    With `cache_dir` (a folder the worker can write, from `helpers.client_cache`), tf.data's `Dataset.cache` keeps
    each client's parsed examples in a file there, so a client is read from SQLite once, not once per round; in every
    case a round reads a client once for all its epochs (an in-memory `cache` before `preprocess` repeats it).

    With `seeded_ids`, the computation takes "SEED:CLIENT_ID" strings (`seeded_client_ids`) and shuffles with SEED,
    giving the same batches as `seed=SEED`: one computation then serves runs of every seed. TFF prepares each new
    computation before its first call, so `helpers.runs.train` composes one per process and data, not one per seed
    as well.
    """
    from helpers.seeds import graph_seed

    if seeded_ids and "seed" in preprocess_kwargs:
        raise TypeError("With seeded_ids, each id carries its seed: do not pass seed= as well.")
    global_seed = graph_seed(preprocess_kwargs.get("seed", 0))  # the graph seed an eager shuffle would use
    make_dataset = client_data.serializable_dataset_fn

    @tff.tensorflow.computation(tf.string)
    def client_dataset(client_id):
        if global_seed is not None:
            tf.random.set_seed(global_seed)  # this computation's graph seed: the eager one, so the same shuffle
        kwargs = preprocess_kwargs
        if seeded_ids:
            parts = tf.strings.split(client_id, ":", maxsplit=1)
            seed, client_id = parts[0], parts[1]
            # A tensor op seed: shuffle pairs it with the graph seed by the rule it applies to a Python int.
            kwargs = {**preprocess_kwargs, "seed": tf.strings.to_number(seed, tf.int64)}
        dataset = make_dataset(client_id)
        if cache_dir is not None:
            # File names from web-safe base64 ("c-" keeps an empty id a name): any id, and no path outside cache_dir.
            dataset = dataset.cache(tf.strings.join([cache_dir, "/c-", tf.io.encode_base64(client_id)]))
        # Read the source once per round, not once per epoch. (Not in `preprocess`: a notebook that takes one batch
        # of a cached dataset gets a warning from tf.data.)
        return preprocess(dataset.cache(), **kwargs)

    return client_dataset


def seeded_client_ids(client_ids: Sequence[str], seed: int) -> list[str]:
    """`client_ids` as "SEED:CLIENT_ID" strings, for a `client_dataset_computation(..., seeded_ids=True)`."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {seed!r}.")
    if not -(2**63) <= seed < 2**63:  # TFF parses it as an int64
        raise ValueError(f"seed must fit in 64 bits, got {seed}; take it modulo 2**31 - 1, as TensorFlow does.")
    return [f"{int(seed)}:{client_id}" for client_id in client_ids]


def pool_batches(datasets: Sequence[tf.data.Dataset]) -> collections.OrderedDict:
    """Concatenate every batch of preprocessed client `datasets` into one OrderedDict of x and y arrays."""
    batches = [batch for dataset in datasets for batch in dataset.as_numpy_iterator()]
    if not batches:
        raise ValueError("No batches to pool: every dataset is empty.")
    return collections.OrderedDict((key, np.concatenate([b[key] for b in batches])) for key in batches[0])


# TFF refuses a dataset whose serialized size exceeds 100 MB; 10,000 preprocessed digits stay well under it.
MAX_EXAMPLES_PER_DATASET = 10_000


def pooled_test_data(
    client_data: tff.simulation.datasets.ClientData,
    batch_size: int = 20,
    max_examples: int = MAX_EXAMPLES_PER_DATASET,
) -> list[tf.data.Dataset]:
    """Every example of `client_data`, preprocessed and pooled, as datasets of at most `max_examples` each.

    `build_fed_eval` sums correct predictions and examples over its datasets, so the accuracy over these chunks is
    the per-example accuracy of the whole pooled set, however it is cut. The cut keeps every dataset under TFF's
    100 MB limit, however large the test set.
    """
    pooled = pool_batches(
        [preprocess(client_data.create_tf_dataset_from_all_clients(seed=0), num_epochs=1, batch_size=batch_size)]
    )
    total = len(pooled["y"])
    return [
        tf.data.Dataset.from_tensor_slices(
            collections.OrderedDict((k, v[start : start + max_examples]) for k, v in pooled.items())
        ).batch(batch_size)
        for start in range(0, total, max_examples)
    ]


def capped_client_ids(client_ids: Sequence[str], max_clients: int, seed: int = 0) -> list[str]:
    """All `client_ids` if there are at most `max_clients`; else a seeded sample of `max_clients`, in their order."""
    if max_clients < 1:
        raise ValueError(f"max_clients must be at least 1, got {max_clients}.")
    if len(client_ids) <= max_clients:
        return list(client_ids)
    chosen = np.random.default_rng(seed).choice(len(client_ids), size=max_clients, replace=False)
    return [client_ids[i] for i in sorted(chosen)]


def hold_out_clients(
    client_data: tff.simulation.datasets.ClientData, fraction: float = 0.1, max_clients: int = 300, seed: int = 0
) -> tuple[tff.simulation.datasets.ClientData, tff.simulation.datasets.ClientData]:
    """Split clients into (training, validation) ClientData: a seeded `fraction` (at most `max_clients`) held out.

    Hyperparameters are tuned on the held-out clients' data, so that the test split is used once, at the end.
    Both parts are TFF ClientData built with `ClientData.from_clients_and_tf_fn`, in the original id order.
    """
    ids = list(client_data.client_ids)
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}.")
    count = max(1, min(max_clients, round(fraction * len(ids))))
    if count >= len(ids):
        raise ValueError(f"Holding out {count} of {len(ids)} clients leaves none to train on.")
    held = set(capped_client_ids(ids, count, seed=seed))
    make = client_data.serializable_dataset_fn
    return (
        tff.simulation.datasets.ClientData.from_clients_and_tf_fn([c for c in ids if c not in held], make),
        tff.simulation.datasets.ClientData.from_clients_and_tf_fn([c for c in ids if c in held], make),
    )


def label_counts(client_data: tff.simulation.datasets.ClientData, num_labels: int = 10) -> np.ndarray:
    """Return a (clients x labels) matrix of example counts, rows in `client_data.client_ids` order.

    One tf.data pipeline over the client ids reduces each client's dataset (`serializable_dataset_fn`) to its counts,
    clients in parallel and without a Python step per client or example, so that full-size EMNIST stays practical.
    """
    make_dataset = client_data.serializable_dataset_fn

    def count(client_id: tf.Tensor) -> tf.Tensor:
        def add_label(total: tf.Tensor, example: dict) -> tf.Tensor:
            return total + tf.one_hot(tf.cast(example["label"], tf.int32), num_labels, dtype=tf.int64)

        return make_dataset(client_id).reduce(tf.zeros([num_labels], tf.int64), add_label)

    ids = tf.data.Dataset.from_tensor_slices(list(client_data.client_ids))
    rows = list(ids.map(count, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).as_numpy_iterator())
    return np.stack(rows) if rows else np.zeros((0, num_labels), dtype=np.int64)


# --- saved from the notebooks by tools/save_code.py: edit the code there, then run the tool ---
# notebook 01_federated_averaging_quickstart.ipynb
def sample_clients(client_ids: Sequence[str], clients_per_round: int, round_num: int, seed: int) -> list[str]:
    """Pick `clients_per_round` distinct clients for one round; the same (seed, round_num) gives the same pick."""
    if not 0 < clients_per_round <= len(client_ids):
        raise ValueError(f"clients_per_round must be between 1 and {len(client_ids)}, got {clients_per_round}.")
    rng = np.random.default_rng([seed, round_num])
    return [client_ids[i] for i in rng.choice(len(client_ids), size=clients_per_round, replace=False)]


# notebook 01_federated_averaging_quickstart.ipynb
def make_federated_data(
    client_data: tff.simulation.datasets.ClientData, client_ids: Sequence[str], **preprocess_kwargs: Any
) -> list[tf.data.Dataset]:
    """Return one preprocessed dataset per client id, with a clear error for unknown ids."""
    known = set(client_data.client_ids)
    unknown = [c for c in client_ids if c not in known]
    if unknown:
        raise KeyError(
            f"Unknown client id(s) {unknown[:5]}; this ClientData has {len(known)} clients, "
            f"for example {sorted(known)[:3]}."
        )
    return [preprocess(client_data.create_tf_dataset_for_client(c), **preprocess_kwargs) for c in client_ids]


# --- end of saved code ---
