"""Parquet export and import of ``conv.df`` and ``conv.events`` (``conv.to_parquet``,
``realtime_nb.read_parquet``), and of many saved sessions as one Hive-partitioned dataset
(``realtime_nb.to_parquet_dataset``).

A plain Parquet round trip loses what the frames rely on: object columns (lists and dicts)
and the categorical dtypes (categories included, also for an empty frame). :func:`to_parquet`
stores object columns as JSON text and records every column's dtype in the file's metadata;
:func:`read_parquet` restores them, from one file or from a dataset directory. Kept apart from
:mod:`realtime_nb.frame` because it works on any such frame, not on the live item frame, and
needs pyarrow only when used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .dtypes import category_dtype, object_array, string_array, string_dtype

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from .saved import Errors
    from .sessions import Paths

_PARQUET_KEY = b"realtime_nb"


def _table(df: pd.DataFrame, partition: Sequence[str] = ()) -> pa.Table:
    """``df`` as an arrow table with JSON text in object columns and every dtype recorded
    (``partition``: the Hive partition columns, whose type a reader infers from paths)."""
    import pandas as pd
    import pyarrow as pa

    json_columns = [c for c in df.columns if df[c].dtype == object]
    out = df.copy(deep=False)
    for c in json_columns:
        out[c] = pd.array([json.dumps(v, ensure_ascii=False) for v in df[c]],
                          dtype=string_dtype())
    meta: dict[str, Any] = {
        "version": 1,
        "json_columns": json_columns,
        "categories": {
            c: [str(v) for v in df[c].cat.categories]
            for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)
        },
        "index": {"name": df.index.name, "dtype": str(df.index.dtype)},
    }
    if partition:
        meta["columns"] = [str(c) for c in df.columns]
        meta["partition"] = {c: str(df[c].dtype) for c in partition}
    table = pa.Table.from_pandas(out, preserve_index=True)
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[_PARQUET_KEY] = json.dumps(meta).encode()
    return table.replace_schema_metadata(schema_meta)


def to_parquet(df: pd.DataFrame, path: str | PathLike[str], **kwargs: Any) -> Path:
    """Write ``conv.df`` or ``conv.events`` so that :func:`read_parquet` gives it back exactly.

    Object columns (``content``, ``metadata``, ``extra``, ``payload``: lists and dicts) are
    stored as JSON text, and every column's dtype (categories included, also for an empty
    frame) is recorded in the file's metadata. Other readers see JSON strings there.
    """
    import pyarrow.parquet as pq

    target = Path(path)
    pq.write_table(_table(df), target, **kwargs)
    return target


def read_parquet(path: str | PathLike[str]) -> pd.DataFrame:
    """Read a file written by :func:`to_parquet` (or ``conv.to_parquet``), or a dataset
    directory written by :func:`to_parquet_dataset`, with every dtype and object cell as it
    was. Files from other writers are read with ``pandas.read_parquet``. A dataset's rows come
    partition by partition (``date`` order), in file order within each."""
    import pandas as pd
    import pyarrow.parquet as pq

    if os.path.isdir(path):
        import pyarrow.dataset as ds

        schema = ds.dataset(path, format="parquet", partitioning="hive").schema
    else:
        schema = pq.read_schema(path)
    raw = (schema.metadata or {}).get(_PARQUET_KEY)
    df = pd.read_parquet(path)
    if raw is None:
        return df
    meta = json.loads(raw)
    for c in meta.get("json_columns", []):
        df[c] = object_array([None if v is pd.NA or v is None else json.loads(v)
                              for v in df[c].tolist()])
    for c, cats in meta.get("categories", {}).items():
        values = df[c].astype(object).where(df[c].notna(), None).tolist()
        extra = dict.fromkeys(v for v in values if v is not None and v not in set(cats))
        df[c] = pd.Categorical(values, dtype=category_dtype([*cats, *map(str, extra)]))
    for c, dtype in meta.get("partition", {}).items():
        if c in meta.get("categories", {}):
            continue
        values = df[c].astype(object).where(df[c].notna(), None).tolist()
        df[c] = (string_array([None if v is None else str(v) for v in values])
                 if dtype == "string" else pd.Series(values, index=df.index).astype(dtype))
    if meta.get("columns"):
        df = df[meta["columns"]]
    index = meta.get("index") or {}
    if index.get("dtype") and str(df.index.dtype) != index["dtype"]:
        df.index = df.index.astype(index["dtype"])
    df.index.name = index.get("name")
    return df


# ------------------------------------------------------------------------------ datasets
def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus ``date``: the UTC date of ``created_at`` (``ts`` for events)."""
    stamps = frame["created_at" if "created_at" in frame.columns else "ts"]
    frame["date"] = string_array([None if d is None or d != d else str(d)
                                  for d in stamps.dt.strftime("%Y-%m-%d").tolist()])
    return frame


def _write_group(paths: list[str], start: int, what: str, errors: Errors, out_dir: str,
                 partition_on: tuple[str, ...]) -> int:
    """Read a group of files and write its rows into the dataset (a worker's task): one file
    per partition, named after the group's first file number so names sort in file order."""
    import pyarrow.parquet as pq

    from .sessions import kind

    frame = _dated(kind(what).group(paths, errors))
    missing = [c for c in partition_on if c not in frame.columns]
    if missing:
        raise ValueError(f"cannot partition on {missing}: not a column of what={what!r}")
    if len(frame):
        pq.write_to_dataset(_table(frame, partition_on), out_dir,
                            partition_cols=list(partition_on),
                            basename_template=f"part-{start:08d}-{{i}}.parquet",
                            existing_data_behavior="overwrite_or_ignore")
    return len(frame)


def to_parquet_dataset(paths: Paths, out_dir: str | PathLike[str], *, what: str = "items",
                       partition_on: Sequence[str] = ("date",), errors: Errors = "raise",
                       workers: int | None = None) -> Path:
    """Write many saved sessions as one Hive-partitioned Parquet dataset (``out_dir``, which
    must not exist or be empty); returns it.

    The rows are ``read_sessions(paths, what=what, errors=errors)`` plus ``date``, the UTC
    date (``YYYY-MM-DD``, pandas ``"string"``) of each row's ``created_at`` (items) or ``ts``
    (events); ``partition_on`` names the columns of the ``col=value`` folders. Every file
    records the dtypes as ``conv.to_parquet`` does, so ``realtime_nb.read_parquet(out_dir)``
    gives the frame back (rows by partition); pandas/pyarrow, DuckDB
    (``read_parquet('out/**/*.parquet', hive_partitioning=true)``) and Spark read it as a
    plain Hive dataset with JSON text in the list and dict columns. Groups of files are read
    and written by the same process pool as ``read_sessions`` (``workers``).
    """
    from .sessions import kind, map_groups, session_paths

    kind(what)  # a clear error before any work
    target = Path(out_dir)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} exists and is not an empty directory")
    target.mkdir(parents=True, exist_ok=True)
    files = session_paths(paths)
    written = map_groups(_write_group, files,
                         args=(what, errors, str(target), tuple(partition_on)),
                         workers=workers, numbered=True, stacklevel=2)
    if not sum(written):  # no rows: one empty file keeps the schema readable
        import pyarrow.parquet as pq

        empty = _dated(kind(what).group([], errors))
        pq.write_table(_table(empty, tuple(partition_on)), target / "part-empty.parquet")
    return target


__all__ = [
    "read_parquet",
    "to_parquet",
    "to_parquet_dataset",
]
