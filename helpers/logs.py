"""Library noise dropped at its source: messages TensorFlow and its dependencies print that say nothing to a learner.

`quiet_library_noise()` is called once, before TensorFlow is imported (every notebook's setup cell does so). It drops
exactly the messages in `NOISE`, wherever they are written, and lets everything else through:

- C++ log lines on file descriptor 2: TensorFlow 2.14's duplicate CUDA-plugin registrations (printed at import on
  machines with or without a GPU) and Grappler's "Failed to detect the fetch node(s)" (printed when TFF serializes
  some graphs). A C++ error needs the descriptor itself: `sys.stderr` never sees it.
- Python warnings: `pkg_resources`' deprecation note, triggered by `google.rpc`'s import.
- Python log records: TensorFlow's "Object was never used" on secure aggregation's unused assert ops, and TensorFlow
  Model Optimization's bit-packing memory note.

It also sets TensorFlow's C++ log level to 2 (errors only) unless the environment already sets one.
"""

from __future__ import annotations

import logging
import os
import re
import select
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Optional

NOISE = re.compile(
    r"Unable to register (cuDNN|cuFFT|cuBLAS) factory"
    r"|Failed to detect the fetch node\(s\), skipping this input"
    r"|pkg_resources is deprecated as an API"
    r"|Object was never used"
    r"|bitpacking method"
)

_filter_process: Optional[subprocess.Popen] = None


class _DropNoise(logging.Filter):
    """A logging filter that drops records whose message matches `NOISE`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return NOISE.search(record.getMessage()) is None


def filter_lines(source: int, sink: int, wait: float = 0.1) -> None:
    """Copy lines from descriptor `source` to `sink` until `source` ends, leaving out those that match `NOISE`.

    A partial line (a progress bar's carriage return) is passed on once nothing more has come for `wait` seconds.
    """
    pending = b""
    readable = select.poll()  # not select.select, which refuses descriptors above 1023 (a process with many files)
    readable.register(source, select.POLLIN)
    while True:
        if pending and not readable.poll(wait * 1000):
            os.write(sink, pending)
            pending = b""
        chunk = os.read(source, 65536)
        *lines, pending = (pending + chunk).split(b"\n")
        kept = b"".join(line + b"\n" for line in lines if not NOISE.search(line.decode("utf-8", "replace")))
        if not chunk:
            kept += pending
        if kept:
            os.write(sink, kept)
        if not chunk:
            return


def quiet_library_noise() -> None:
    """Drop the messages in `NOISE` from this process's output from now on; everything else still shows.

    Call it before importing TensorFlow: the CUDA-plugin lines are printed during that import. Calling it again
    changes nothing. Descriptor 2 becomes a pipe to a small filter process (`python -m helpers.logs`) that writes
    every other line where descriptor 2 pointed before. Being a process, not a thread, it passes on even the last
    lines of a process that crashes; it ends when the pipe closes, that is when this process and the children that
    inherited descriptor 2 have ended.
    """
    global _filter_process
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # C++ INFO and WARNING lines off; errors still show
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated as an API", category=UserWarning)
    for logger in (logging.getLogger(), logging.getLogger("tensorflow")):
        if not any(isinstance(f, _DropNoise) for f in logger.filters):
            logger.addFilter(_DropNoise())
    if _filter_process is not None:
        return
    original = os.dup(2)
    try:
        # Its own session: Jupyter signals the kernel's whole process group to interrupt or restart it, and the
        # filter must outlive those signals to pass on what the kernel still writes (it ends at the pipe's end).
        _filter_process = subprocess.Popen(
            [sys.executable, "-m", "helpers.logs"],
            stdin=subprocess.PIPE,
            stdout=original,
            cwd=str(Path(__file__).resolve().parents[1]),
            start_new_session=True,
        )
    finally:
        os.close(original)
    os.dup2(_filter_process.stdin.fileno(), 2)
    _filter_process.stdin.close()  # descriptor 2 is now the pipe's only write end in this process


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt meant for the kernel is not meant for its output
    filter_lines(sys.stdin.fileno(), sys.stdout.fileno())
