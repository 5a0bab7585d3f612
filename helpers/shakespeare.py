"""Federated Shakespeare through TFF's own loader: the offline sample by default, TFF's download on request."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import tensorflow_federated as tff

from helpers import data
from helpers.data import FederatedData

SAMPLE_FILE = Path(__file__).resolve().parents[1] / "data" / "shakespeare_sample" / "shakespeare.sqlite.lzma"
SQLITE_NAME = "shakespeare.sqlite"  # the file name TFF's load_data looks for in cache_dir


def load_shakespeare(source: str = "sample", cache_dir: Optional[str] = None) -> FederatedData:
    """Load federated Shakespeare with TFF's loader, from the offline sample (default) or TFF's data set; say which.

    `FL_DATA` chooses as it does for EMNIST: `sample` (the default), `emnist` (TFF's downloads, here TFF's
    Shakespeare: from `cache_dir`/shakespeare.sqlite if it is there, else downloaded), or `auto`.

    Returns:
      The train and test `ClientData` (one client per speaking role, elements `{"snippets": string}`) and the
      source, "sample" or "tff".

    Raises:
      DataSourceError: TFF's data set was asked for, but it is not cached and its host cannot be reached.
    """
    tff_dir = Path(cache_dir) if cache_dir else Path.home() / ".tff"
    chosen = data.choose_source(source, tff_dir / SQLITE_NAME, "TFF's Shakespeare")
    if chosen == "sample":
        folder = data.sample_cache_dir(SAMPLE_FILE, SQLITE_NAME, "build_shakespeare_sample.py")
        label = "offline sample (six plays, one client per speaking role, data/README.md)"
    else:
        folder, label = tff_dir, "federated Shakespeare (TFF's download)"
    train, test = tff.simulation.datasets.shakespeare.load_data(cache_dir=str(folder))
    sizes = data.split_sizes(folder / SQLITE_NAME)
    (n_clients, n_train), (_, n_test) = sizes["train"], sizes["test"]
    print(f"Data: {label}: {n_clients} clients, {n_train:,} train and {n_test:,} test snippets.")
    return FederatedData(train, test, chosen)
