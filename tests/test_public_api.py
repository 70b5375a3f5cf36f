"""The public names of DESIGN.md section 3: tests outside this repo call them."""

from __future__ import annotations

import inspect

import dialogtech_async as dta
from dialogtech_async import parsers

CONTRACT_NAMES = [
    "Session", "InfinitySession", "ClickToRecord", "LeadFlowCall", "ActiveCall",
    "DialogTechError", "ValidationError", "TransportError", "APIStatusError",
    "AuthenticationError", "PermissionDeniedError", "NotFoundError", "RateLimitError",
    "ServerError", "BadRequestError", "ResponseFormatError", "UnsafeXMLError",
    "StreamInterruptedError",
]  # fmt: skip


def keywords(function: object) -> set[str]:
    return set(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_every_contract_name_is_exported_and_in_all() -> None:
    for name in CONTRACT_NAMES:
        assert hasattr(dta, name), name
        assert name in dta.__all__, name
    for name in ("CSVParser", "XMLParser", "JSONParser"):
        assert hasattr(parsers, name), name


def test_public_classes_show_the_package_name() -> None:
    assert repr(dta.Session).startswith("<class 'dialogtech_async.Session'")
    assert dta.ValidationError.__module__ == "dialogtech_async"


def test_session_keywords() -> None:
    common = {"base_url", "timeout", "max_retries", "limits", "http_client"}
    assert {"access_key", "secret_access_key", "api_key"} | common <= keywords(dta.Session)
    assert {"username", "password", "api_key"} | common <= keywords(dta.InfinitySession)


def test_endpoint_keywords() -> None:
    s = dta.Session
    assert {
        "phone_to_call", "id", "type", "page", "ref", "first_callerid", "second_callerid",
    } <= keywords(s.click_to_call)  # fmt: skip
    assert {"menu_id", "phone_to_call"} <= keywords(s.click_to_vr)
    assert {"start_date", "end_date", "format", "click_id", "ref", "window", "concurrency"} <= (
        keywords(s.click_to_report)
    )
    assert {"start_date", "end_date", "set_id", "active", "sid", "window", "concurrency"} <= (
        keywords(s.leadflow_history)
    )
    i = dta.InfinitySession
    assert {"igrp", "tz", "exclude_pii"} <= keywords(i.pbx_active_calls)
    assert {"igrp", "tz", "sort"} <= keywords(i.pbx_user_status)
    assert {"igrp", "call_ref", "src_phone_number"} <= keywords(i.active_call)


def test_error_tree() -> None:
    assert issubclass(dta.ValidationError, ValueError)
    assert issubclass(dta.UnsafeXMLError, dta.ResponseFormatError)
    for name in CONTRACT_NAMES[5:]:
        assert issubclass(getattr(dta, name), dta.DialogTechError), name
    for name in ("AuthenticationError", "PermissionDeniedError", "NotFoundError",
                 "RateLimitError", "ServerError", "BadRequestError"):  # fmt: skip
        assert issubclass(getattr(dta, name), dta.APIStatusError), name
