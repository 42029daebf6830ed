"""The dtypes of ``conv.df`` / ``conv.events`` columns and the conversions of Python values
into the raw arrays :mod:`.columns` stores (timestamps as int64 nanoseconds, categories as
codes, strings as arrow arrays).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_NAT = -(2**63)
_DTYPES: dict[tuple[str, ...], Any] = {}


def string_dtype() -> pd.StringDtype:
    """The dtype of text columns: pandas ``"string"`` (missing values are ``pd.NA``)."""
    import pandas as pd

    return pd.StringDtype()


def category_dtype(categories: Sequence[str]) -> pd.CategoricalDtype:
    """An unordered categorical dtype with ``str`` categories (made once per category set)."""
    key = tuple(categories)
    dtype = _DTYPES.get(key)
    if dtype is None:
        import pandas as pd

        dtype = pd.CategoricalDtype(pd.Index(list(key), dtype="str"), ordered=False)
        if len(_DTYPES) < 256:
            _DTYPES[key] = dtype
    return dtype


def arrow_strings(values: Sequence[Any]) -> Any:
    """One arrow ``large_string`` array (non-strings other than None become ``str``)."""
    import pyarrow as pa

    try:
        return pa.array(values, type=pa.large_string())
    except (TypeError, ValueError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.large_string())


def uses_arrow(dtype: Any) -> bool:
    if getattr(dtype, "storage", None) != "pyarrow":
        return False
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover - pandas would not pick arrow storage then
        return False
    return True


def string_array(values: Sequence[str | None], dtype: Any = None) -> Any:
    """A ``"string"`` array (or ``dtype``, another string dtype) from str/None values.

    With arrow storage the values go straight into one arrow array (4x faster than
    ``pd.array``).
    """
    import pandas as pd

    dtype = string_dtype() if dtype is None else dtype
    if uses_arrow(dtype):
        return pd.arrays.ArrowStringArray(arrow_strings(values), dtype=dtype)
    return pd.array(list(values), dtype=dtype)


def object_array(values: Sequence[Any]) -> np.ndarray:
    """A 1-d object array holding each value as it is (lists stay single cells)."""
    import numpy as np

    return np.fromiter(values, dtype=object, count=len(values))


def timestamp_ns(seconds: Any) -> np.ndarray:
    """Epoch nanoseconds (int64; NaT for NaN/None) from float epoch seconds. The one
    conversion every timestamp goes through, so a frame rebuilt from a saved log has exactly
    the same timestamps."""
    import numpy as np

    if not isinstance(seconds, np.ndarray):
        obj = np.array(seconds, dtype=object).reshape(len(seconds))
        obj[obj == None] = np.nan  # noqa: E711 - elementwise
        seconds = obj.astype(np.float64)
    missing = np.isnan(seconds)
    ns = np.round(np.where(missing, 0.0, seconds) * 1e9).astype(np.int64)
    ns[missing] = _NAT
    return ns


def timestamp_array(seconds: Any) -> Any:
    """``datetime64[ns, UTC]`` from float epoch seconds (NaN/None -> NaT)."""
    return datetimes(timestamp_ns(seconds))


def datetimes(ns: np.ndarray) -> Any:
    import pandas as pd

    return pd.array(ns.view("M8[ns]"), dtype=pd.DatetimeTZDtype("ns", "UTC"))


def codes_dtype(n_categories: int) -> Any:
    import numpy as np

    return np.int8 if n_categories < 127 else np.int16 if n_categories < 32000 else np.int32


def raw_values(kind: str, values: Sequence[Any], codes: Mapping[str, int] | None = None
               ) -> tuple[np.ndarray, ...]:
    """Python values as the numpy arrays of a buffer kind (``None``/NaN = missing)."""
    import numpy as np

    n = len(values)
    if kind == "object":
        return (object_array(values),)
    if kind == "datetime":
        return (timestamp_ns(values),)
    if kind == "Float64" and isinstance(values, np.ndarray):
        data = values.astype(np.float64)
        return data, np.isnan(data)
    if kind in ("Int64", "Float64"):
        obj = np.array(values, dtype=object).reshape(n)  # scalars only: no nesting
        mask = obj == None  # noqa: E711 - elementwise
        if kind == "Float64":
            obj[mask] = np.nan
            data = obj.astype(np.float64)
            return data, mask | np.isnan(data)
        obj[mask] = 0
        return obj.astype(np.int64), mask
    if kind == "bool":
        return (np.array(values, dtype=bool).reshape(n),)
    if kind == "int64":
        return (np.array(values, dtype=np.int64).reshape(n),)
    if kind == "category":
        assert codes is not None
        lookup = {**codes, None: -1}
        return (np.fromiter(map(lookup.__getitem__, values), dtype=codes_dtype(len(codes)),
                            count=n),)
    raise ValueError(f"not a buffer kind: {kind}")


__all__ = [
    "arrow_strings", "category_dtype", "codes_dtype", "datetimes", "object_array", "raw_values",
    "string_array", "string_dtype", "timestamp_array", "timestamp_ns", "uses_arrow",
]
