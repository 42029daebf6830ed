"""``rnb.prices``: USD per million tokens by model, and the cost of one ``response.done`` usage.

The table is an ordinary pandas DataFrame indexed by model with the columns
:data:`PRICE_COLUMNS` (``Float64``; ``<NA>`` where no price is published). Edit it in place
(``rnb.prices.loc["my-model"] = [...]``) and every later ``conv.turns`` / ``conv.cost()`` uses
the new numbers; ``rnb.price_sources`` says where each seeded row comes from and when it was
read. A model that is not in the table (or a token kind whose price is ``<NA>``) gives a
``<NA>`` cost, never a guess.

Cached input tokens are priced as cached and only as cached: the usage's ``text_tokens`` and
``audio_tokens`` include the cached ones, so a turn pays ``(text - cached_text) *
input_text + cached_text * cached_input_text`` (and the same for audio).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: The price columns, USD per 1,000,000 tokens.
PRICE_COLUMNS: tuple[str, ...] = (
    "input_text", "cached_input_text", "output_text",
    "input_audio", "cached_input_audio", "output_audio",
)

_OPENAI_MODELS = "https://developers.openai.com/api/docs/models/"
_CHECKED = "2026-11-30"
_NO = None  # no published per-token price

#: (model, the six prices in PRICE_COLUMNS order, source, date read). A dated snapshot is
#: listed only where the provider's page gives it the alias's prices (the 2024-10-01
#: gpt-4o-realtime-preview snapshot, for one, cost more: it is deliberately absent).
SEED: tuple[tuple[str, tuple[float | None, ...], str, str], ...] = (
    ("gpt-realtime", (4.00, 0.40, 16.00, 32.00, 0.40, 64.00),
     f"{_OPENAI_MODELS}compare?model=gpt-realtime (text); OpenAI's gpt-realtime launch "
     "and pricing page (audio)", _CHECKED),
    ("gpt-realtime-2025-08-28", (4.00, 0.40, 16.00, 32.00, 0.40, 64.00),
     "the snapshot behind gpt-realtime (same prices)", _CHECKED),
    ("gpt-realtime-mini", (0.60, 0.06, 2.40, 10.00, 0.30, 20.00),
     f"{_OPENAI_MODELS}gpt-realtime-2.1-mini (its comparison with GPT-Realtime Mini) and "
     "OpenAI's pricing page", _CHECKED),
    ("gpt-realtime-mini-2025-10-06", (0.60, 0.06, 2.40, 10.00, 0.30, 20.00),
     "the first snapshot behind gpt-realtime-mini (same prices)", _CHECKED),
    ("gpt-realtime-1.5", (4.00, 0.40, 16.00, 32.00, 0.40, 64.00),
     f"{_OPENAI_MODELS}gpt-realtime-1.5", _CHECKED),
    ("gpt-4o-realtime-preview", (5.00, 2.50, 20.00, 40.00, 2.50, 80.00),
     f"{_OPENAI_MODELS}gpt-4o-realtime-preview", _CHECKED),
    ("gpt-4o-realtime-preview-2024-12-17", (5.00, 2.50, 20.00, 40.00, 2.50, 80.00),
     f"{_OPENAI_MODELS}gpt-4o-realtime-preview (its default snapshot)", _CHECKED),
    ("gpt-4o-mini-realtime-preview", (0.60, 0.30, 2.40, 10.00, 0.30, 20.00),
     f"{_OPENAI_MODELS}gpt-4o-mini-realtime-preview", _CHECKED),
    ("gpt-4o-mini-realtime-preview-2024-12-17", (0.60, 0.30, 2.40, 10.00, 0.30, 20.00),
     f"{_OPENAI_MODELS}gpt-4o-mini-realtime-preview (its default snapshot)", _CHECKED),
    ("speech-realtime-250923", (_NO,) * 6,
     "Yandex AI Studio publishes no per-token price for the Realtime API "
     "(yandex.cloud/en/docs/ai-studio pricing pages searched): every cost is <NA>", _CHECKED),
)


def _build() -> tuple[pd.DataFrame, pd.DataFrame]:
    import pandas as pd

    index = pd.Index([row[0] for row in SEED], dtype="object", name="model")
    prices = pd.DataFrame({col: pd.array([row[1][i] for row in SEED], dtype="Float64")
                           for i, col in enumerate(PRICE_COLUMNS)}, index=index)
    sources = pd.DataFrame({"source": pd.array([row[2] for row in SEED], dtype="string"),
                            "checked": pd.array([row[3] for row in SEED], dtype="string")},
                           index=index.copy())
    return prices, sources


#: The price table (``rnb.prices``): edit it in place.
PRICES, PRICE_SOURCES = _build()


def default_prices() -> pd.DataFrame:
    """A fresh copy of the seeded table (to undo edits: ``rnb.prices[:] = ...``)."""
    return _build()[0]


def price_row(model: str | None, prices: pd.DataFrame | None = None) -> pd.Series | None:
    """The prices of ``model`` (``None`` when the table has no such model). A Yandex model URI
    (``gpt://<folder>/speech-realtime-250923[/latest]``) is looked up by its model name."""
    table = PRICES if prices is None else prices
    if not model:
        return None
    candidates = [model]
    if model.startswith("gpt://"):
        parts = model[len("gpt://"):].split("/")
        candidates += [p for p in parts[1:2]]
    for name in candidates:
        if name in table.index:
            row = table.loc[name]
            return row.iloc[-1] if getattr(row, "ndim", 1) > 1 else row
    return None


def _tokens(details: Mapping[str, Any], key: str) -> int | None:
    value = details.get(key)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def usage_cost(usage: Mapping[str, Any] | None, model: str | None,
               prices: pd.DataFrame | None = None) -> float | None:
    """USD for one ``response.done`` usage object under ``model``'s prices; ``None`` (shown
    as ``<NA>``) when the model is unknown, a needed price is ``<NA>``, or the usage cannot be
    split into text and audio without guessing (image tokens have no price column)."""
    import pandas as pd

    if not isinstance(usage, Mapping):
        return None
    row = price_row(model, prices)
    if row is None:
        return None
    in_d = usage.get("input_token_details") or {}
    out_d = usage.get("output_token_details") or {}
    if not isinstance(in_d, Mapping) or not isinstance(out_d, Mapping):
        return None
    if _tokens(in_d, "image_tokens"):
        return None
    split = _split(_tokens(usage, "input_tokens") or 0, _tokens(in_d, "text_tokens"),
                   _tokens(in_d, "audio_tokens"))
    out = _split(_tokens(usage, "output_tokens") or 0, _tokens(out_d, "text_tokens"),
                 _tokens(out_d, "audio_tokens"))
    if split is None or out is None:
        return None
    text, audio = split
    cached = _cached(in_d, text, audio)
    if cached is None:
        return None
    cached_text, cached_audio = cached
    counts = {
        "input_text": text - cached_text, "cached_input_text": cached_text,
        "output_text": out[0], "input_audio": audio - cached_audio,
        "cached_input_audio": cached_audio, "output_audio": out[1],
    }
    total = 0.0
    for column, count in counts.items():
        if count < 0:
            return None  # inconsistent usage: no number rather than a wrong one
        if count == 0:
            continue
        price = row.get(column)
        if price is None or pd.isna(price):
            return None
        total += count * float(price) / 1_000_000
    return total


def _split(total: int, text: int | None, audio: int | None) -> tuple[int, int] | None:
    """(text, audio) tokens; a missing side is what the total leaves, both missing only
    works for a total of 0."""
    if text is None and audio is None:
        return (0, 0) if total == 0 else None
    if text is None:
        text = max(total - (audio or 0), 0)
    if audio is None:
        audio = max(total - text, 0)
    return text, audio


def _cached(details: Mapping[str, Any], text: int, audio: int) -> tuple[int, int] | None:
    cached = _tokens(details, "cached_tokens") or 0
    split = details.get("cached_tokens_details")
    if isinstance(split, Mapping) and (_tokens(split, "text_tokens") is not None
                                       or _tokens(split, "audio_tokens") is not None):
        if _tokens(split, "image_tokens"):
            return None
        return _tokens(split, "text_tokens") or 0, _tokens(split, "audio_tokens") or 0
    if cached == 0:
        return 0, 0
    if audio == 0:
        return cached, 0
    if text == 0:
        return 0, cached
    return None  # cached tokens of both kinds, not said how many of each


__all__ = ["PRICES", "PRICE_COLUMNS", "PRICE_SOURCES", "SEED", "default_prices", "price_row",
           "usage_cost"]
