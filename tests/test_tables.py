"""helpers/tables.py: a table with a client key to per-client columns, and the errors that name the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import tables


def table() -> dict[str, np.ndarray]:
    return {
        "person": np.array([7, 7, 3, 3, 3]),
        "hours": np.array([1.0, 2.0, 3.0, 4.0, 5.0]),
        "label": np.array([0, 1, 1, 0, 1]),
    }


def test_read_csv_types_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,x,name,y\n1,0.5,a,\n2,2,b,3\n")
    columns = tables.read_csv(path)
    assert columns["id"].dtype == np.int64 and columns["x"].dtype == np.float64
    assert columns["name"].tolist() == ["a", "b"] and np.isnan(columns["y"][0])


def test_read_csv_names_a_ragged_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3\n")
    with pytest.raises(tables.TableError, match="line 3: 1 values for 2 columns"):
        tables.read_csv(path)


def test_a_good_table_passes() -> None:
    tables.check_table(table(), "person", "label")


def test_unknown_columns_are_named() -> None:
    with pytest.raises(tables.TableError, match="No column 'wage'.*'person', 'hours', 'label'"):
        tables.check_table(table(), "person", "wage")


def test_a_client_with_one_record_names_the_fix() -> None:
    bad = {k: np.append(v, v[:1]) for k, v in table().items()}
    bad["person"][-1] = 99
    with pytest.raises(tables.TableError, match=r"1 of 3 clients have fewer than 2 records.*\['99'\].*Drop them"):
        tables.check_table(bad, "person", "label")
    tables.check_table(bad, "person", "label", min_records=1)


def test_a_missing_label_names_the_rows_and_the_fix() -> None:
    bad = table()
    bad["hours"] = bad["hours"].copy()
    bad["label"] = np.array([0, 1, np.nan, 0, 1])
    with pytest.raises(tables.TableError, match=r"missing in 1 rows \(first rows \[2\], clients \['3'\]\).*dropna"):
        tables.check_table(bad, "person", "label")
    bad["label"] = np.array([0, 1, None, 0, 1], dtype=object)
    with pytest.raises(tables.TableError, match="missing in 1 rows"):
        tables.check_table(bad, "person", "label")


def test_a_column_whose_type_differs_between_clients_names_the_fix() -> None:
    bad = table()
    bad["hours"] = np.array(["1", "2", 3, 4, 5], dtype=object)  # client 7's export wrote strings
    with pytest.raises(tables.TableError, match=r"'hours' holds values of different types: int for clients \['3'\], "
                       r"str for clients \['7'\].*pd.to_numeric"):  # fmt: skip
        tables.check_table(bad, "person", "label")


def test_a_table_too_large_for_memory_names_the_fix() -> None:
    big = table()
    assert tables.table_nbytes(big) == 5 * 8 * 3
    with pytest.raises(
        tables.TableError,
        match="takes 120 bytes, more than max_bytes = 100 bytes.*save_to_sql_client_data.*Python function.*load_and",
    ):
        tables.check_table(big, "person", "label", max_bytes=100)
    tables.check_table(big, "person", "label", max_bytes=120)
