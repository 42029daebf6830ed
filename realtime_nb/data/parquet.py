"""Parquet export and import of ``conv.df`` and ``conv.events`` (``conv.to_parquet``,
``realtime_nb.read_parquet``).

A plain Parquet round trip loses what the frames rely on: object columns (lists and dicts)
and the categorical dtypes (categories included, also for an empty frame). :func:`to_parquet`
stores object columns as JSON text and records every column's dtype in the file's metadata;
:func:`read_parquet` restores them. Kept apart from :mod:`realtime_nb.frame` because it works
on any such frame, not on the live item frame, and needs pyarrow only when used.
"""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .dtypes import category_dtype, object_array, string_dtype

if TYPE_CHECKING:
    import pandas as pd

_PARQUET_KEY = b"realtime_nb"


def to_parquet(df: pd.DataFrame, path: str | PathLike[str], **kwargs: Any) -> Path:
    """Write ``conv.df`` or ``conv.events`` so that :func:`read_parquet` gives it back exactly.

    Object columns (``content``, ``metadata``, ``extra``, ``payload``: lists and dicts) are
    stored as JSON text, and every column's dtype (categories included, also for an empty
    frame) is recorded in the file's metadata. Other readers see JSON strings there.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    json_columns = [c for c in df.columns if df[c].dtype == object]
    out = df.copy(deep=False)
    for c in json_columns:
        out[c] = pd.array([json.dumps(v, ensure_ascii=False) for v in df[c]],
                          dtype=string_dtype())
    meta = {
        "version": 1,
        "json_columns": json_columns,
        "categories": {
            c: [str(v) for v in df[c].cat.categories]
            for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)
        },
        "index": {"name": df.index.name, "dtype": str(df.index.dtype)},
    }
    table = pa.Table.from_pandas(out, preserve_index=True)
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[_PARQUET_KEY] = json.dumps(meta).encode()
    target = Path(path)
    pq.write_table(table.replace_schema_metadata(schema_meta), target, **kwargs)
    return target


def read_parquet(path: str | PathLike[str]) -> pd.DataFrame:
    """Read a file written by :func:`to_parquet` (or ``conv.to_parquet``) with every dtype and
    object cell as it was. Files from other writers are read with ``pandas.read_parquet``."""
    import pandas as pd
    import pyarrow.parquet as pq

    schema_meta = pq.read_schema(path).metadata or {}
    raw = schema_meta.get(_PARQUET_KEY)
    df = pd.read_parquet(path)
    if raw is None:
        return df
    meta = json.loads(raw)
    for c in meta.get("json_columns", []):
        df[c] = object_array([None if v is pd.NA or v is None else json.loads(v)
                              for v in df[c].tolist()])
    for c, cats in meta.get("categories", {}).items():
        dtype = category_dtype(cats)
        values = df[c].astype(object).where(df[c].notna(), None)
        df[c] = pd.Categorical(values.tolist(), dtype=dtype)
    index = meta.get("index") or {}
    if index.get("dtype") and str(df.index.dtype) != index["dtype"]:
        df.index = df.index.astype(index["dtype"])
    df.index.name = index.get("name")
    return df



__all__ = [
    "read_parquet",
    "to_parquet",
]
