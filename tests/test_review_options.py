"""Options a careless user gets wrong on a session already built: ``with_options()``
and ``RetryPolicy``. Each is a ValidationError naming it, before anything is sent."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
import respx

import dialogtech_async as dta

AK, SK = "ak-public-1234", "sk-secret-5678"


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.route().respond(200, text="")
        yield router


BAD_WITH_OPTIONS = [
    ("max_retries", "3"),
    ("max_retries", 1.5),
    ("max_retries", True),
    ("max_retries", -1),
    ("timeout", "10"),
    ("timeout", -1),
    ("timeout", math.nan),
    ("timeout", 0),
    ("retry", "x"),
    ("retry", 2),
]


@pytest.mark.parametrize(("parameter", "value"), BAD_WITH_OPTIONS)
async def test_with_options_refuses_what_the_constructor_refuses(
    mock: respx.MockRouter, parameter: str, value: Any
) -> None:
    async with dta.Session(AK, SK) as s:
        with pytest.raises(dta.ValidationError) as caught:
            s.with_options(**{parameter: value})
    assert caught.value.parameter == parameter
    assert not mock.calls


BAD_POLICIES = [
    ("max_retries", -1),
    ("max_retries", "2"),
    ("max_retries", True),
    ("max_retries", 2.0),
    ("backoff_base", math.nan),
    ("backoff_base", -0.5),
    ("backoff_base", math.inf),
    ("backoff_base", "1"),
    ("max_backoff", -1),
    ("max_backoff", math.nan),
    ("max_backoff", False),
]


@pytest.mark.parametrize(("parameter", "value"), BAD_POLICIES)
def test_retry_policy_refuses_odd_values(parameter: str, value: Any) -> None:
    with pytest.raises(dta.ValidationError) as caught:
        dta.RetryPolicy(**{parameter: value})
    assert caught.value.parameter == parameter


def test_retry_policy_takes_zero_waits() -> None:
    assert dta.RetryPolicy(max_retries=0, backoff_base=0, max_backoff=0).delay(3) == 0.0
