"""Keeping secrets out of logs, reprs and error messages: they become ``***``."""

from __future__ import annotations

import base64
import logging
import threading
from collections import Counter
from collections.abc import Collection
from urllib.parse import quote, quote_plus

import httpx

REDACTED = "***"
#: Query parameters whose values are secrets wherever they appear.
SECRET_PARAMS = frozenset({"secret_access_key", "api_key", "password", "token"})
#: The loggers that may print a request line: httpx's own and httpcore's tracing.
_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "dialogtech_async",
)


def secret_forms(secret: str) -> set[str]:
    """The spellings a secret may take on the way out: raw, URL-quoted, Basic-encoded."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    return {form for form in forms if form}


def basic_token(username: str, password: str) -> str:
    """The token of an HTTP Basic Authorization header (itself a secret)."""
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


class _SecretFilter(logging.Filter):
    """Rewrites log records that contain a registered secret.

    Registration is counted, so two sessions sharing a secret may close in any order.
    """

    def __init__(self) -> None:
        super().__init__("dialogtech_async.redact")
        self._secrets: Counter[str] = Counter()
        self._lock = threading.Lock()
        # What filter() reads: replaced whole, never changed in place, so records logged
        # from other threads need no lock.
        self._current: frozenset[str] = frozenset()

    def add(self, secrets: set[str]) -> None:
        with self._lock:
            self._secrets.update(secrets)
            self._current = frozenset(self._secrets)

    def remove(self, secrets: set[str]) -> None:
        with self._lock:
            self._secrets.subtract(secrets)
            self._secrets = +self._secrets  # drop the ones no session holds any more
            self._current = frozenset(self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        current = self._current
        if current:
            message = record.getMessage()
            redacted = redact_text(message, current)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


_FILTER = _SecretFilter()
for _name in _LOGGERS:
    logging.getLogger(_name).addFilter(_FILTER)


def register_secrets(secrets: set[str]) -> None:
    """Redact ``secrets`` from the HTTP loggers' records until ``unregister_secrets``."""
    _FILTER.add(secrets)


def unregister_secrets(secrets: set[str]) -> None:
    """Undo one ``register_secrets`` of the same secrets."""
    _FILTER.remove(secrets)


def redact_text(text: str, secrets: Collection[str]) -> str:
    """``text`` with every form of ``secrets`` replaced by ``***``."""
    # Longest first, so a secret containing another is replaced whole.
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def mask(value: str | None) -> str | None:
    """How a secret shows in a repr."""
    return None if value is None else REDACTED


def redact_url(url: httpx.URL | str) -> str:
    """``url`` with the values of secret query parameters replaced by ``***``."""
    url = httpx.URL(url)
    params = [
        (key, REDACTED if key in SECRET_PARAMS else value)
        for key, value in url.params.multi_items()
    ]
    if not params:
        return str(url)
    return str(url.copy_with(params=params)).replace(quote(REDACTED, safe=""), REDACTED)


class RedactedRequest(httpx.Request):
    """An ``httpx.Request`` whose repr hides the secret query parameters.

    A request is kept by httpx's exceptions (``exc.request``) and sits in the locals of
    every frame that handled it, which error trackers record; the plain repr shows the
    whole URL, ``secret_access_key`` included.
    """

    def __repr__(self) -> str:
        return f"<Request({self.method!r}, {redact_url(self.url)!r})>"


def hide_secrets(request: httpx.Request) -> httpx.Request:
    """``request`` itself, from now on with the repr of a ``RedactedRequest``."""
    request.__class__ = RedactedRequest
    return request
