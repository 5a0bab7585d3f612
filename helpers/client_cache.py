"""Client datasets read once: a folder where tf.data's file `cache` keeps each client's examples between rounds.

Without it, every round reads each client of the cohort from SQLite and parses its tf.Examples again, although they
never change. `helpers.data.client_dataset_computation(..., cache_dir=...)` puts `Dataset.cache(file)` in front of
the preprocessing, so TFF's worker parses a client once; later rounds read the parsed tensors back (the same
examples in the same order: the shuffle comes after the cache). The folder lives beside the private worker
(`helpers.runtime`), in the system's temporary folder, and goes when the worker does. It holds at most
`MAX_CACHE_BYTES`: `trim` removes the clients cached first until it fits (notebook 15 measures the bytes per digit,
and so what the sample and full-size EMNIST take).
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any, Optional

MAX_CACHE_BYTES = 256 * 2**20
INDEX_SUFFIX = ".index"  # tf.data writes a client's index file last, when its examples are complete


class ClientCache:
    """An owner-only folder of tf.data cache files, one subfolder per ClientData object, at most `max_bytes`."""

    def __init__(self, max_bytes: int = MAX_CACHE_BYTES, parent: Optional[Path] = None) -> None:
        """Create the folder (mode 0700) under `parent`, or under the system's temporary folder."""
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be at least 0, got {max_bytes}.")
        self.max_bytes = max_bytes
        self.root = Path(tempfile.mkdtemp(prefix="tff-datasets-", dir=parent))
        self._folders: "weakref.WeakKeyDictionary[Any, Path]" = weakref.WeakKeyDictionary()
        self._numbers = itertools.count()
        atexit.register(self.remove)  # a cache is temporary: it goes with the process that made it, if not before

    def folder_for(self, client_data: Any) -> Optional[str]:
        """The folder that caches `client_data`'s clients; None if it cannot be told apart from later objects."""
        try:
            folder = self._folders.get(client_data)
            if folder is None:
                # A new object gets a new folder, so that no ClientData ever reads another's examples.
                folder = self.root / str(next(self._numbers))
                folder.mkdir()
                self._folders[client_data] = folder
        except TypeError:  # neither weakly referable nor hashable: not cached
            return None
        return str(folder)

    def size_bytes(self) -> int:
        """Bytes held by the cached files."""
        return sum(path.stat().st_size for path in self.root.rglob("*") if path.is_file())

    def trim(self) -> None:
        """Drop unfinished entries, then the clients cached first until the folder holds at most `max_bytes`.

        Call it only between computations (as `helpers.runs.train` does between rounds): an entry without its
        index file is then one that a stopped computation left behind.
        """
        # One listing per folder, not one per client: trim runs after every round.
        groups: dict[tuple[Path, str], list[Path]] = {}
        for folder in (path for path in self.root.iterdir() if path.is_dir()):
            for path in folder.iterdir():
                groups.setdefault((folder, path.name.split(".")[0]), []).append(path)
        entries = []
        for (folder, prefix), files in groups.items():
            index = folder / (prefix + INDEX_SUFFIX)
            if index not in files or any(path.name.endswith("lockfile") for path in files):
                _remove(files)
            else:
                entries.append((index.stat().st_mtime_ns, sum(path.stat().st_size for path in files), files))
        total = sum(size for _, size, _ in entries)
        for _, size, files in sorted(entries, key=lambda entry: entry[0]):
            if total <= self.max_bytes:
                break
            _remove(files)
            total -= size

    def remove(self) -> None:
        """Delete the folder and everything in it."""
        shutil.rmtree(self.root, ignore_errors=True)
        atexit.unregister(self.remove)


def _remove(files: list[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)
