"""A table with a client key, read and checked before notebook 16 groups it by client: clear errors for bad input.

A table is anything that maps column names to equal-length columns: a dict of NumPy arrays or lists (what
`read_csv` returns), or a pandas DataFrame. Nothing here needs pandas.
"""

from __future__ import annotations

import collections
import csv
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

WAGE_PANEL = Path(__file__).resolve().parents[1] / "data" / "wage_panel" / "wage_panel.csv"  # notebook 16's table
MAX_IN_MEMORY_BYTES = 256 * 2**20  # above this, build the ClientData from a function that reads one client's rows
Table = Mapping[str, Any]


class TableError(ValueError):
    """A table that cannot become federated data as it is; the message says what to do."""


def read_csv(path: Path | str) -> dict[str, np.ndarray]:
    """Read a CSV file with a header into columns: int64 where every value is an integer, float64 where every value
    is a number (an empty cell is NaN), otherwise strings."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise TableError(f"{path} is empty: expected a header line, then one line per record.")
    header, body = rows[0], rows[1:]
    if any(len(row) != len(header) for row in body):
        bad = next(i for i, row in enumerate(body, start=2) if len(row) != len(header))
        raise TableError(f"{path}, line {bad}: {len(body[bad - 2])} values for {len(header)} columns.")
    return {name: _parse_column([row[i] for row in body]) for i, name in enumerate(header)}


def _parse_column(values: list[str]) -> np.ndarray:
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        pass
    try:
        return np.array([float(v) if v.strip() else math.nan for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=object)


def table_nbytes(table: Table) -> int:
    """The memory the table's columns take as NumPy arrays (strings counted by their length)."""
    total = 0
    for name in table:
        column = np.asarray(table[name])
        if column.dtype == object:
            total += sum(len(str(v)) for v in column) + 8 * len(column)
        else:
            total += column.nbytes
    return total


def _readable(nbytes: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:,.1f} {unit}"
    return f"{nbytes} bytes"


def _is_missing(column: np.ndarray) -> np.ndarray:
    if column.dtype.kind == "f":
        return np.isnan(column)
    if column.dtype == object:
        return np.array([v is None or (isinstance(v, float) and math.isnan(v)) or v == "" for v in column], bool)
    return np.zeros(len(column), bool)


def check_table(
    table: Table,
    client_key: str,
    label: str,
    min_records: int = 2,
    max_bytes: int = MAX_IN_MEMORY_BYTES,
) -> None:
    """Raise TableError, naming the fix, if `table` cannot become in-memory federated data keyed by `client_key`.

    The checks: both columns exist; the table fits in `max_bytes`; `label` has no missing values; no column holds
    values of one type for some clients and another type for others; every client has `min_records` records.
    """
    missing = [name for name in (client_key, label) if name not in table]
    if missing:
        raise TableError(f"No column {missing[0]!r}; the table's columns are {list(table)}.")
    size = table_nbytes(table)
    if size > max_bytes:
        raise TableError(
            f"The table takes {_readable(size)}, more than max_bytes = {_readable(max_bytes)} for data held "
            "in memory (TestClientData). Keep it on disk instead: pass tff.simulation.datasets.save_to_sql_client_data "
            "a plain Python function that reads one client's rows (for example a SQL query with WHERE client = id) "
            "and returns them as a tf.data.Dataset, then read the file back client by client with "
            "load_and_parse_sql_client_data; or raise max_bytes if this machine has the memory."
        )
    keys = np.asarray(table[client_key]).astype(str)
    labels = np.asarray(table[label])
    empty = _is_missing(labels)
    if empty.any():
        rows = np.flatnonzero(empty)
        raise TableError(
            f"The label column {label!r} is missing in {len(rows)} rows (first rows {rows[:5].tolist()}, clients "
            f"{sorted(set(keys[rows]))[:5]}). Drop those rows before splitting (pandas: "
            f"df.dropna(subset=[{label!r}])): a model cannot learn from, or be scored on, a record without a label."
        )
    for name in table:
        column = np.asarray(table[name])
        if column.dtype != object:
            continue
        kinds: dict[str, set[str]] = collections.defaultdict(set)
        for key, value in zip(keys, column):
            kinds[type(value).__name__].add(key)
        if len(kinds) > 1:
            examples = ", ".join(f"{kind} for clients {sorted(ids)[:3]}" for kind, ids in sorted(kinds.items()))
            raise TableError(
                f"Column {name!r} holds values of different types: {examples}. TFF needs one type per column for "
                f"every client: convert it before splitting (pandas: pd.to_numeric(df[{name!r}]) for numbers, "
                f"df[{name!r}].astype(str) for categories)."
            )
    counts = collections.Counter(keys)
    few = sorted(k for k, n in counts.items() if n < min_records)
    if few:
        raise TableError(
            f"{len(few)} of {len(counts)} clients have fewer than {min_records} records (for example {few[:5]}). "
            "Drop them, merge them under a coarser client key, or pass min_records=1 if every such client will only "
            "ever be trained on or only be tested on, never split within."
        )
