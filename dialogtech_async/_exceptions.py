"""The exceptions raised by dialogtech-async.

Every error the library raises on purpose is a ``DialogTechError``::

    DialogTechError
    ├── ValidationError          bad arguments, raised before anything is sent (also a ValueError)
    ├── SessionClosedError       a request on a session that was closed (also a RuntimeError)
    ├── TransportError           connect, read and timeout failures (``__cause__``: the httpx error)
    │   └── StreamInterruptedError   the connection broke after records were delivered
    ├── APIStatusError           the API answered with an error (HTTP status or in-band message)
    │   ├── BadRequestError          400, or a validation message in the body
    │   ├── AuthenticationError      401, or an in-band "invalid account"
    │   ├── PermissionDeniedError    403
    │   ├── NotFoundError            404
    │   ├── RateLimitError           429 (``retry_after``)
    │   └── ServerError              5xx
    └── ResponseFormatError      a malformed body (``record_index``, ``byte_offset``)
        └── UnsafeXMLError           entity declarations, external references, external DTDs

Messages never contain secrets: URLs are redacted before they are put in an error.
"""

from __future__ import annotations

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "DialogTechError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseFormatError",
    "ServerError",
    "SessionClosedError",
    "StreamInterruptedError",
    "TransportError",
    "UnsafeXMLError",
    "ValidationError",
    "in_band_error",
    "status_error",
]


class DialogTechError(Exception):
    """Base class of every error raised by dialogtech-async."""


class ValidationError(DialogTechError, ValueError):
    """An argument is invalid; nothing was sent.

    ``parameter`` names the offending argument.
    """

    def __init__(self, message: str, *, parameter: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class SessionClosedError(DialogTechError, RuntimeError):
    """The session was closed (or never opened) when a request was made."""


class TransportError(DialogTechError):
    """The request could not be sent or the response could not be read.

    The httpx exception is chained as ``__cause__``.
    """


class StreamInterruptedError(TransportError):
    """The connection broke after records had been delivered.

    Such a stream is never retried behind the caller's back, since the records already
    delivered would be repeated. ``records_delivered`` says how many were.
    """

    def __init__(self, message: str, *, records_delivered: int) -> None:
        super().__init__(message)
        self.records_delivered = records_delivered


class APIStatusError(DialogTechError):
    """The API reported an error, by HTTP status or in the body of a 200 response.

    ``status_code`` is the HTTP status (200 for in-band errors); ``message`` the API's text.
    """

    def __init__(self, message: str, *, status_code: int, url: str | None = None) -> None:
        where = f" ({url})" if url else ""
        super().__init__(f"HTTP {status_code}: {message}{where}")
        self.message = message
        self.status_code = status_code
        self.url = url


class BadRequestError(APIStatusError):
    """The API rejected the request's parameters (400 or an in-band validation message)."""


class AuthenticationError(APIStatusError):
    """The credentials were missing or wrong (401 or an in-band "invalid account")."""


class PermissionDeniedError(APIStatusError):
    """The credentials are valid but not allowed to do this (403)."""


class NotFoundError(APIStatusError):
    """The resource does not exist (404)."""


class RateLimitError(APIStatusError):
    """Too many requests (429); ``retry_after`` is the delay the server asked for, in seconds."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, url=url)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """The API failed on its side (5xx)."""


class ResponseFormatError(DialogTechError):
    """The response body is malformed.

    ``record_index`` is the 0-based index of the record being read when the problem was
    found and ``byte_offset`` the position in the body, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        record_index: int | None = None,
        byte_offset: int | None = None,
    ) -> None:
        where = [
            f"{name} {value}"
            for name, value in (("record", record_index), ("byte offset", byte_offset))
            if value is not None
        ]
        super().__init__(f"{message} (at {', '.join(where)})" if where else message)
        self.record_index = record_index
        self.byte_offset = byte_offset


class UnsafeXMLError(ResponseFormatError):
    """The XML declares entities or references external resources; it was not expanded."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
}


def status_error(
    status_code: int,
    message: str,
    *,
    url: str | None = None,
    retry_after: float | None = None,
) -> APIStatusError:
    """Build the typed error for an HTTP error status."""
    if status_code == 429:
        return RateLimitError(message, status_code=429, url=url, retry_after=retry_after)
    if status_code >= 500:
        return ServerError(message, status_code=status_code, url=url)
    return _STATUS_ERRORS.get(status_code, APIStatusError)(
        message, status_code=status_code, url=url
    )


# Words by which the APIs' in-band messages say what went wrong, most specific first.
_IN_BAND_KINDS: tuple[tuple[tuple[str, ...], type[APIStatusError]], ...] = (
    (("access denied", "permission", "forbidden"), PermissionDeniedError),
    (("auth", "invalid account", "access key", "credential", "unauthori"), AuthenticationError),
    (("rate limit", "too many"), RateLimitError),
    (("not found",), NotFoundError),
)


def in_band_error(message: str, *, url: str | None = None) -> APIStatusError:
    """Build the typed error for a message the API sent in the body of a 200 response."""
    lowered = message.lower()
    for words, kind in _IN_BAND_KINDS:
        if any(word in lowered for word in words):
            return kind(message, status_code=200, url=url)
    return BadRequestError(message, status_code=200, url=url)
