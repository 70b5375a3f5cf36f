"""The exception tree of DESIGN.md section 3 and the status / in-band error mapping."""

from __future__ import annotations

import pytest

import dialogtech_async as dta
from dialogtech_async._exceptions import in_band_error, status_error

ALL_ERRORS = [
    dta.ValidationError,
    dta.SessionClosedError,
    dta.TransportError,
    dta.StreamInterruptedError,
    dta.APIStatusError,
    dta.BadRequestError,
    dta.AuthenticationError,
    dta.PermissionDeniedError,
    dta.NotFoundError,
    dta.RateLimitError,
    dta.ServerError,
    dta.ResponseFormatError,
    dta.UnsafeXMLError,
]


@pytest.mark.parametrize("error_type", ALL_ERRORS)
def test_every_error_is_a_dialogtech_error(error_type: type[Exception]) -> None:
    assert issubclass(error_type, dta.DialogTechError)
    assert issubclass(dta.DialogTechError, Exception)
    assert error_type.__name__ in dta.__all__
    assert error_type.__module__ == "dialogtech_async"


@pytest.mark.parametrize(
    "error_type",
    [
        dta.BadRequestError,
        dta.AuthenticationError,
        dta.PermissionDeniedError,
        dta.NotFoundError,
        dta.RateLimitError,
        dta.ServerError,
    ],
)
def test_api_status_errors(error_type: type[dta.APIStatusError]) -> None:
    assert issubclass(error_type, dta.APIStatusError)
    assert not issubclass(error_type, (dta.TransportError, dta.ResponseFormatError))


def test_branches_are_separate() -> None:
    branches = [dta.TransportError, dta.APIStatusError, dta.ResponseFormatError]
    for branch in branches:
        for other in branches:
            assert issubclass(branch, other) == (branch is other)
    assert not issubclass(dta.ResponseFormatError, ValueError)


def test_validation_error_is_a_value_error() -> None:
    error = dta.ValidationError("start_date must be before end_date", parameter="start_date")
    assert isinstance(error, ValueError)
    assert isinstance(error, dta.DialogTechError)
    assert error.parameter == "start_date"
    assert str(error) == "start_date must be before end_date"
    with pytest.raises(ValueError, match="before end_date"):
        raise error


def test_session_closed_error_is_a_runtime_error() -> None:
    assert issubclass(dta.SessionClosedError, RuntimeError)


def test_stream_interrupted_error_says_how_many_records() -> None:
    error = dta.StreamInterruptedError(
        "connection lost after 1,204 records", records_delivered=1204
    )
    assert isinstance(error, dta.TransportError)
    assert error.records_delivered == 1204
    assert "1,204" in str(error)


def test_api_status_error_attributes() -> None:
    error = dta.APIStatusError("limit too big", status_code=400, url="https://x.test/r?limit=***")
    assert error.status_code == 400
    assert error.message == "limit too big"
    assert error.url == "https://x.test/r?limit=***"
    assert "400" in str(error)
    assert "limit too big" in str(error)
    assert dta.APIStatusError("m", status_code=500).url is None


def test_rate_limit_error_retry_after() -> None:
    error = dta.RateLimitError("slow down", retry_after=2.5)
    assert error.retry_after == 2.5
    assert error.status_code == 429
    assert dta.RateLimitError("slow down").retry_after is None


def test_response_format_error_says_where() -> None:
    error = dta.ResponseFormatError("bad row", record_index=3, byte_offset=120)
    assert (error.record_index, error.byte_offset) == (3, 120)
    assert "bad row" in str(error)
    assert "record 3" in str(error)
    assert "byte offset 120" in str(error)
    bare = dta.ResponseFormatError("bad body")
    assert (bare.record_index, bare.byte_offset) == (None, None)
    assert str(bare) == "bad body"
    assert "record 0" in str(dta.ResponseFormatError("x", record_index=0))


def test_unsafe_xml_error_is_a_response_format_error() -> None:
    error = dta.UnsafeXMLError("entity declared", record_index=0, byte_offset=50)
    assert isinstance(error, dta.ResponseFormatError)
    assert error.byte_offset == 50
    with pytest.raises(dta.ResponseFormatError):
        raise error


# --- status_error -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, dta.BadRequestError),
        (401, dta.AuthenticationError),
        (403, dta.PermissionDeniedError),
        (404, dta.NotFoundError),
        (429, dta.RateLimitError),
        (500, dta.ServerError),
        (502, dta.ServerError),
        (503, dta.ServerError),
        (504, dta.ServerError),
    ],
)
def test_status_error(status: int, error_type: type[dta.APIStatusError]) -> None:
    error = status_error(status, "text from the API", url="https://api.test/x")
    assert type(error) is error_type
    assert error.status_code == status
    assert error.message == "text from the API"
    assert error.url == "https://api.test/x"


def test_status_error_for_infinity_messages() -> None:
    # Infinity: 401 "auth required", 403 "access denied" (DESIGN.md section 3).
    assert type(status_error(401, "auth required")) is dta.AuthenticationError
    assert type(status_error(403, "access denied")) is dta.PermissionDeniedError


def test_status_error_passes_retry_after() -> None:
    error = status_error(429, "Too Many Requests", retry_after=7.0)
    assert isinstance(error, dta.RateLimitError)
    assert error.retry_after == 7.0


@pytest.mark.parametrize("status", [405, 409, 418])
def test_other_statuses_are_api_status_errors(status: int) -> None:
    error = status_error(status, "no")
    assert isinstance(error, dta.APIStatusError)
    assert error.status_code == status
    assert not isinstance(error, (dta.ServerError, dta.RateLimitError))


# --- in_band_error ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "error_type"),
    [
        ("auth required", dta.AuthenticationError),
        ("INVALID ACCOUNT", dta.AuthenticationError),
        ("Invalid account", dta.AuthenticationError),
        ("access denied", dta.PermissionDeniedError),
        ("Access Denied", dta.PermissionDeniedError),
        ("failed", dta.BadRequestError),
        ("startDate: invalid date format", dta.BadRequestError),
    ],
)
def test_in_band_error(message: str, error_type: type[dta.APIStatusError]) -> None:
    error = in_band_error(message, url="https://secure.test/ibp_api.php?secret_access_key=***")
    assert type(error) is error_type
    assert error.status_code == 200  # the API answered 200 with an error in the body
    assert error.message == message
    assert error.url is not None
    assert error.url.endswith("***")
