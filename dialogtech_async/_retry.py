"""When and how long to wait before trying a request again."""

from __future__ import annotations

import email.utils
import logging
import random
import time

import anyio
import attrs
import httpx

from . import _validate as check
from ._config import BACKOFF_BASE, DEFAULT_MAX_RETRIES, MAX_BACKOFF, RETRY_STATUSES

logger = logging.getLogger("dialogtech_async")


@attrs.define(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring ``Retry-After``.

    Args:
        max_retries: tries after the first one (0 turns retries off).
        backoff_base: the n-th retry waits a random time up to ``backoff_base * 2**n`` s.
        max_backoff: the longest single wait, Retry-After included.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_base: float = BACKOFF_BASE
    max_backoff: float = MAX_BACKOFF

    def __attrs_post_init__(self) -> None:
        # Checked here, not at the first retry: a bad policy would fail mid-pull.
        check.count(self.max_retries, "max_retries", minimum=0)
        check.seconds(self.backoff_base, "backoff_base")
        check.seconds(self.max_backoff, "max_backoff")

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff)
        return random.uniform(0.0, min(self.max_backoff, self.backoff_base * 2**retry))


async def wait_to_retry(
    policy: RetryPolicy, retry: int, *, what: str, reason: str, after: float | None = None
) -> None:
    """Log retry number ``retry`` (0-based) of ``what`` (a request, its secrets already
    redacted) after ``reason``, and wait the policy's delay for it."""
    delay = policy.delay(retry, after)
    logger.info(
        "retrying %s in %.2fs after %s (retry %d of %d)",
        what,
        delay,
        reason,
        retry + 1,
        policy.max_retries,
    )
    await anyio.sleep(delay)


def is_retryable_status(status_code: int) -> bool:
    """Whether a response with this status is worth sending again (idempotent requests)."""
    return status_code in RETRY_STATUSES


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (RFC 9110 10.2.3: seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²" is a digit to isdigit(), not to float()
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
