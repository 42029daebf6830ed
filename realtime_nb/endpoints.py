"""Where to connect and how to authenticate: OpenAI (GA or beta), Yandex AI Studio, any URL.

An :class:`Endpoint` keeps its headers private: its ``repr``, ``name`` and everything it hands to
logs, widgets and errors are redacted, so a key given here never reaches a notebook file.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .core.protocol import DIALECT_NAMES as DIALECTS
from .errors import RealtimeError

if TYPE_CHECKING:
    from .server import EmbeddedServer

OPENAI_URL = "wss://api.openai.com/v1/realtime"
YANDEX_URL = "wss://ai.api.cloud.yandex.net/v1/realtime"
OPENAI_DEFAULT_MODEL = "gpt-realtime"
YANDEX_DEFAULT_MODEL = "speech-realtime-250923"
PROVIDERS = ("embedded", "openai", "yandex")

_SECRET_HEADERS = {"authorization", "api-key", "x-api-key", "openai-api-key", "cookie"}


class EndpointError(RealtimeError, ValueError):
    """The endpoint cannot be used as given (no key, unknown provider, bad dialect)."""


@dataclass(frozen=True)
class Endpoint:
    """A resolved WebSocket endpoint. ``headers`` may hold secrets and never leave this object
    except into the WebSocket handshake."""

    url: str
    dialect: str = "ga"
    provider: str = "custom"
    model: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """A display name safe for widgets and logs: provider, model and URL without query."""
        base = redact_url(self.url)
        if self.provider == "embedded":
            return f"embedded {base}"
        label = self.provider if self.provider != "custom" else base
        return f"{label} {self.model}" if self.model and self.provider != "custom" else label

    def redacted_headers(self) -> dict[str, str]:
        return redact_headers(self.headers)

    def __repr__(self) -> str:
        return (
            f"Endpoint(url={redact_url(self.url)!r}, provider={self.provider!r}, "
            f"dialect={self.dialect!r}, model={self.model!r}, headers={self.redacted_headers()!r})"
        )


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with every credential replaced by ``<redacted>``."""
    return {k: ("<redacted>" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


def redact_url(url: str) -> str:
    """The URL without query string or user info (queries may carry keys in some set-ups)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _with_query(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update({k: v for k, v in params.items() if v is not None})
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query, safe=":/")))


def _check_dialect(dialect: str) -> str:
    if dialect not in DIALECTS:
        raise EndpointError(f"dialect must be one of {', '.join(DIALECTS)}, got {dialect!r}")
    return dialect


def openai_endpoint(
    model: str | None = None,
    *,
    api_key: str | None = None,
    dialect: str = "ga",
    url: str | None = None,
) -> Endpoint:
    """OpenAI Realtime: ``Authorization: Bearer`` with ``OPENAI_API_KEY``; beta adds its header."""
    dialect = _check_dialect(dialect)
    key = api_key or os.environ.get("OPENAI_API_KEY")
    if not key:
        raise EndpointError("no OpenAI key: pass api_key=... or set OPENAI_API_KEY")
    model = model or OPENAI_DEFAULT_MODEL
    headers = {"Authorization": f"Bearer {key}"}
    if dialect == "beta":
        headers["OpenAI-Beta"] = "realtime=v1"
    return Endpoint(_with_query(url or OPENAI_URL, model=model), dialect, "openai", model, headers)


def yandex_endpoint(
    model: str | None = None,
    *,
    api_key: str | None = None,
    iam_token: str | None = None,
    folder_id: str | None = None,
    url: str | None = None,
) -> Endpoint:
    """Yandex AI Studio: ``Api-Key`` (``YANDEX_API_KEY``) or ``Bearer`` IAM token
    (``YANDEX_IAM_TOKEN``); the model URI ``gpt://<folder>/speech-realtime-250923`` is built
    from ``YANDEX_FOLDER_ID`` when only a folder is known. The default URL is the one Yandex's
    current examples use (``wss://ai.api.cloud.yandex.net/v1/realtime?model=...``); ``url=``
    reaches the older ``/v1/realtime/openai`` path or the ``rest-assistant`` host."""
    key = api_key or os.environ.get("YANDEX_API_KEY")
    token = iam_token or os.environ.get("YANDEX_IAM_TOKEN")
    if key:
        headers = {"Authorization": f"Api-Key {key}"}
    elif token:
        headers = {"Authorization": f"Bearer {token}"}
    else:
        raise EndpointError(
            "no Yandex credentials: pass api_key=... (or iam_token=...), "
            "or set YANDEX_API_KEY (or YANDEX_IAM_TOKEN)"
        )
    if model is None or not model.startswith("gpt://"):
        folder = folder_id or os.environ.get("YANDEX_FOLDER_ID")
        if not folder:
            raise EndpointError(
                "no Yandex model URI: pass model='gpt://<folder>/speech-realtime-250923', "
                "folder_id=..., or set YANDEX_FOLDER_ID"
            )
        model = f"gpt://{folder}/{model or YANDEX_DEFAULT_MODEL}"
    return Endpoint(_with_query(url or YANDEX_URL, model=model), "yandex", "yandex", model, headers)


def custom_endpoint(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    dialect: str = "ga",
    model: str | None = None,
) -> Endpoint:
    """Any Realtime-compatible WebSocket URL (``ws://`` or ``wss://``)."""
    if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
        raise EndpointError(f"url must start with ws:// or wss://, got {redact_url(str(url))!r}")
    if model:
        url = _with_query(url, model=model)
    return Endpoint(url, _check_dialect(dialect), "custom", model, dict(headers or {}))


def resolve_endpoint(
    provider: str | None = None,
    *,
    model: str | None = None,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
    dialect: str | None = None,
    api_key: str | None = None,
    iam_token: str | None = None,
    folder_id: str | None = None,
) -> tuple[Endpoint, EmbeddedServer | None]:
    """Turn ``connect()``'s arguments into an endpoint (starting the embedded server if used)."""
    if provider in (None, "embedded") and url is None:
        from .server import default_server

        server = default_server()
        chosen = dialect or "ga"
        base = server.url if chosen == "ga" else protocol_url(server.url, chosen)
        ep = custom_endpoint(base, dialect=chosen, model=model or "embedded")
        return replace(ep, provider="embedded"), server
    if provider == "openai":
        return openai_endpoint(model, api_key=api_key, dialect=dialect or "ga", url=url), None
    if provider == "yandex":
        if dialect not in (None, "yandex"):
            raise EndpointError("the yandex provider speaks the 'yandex' dialect")
        return yandex_endpoint(model, api_key=api_key, iam_token=iam_token,
                               folder_id=folder_id, url=url), None
    if provider is None and url is not None:
        return custom_endpoint(url, headers=headers, dialect=dialect or "ga", model=model), None
    raise EndpointError(
        f"unknown provider {provider!r}: use 'embedded' (default), 'openai', 'yandex', or url=..."
    )


def protocol_url(url: str, dialect: str) -> str:
    """The embedded server's URL asking for a dialect (the server reads ``?dialect=``)."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}dialect={dialect}"
