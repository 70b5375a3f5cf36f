"""Named defaults, each with the reason for its value."""

from __future__ import annotations

import httpx

from ._version import __version__

#: The legacy DialogTech API: click-to call, click-to VR, click-to report (spec files 000-003).
LEGACY_BASE_URL = "https://secure.dialogtech.com"
#: DialogTech's "newest APIs" host (LeadFlow history).
NEWEST_BASE_URL = "https://dialogtechapis.com"
#: Infinity's API host.
INFINITY_BASE_URL = "https://api.infinitycloud.com"

#: Connect in 10 s; between two bytes of a report at most 60 s (a report may take far
#: longer than that in all, so no total limit).
REPORT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=60.0)
#: Click-to actions answer only once the first leg of the call is answered or gives up.
CALL_READ_TIMEOUT = 120.0

#: Connections shared by all tasks of one session.
DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10)

#: Retries of an idempotent request after the first try.
DEFAULT_MAX_RETRIES = 2
#: Full-jitter exponential backoff: the n-th retry waits up to BACKOFF_BASE * 2**n s.
BACKOFF_BASE = 0.5
#: No single wait longer than this, Retry-After included: a server asking for an hour
#: gets the retries at this bound, then the error (a RateLimitError carries the
#: ``retry_after`` the caller can schedule around).
MAX_BACKOFF = 60.0
#: Statuses worth retrying (RFC 9110: 408 timeout, 429 rate limit, 5xx transient ones).
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: How much of an error body is read to find the API's message.
MAX_ERROR_BODY = 64 * 1024

#: Rows of an Infinity row endpoint asked for at once (``limit``; the API's largest).
INFINITY_PAGE_SIZE = 10_000

#: Sent before httpx's own User-Agent, so that the API's operators can tell this client
#: (and its version) in their logs, as API clients do.
USER_AGENT = f"dialogtech-async/{__version__}"
