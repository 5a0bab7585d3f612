"""Peak memory of a process tree (a kernel or a driver, with TFF's worker and forwarder): the one sampler that
`python -m benchmarks` and `tools/run_standin.py` both use."""

from __future__ import annotations

import threading

import psutil


def tree_rss(parent: psutil.Process) -> int:
    """Summed RSS (bytes) of `parent` and all its descendants, TFF's worker included."""
    total = 0
    for process in [parent, *parent.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            pass  # it exited between listing and reading
    return total


class TreeRss:
    """Sample the summed RSS of a process tree every `interval` seconds in a thread, until `stop()`.

    The peak is kept per `label` (set it as the work moves on, e.g. to a cell's index), and overall.
    """

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.root = psutil.Process(pid)
        self.label = "start"
        self.peaks: dict[str, int] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(interval,), daemon=True)
        self._thread.start()

    def _watch(self, interval: float) -> None:
        while True:
            try:
                self.sample()
            except psutil.Error:
                return  # the process has exited: nothing more to sample
            if self._done.wait(interval):
                return

    def sample(self) -> int:
        """Read the tree's RSS now (bytes), count it towards the current label's peak, and return it."""
        rss = tree_rss(self.root)
        self.peaks[self.label] = max(self.peaks.get(self.label, 0), rss)
        return rss

    @property
    def peak(self) -> int:
        """The highest RSS sampled so far (bytes)."""
        return max(self.peaks.values(), default=0)

    def stop(self) -> int:
        """Stop sampling and return the overall peak (bytes)."""
        self._done.set()
        self._thread.join()
        return self.peak
