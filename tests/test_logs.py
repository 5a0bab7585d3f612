"""helpers.logs drops exactly the known library noise, on every channel it comes by, and nothing else."""

from __future__ import annotations

import fcntl
import json
import os
import re
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers.logs import NOISE, filter_lines
from tools.repo import notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = notebooks()
NOISY = [
    "2026-11-26 10:01:32.522235: E tensorflow/compiler/xla/stream_executor/cuda/cuda_dnn.cc:9342] Unable to register "
    "cuDNN factory: Attempting to register factory for plugin cuDNN when one has already been registered",
    "2026-11-26 10:01:47.504741: E tensorflow/core/grappler/grappler_item_builder.cc:435] Failed to detect the fetch "
    "node(s), skipping this input",
    "UserWarning: pkg_resources is deprecated as an API. See https://setuptools.pypa.io/en/latest/pkg_resources.html.",
]


@pytest.mark.parametrize("high", [False, True], ids=["low descriptors", "descriptors above 1023"])
def test_filter_lines_keeps_everything_but_the_noise(high: bool) -> None:
    read_end, write_end = os.pipe()
    out_read, out_write = os.pipe()
    if high:  # as in a process with many open files, where select.select refuses the descriptor
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 1100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(2048, hard), hard))
        high_end = fcntl.fcntl(read_end, fcntl.F_DUPFD, 1024)  # the lowest free descriptor from 1024 up: none clobbered
        os.close(read_end)
        read_end = high_end
    os.write(write_end, ("\n".join(["kept 1", *NOISY, "kept 2"]) + "\nno newline").encode())
    os.close(write_end)
    filter_lines(read_end, out_write)
    os.close(out_write)
    assert os.read(out_read, 1 << 16) == b"kept 1\nkept 2\nno newline"
    for fd in (read_end, out_read):
        os.close(fd)


def test_a_process_that_calls_it_shows_no_noise_but_every_other_line_even_when_it_crashes() -> None:
    script = textwrap.dedent("""
        import logging, os, warnings
        from helpers.logs import quiet_library_noise
        quiet_library_noise()
        import tensorflow as tf  # prints the three CUDA-plugin lines without the filter
        os.write(2, b"Failed to detect the fetch node(s), skipping this input\\nan error that matters\\n")
        tf.get_logger().warning("Object was never used: a TensorFlow warning we drop")
        tf.get_logger().warning("a TensorFlow warning we keep")
        warnings.warn("pkg_resources is deprecated as an API")
        os.write(2, b"the last words")
        os.abort()
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0  # os.abort
    assert "an error that matters" in done.stderr and "a TensorFlow warning we keep" in done.stderr
    assert done.stderr.rstrip().endswith("the last words"), done.stderr
    assert not [line for line in done.stderr.splitlines() if NOISE.search(line)], done.stderr


def _outputs(path: Path) -> list[tuple[int, str]]:
    found = []
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", "")) + "".join(
                "".join(v) for k, v in output.get("data", {}).items() if k.startswith("text/")
            )
            found.append((i, text))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_no_library_noise_in_committed_outputs(path: Path) -> None:
    """A warning or log line of TensorFlow's dependencies in a committed output means a source was not quieted."""
    pattern = f"{NOISE.pattern}|DeprecationWarning|FutureWarning|Kernel is running over TCP|tensorflow/core/.*\\] "
    noisy = [(i, line) for i, text in _outputs(path) for line in text.splitlines() if re.search(pattern, line)]
    assert not noisy, f"library noise in committed outputs (cell, line): {noisy[:5]}"
