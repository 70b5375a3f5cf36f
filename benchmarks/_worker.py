"""One measured run in a fresh process: ``python benchmarks/_worker.py '<spec as JSON>'``.

The process imports what the side needs, loads its input (a body from a file, or a
client; a pull first makes one throwaway request, ``warm_up``), notes its resident set,
runs the side once and prints one JSON line: records, seconds, records/s, time to the
first record, peak RSS growth and CPU seconds. Peak growth is the high-water mark after
the run less the resident set before it (on Linux ``/proc/self/clear_refs`` resets the
mark first; elsewhere ``ru_maxrss``).

Kinds of spec (``run.py`` builds them):

- ``{"kind": "mem", "impl": ..., "format": ..., "body": path}``: a parser (and converter)
  on bytes already in memory (``session_stack`` fed the chunk sizes in the file at
  ``"chunks"``, or chunks of ``"chunk_size"`` bytes, 64 KiB by default).
- ``{"kind": "net", "impl": ..., "format": ..., "rows": n, "base_url": url}``: a pull
  from the sandbox, ours or another way.
- ``{"kind": "concurrency", ...}``, ``{"kind": "bulk", ...}`` and
  ``{"kind": "paired", ...}`` (section 2): many timed rounds in one process, alternating
  the ways compared; see those functions.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import gc
import io
import json
import resource
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import parsers
from _bodies import CHUNK, sized

import dialogtech_async as dta
from dialogtech_async import ClickToRecord, LeadFlowCall
from dialogtech_async._config import REPORT_TIMEOUT
from dialogtech_async._convert import RecordConverter
from dialogtech_async._legacy import LegacyReportParser
from dialogtech_async._reader import record_reader
from dialogtech_async.parsers import CSVParser, JSONParser, XMLParser
from dialogtech_async.testing import SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY

#: The date ranges every pull asks for (the sandbox spreads its rows over them).
CLICK_START, CLICK_END = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
EASTERN = ZoneInfo("America/New_York")
LEAD_START = dt.datetime(2024, 1, 1, tzinfo=EASTERN)
LEAD_END = dt.datetime(2024, 2, 1, tzinfo=EASTERN)
#: Rows the other ways convert at once (the typing is the same RecordConverter as ours).
BATCH = 1000

First = Callable[[], None]


# --- what a request for each format is -------------------------------------------------


def request_for(fmt: str, base_url: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """URL, query and headers of the report a Session sends for ``fmt`` (same bytes back)."""
    if fmt == "json":
        params = {"start_date": LEAD_START.isoformat(), "end_date": LEAD_END.isoformat()}
        auth = {"authorization": f"{SANDBOX_ACCESS_KEY}:{SANDBOX_SECRET_ACCESS_KEY}"}
        return f"{base_url}/report/v1/leadflow/v2/history", params, auth
    params = {
        "action": "report.clickto",
        "format": fmt,
        "start_date": CLICK_START.strftime("%Y%m%d"),
        "end_date": CLICK_END.strftime("%Y%m%d"),
        "access_key": SANDBOX_ACCESS_KEY,
        "secret_access_key": SANDBOX_SECRET_ACCESS_KEY,
    }
    return f"{base_url}/ibp_api.php", params, {}


def converter_for(fmt: str) -> RecordConverter[Any]:
    return RecordConverter(LeadFlowCall if fmt == "json" else ClickToRecord)


def session(base_url: str, **options: Any) -> dta.Session:
    return dta.Session(
        SANDBOX_ACCESS_KEY,
        SANDBOX_SECRET_ACCESS_KEY,
        base_url=base_url,
        newest_base_url=base_url,
        **options,
    )


def rows_client(rows: int) -> httpx.AsyncClient:
    """A client asking the sandbox for ``rows`` rows (its ``rows=`` query convention),
    with the timeouts a Session's own client has."""
    return httpx.AsyncClient(params={"rows": str(rows)}, timeout=REPORT_TIMEOUT)


# --- in memory -------------------------------------------------------------------------


def session_stack(
    fmt: str, sizes: list[int] | None = None, chunk_size: int = CHUNK
) -> Callable[[bytes, First], int]:
    """The decoder a Session's Report builds (parser fused with the converter, inside
    the legacy envelope check), on bytes in memory: the reference of the end-to-end
    comparison. Fed chunks of ``sizes`` (those a client received), or of ``chunk_size`` bytes."""
    converter = converter_for(fmt)

    def make_decoder() -> Any:
        if fmt == "json":
            return record_reader(JSONParser(), converter)
        inner = CSVParser(encoding="utf-8") if fmt == "csv" else XMLParser()
        return LegacyReportParser(record_reader(inner, converter), expect=fmt)

    return lambda body, first: parsers.drive(make_decoder(), body, first, sizes, chunk_size)


def in_memory(spec: dict[str, Any]) -> Callable[[bytes, First], int]:
    impl, fmt = spec["impl"], spec["format"]
    if impl == "reference":
        return {"csv": parsers.bare_csv, "xml": parsers.bare_xml, "json": parsers.bare_json}[fmt]
    if impl == "parser":  # benchmarks/parsers.py's own: the bare incremental parser
        make, record = {
            "csv": (CSVParser, ClickToRecord),
            "xml": (XMLParser, ClickToRecord),
            "json": (JSONParser, LeadFlowCall),
        }[fmt]
        return parsers.ours(make, record)
    if impl == "session_stack":
        sizes = spec.get("chunks")
        return session_stack(
            fmt,
            None if sizes is None else json.loads(Path(sizes).read_text()),
            spec.get("chunk_size", CHUNK),
        )
    raise ValueError(f"unknown in-memory side {impl!r}")


# --- over the network ------------------------------------------------------------------


async def ours(env: dta.Session, fmt: str, first: First, *, typed: bool = True) -> int:
    """Session.click_to_report / leadflow_history, streamed, typed (or ``.rows()``)."""
    report: dta.Report[Any] = (
        env.leadflow_history(LEAD_START, LEAD_END)
        if fmt == "json"
        else env.click_to_report(CLICK_START, CLICK_END, format=fmt)  # type: ignore[arg-type]
    )
    async with report:
        records: AsyncIterator[Any] = aiter(report) if typed else report.rows()
        if await anext(records, None) is None:
            return 0
        first()
        count = 1
        async for _record in records:
            count += 1
    return count


def _typed(convert: Callable[..., list[Any]], rows: Iterable[Any], first: First) -> int:
    """Convert ``rows`` BATCH at a time, counting the records as ours are counted."""
    rows, count = iter(rows), 0
    while batch := list(islice(rows, BATCH)):
        if not count:
            first()
        for _record in convert(batch, count):
            count += 1
    return count


async def naive(env: httpx.AsyncClient, fmt: str, first: First) -> int:
    """The whole body with httpx, then csv.DictReader / json.loads / ElementTree, then
    the same record typing."""
    url, params, headers = request_for(fmt, env_base(env))
    response = await env.get(url, params=params, headers=headers)
    response.raise_for_status()
    convert = converter_for(fmt).convert
    if fmt == "csv":
        rows: Iterable[Any] = csv.DictReader(io.StringIO(response.text, newline=""))
    elif fmt == "json":
        rows = response.json(parse_float=Decimal)["response"]
    else:
        from defusedxml import ElementTree

        root = ElementTree.fromstring(response.content)
        rows = ({field.tag: field.text or "" for field in record} for record in root)
    return _typed(convert, rows, first)


class TextReader:
    """An httpx response's decoded text as the ``async read(size)`` aiocsv reads."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks = response.aiter_text()

    async def read(self, _size: int) -> str:
        return await anext(self._chunks, "")


async def aiocsv_pull(env: httpx.AsyncClient, fmt: str, first: First, *, typed: bool) -> int:
    """httpx stream -> aiocsv.AsyncDictReader (-> the same typing, BATCH rows at a time)."""
    from aiocsv import AsyncDictReader

    assert fmt == "csv"
    url, params, headers = request_for(fmt, env_base(env))
    convert = converter_for(fmt).convert
    count = 0
    async with env.stream("GET", url, params=params, headers=headers) as response:
        response.raise_for_status()
        reader = AsyncDictReader(TextReader(response))
        if not typed:
            async for _row in reader:
                if not count:
                    first()
                count += 1
            return count
        batch: list[dict[str, str]] = []
        async for row in reader:
            batch.append(row)
            if len(batch) == BATCH:
                if not count:
                    first()
                for _record in convert(batch, count):
                    count += 1
                batch = []
        if batch and not count:
            first()
        for _record in convert(batch, count):
            count += 1
    return count


async def pandas_pull(env: httpx.AsyncClient, fmt: str, first: First) -> int:
    """The whole body with httpx, then pandas.read_csv (columns, pandas' own types)."""
    import pandas

    assert fmt == "csv"
    url, params, headers = request_for(fmt, env_base(env))
    response = await env.get(url, params=params, headers=headers)
    response.raise_for_status()
    frame = pandas.read_csv(io.BytesIO(response.content))
    first()
    return len(frame)


def env_base(env: httpx.AsyncClient) -> str:
    return str(env.base_url).rstrip("/")


NET_SIDES: dict[str, tuple[str, Callable[..., Awaitable[int]]]] = {
    # name: (environment, pull)
    "ours": ("session", ours),
    "ours_rows": ("session", lambda env, fmt, first: ours(env, fmt, first, typed=False)),
    "naive": ("client", naive),
    "aiocsv": ("client", lambda env, fmt, first: aiocsv_pull(env, fmt, first, typed=True)),
    "aiocsv_rows": ("client", lambda env, fmt, first: aiocsv_pull(env, fmt, first, typed=False)),
    "pandas": ("client", pandas_pull),
}


# --- measuring -------------------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _current_kb() -> int:
    rss = _status_kb("VmRSS")
    if rss is None:
        import psutil

        rss = psutil.Process().memory_info().rss // 1024
    return rss


def _peak_kb() -> int:
    peak = _status_kb("VmHWM")
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.platform == "darwin":
            peak //= 1024  # bytes there
    return peak


class Meter:
    """Resident set before, time and CPU of one run, time to the first record, peak after."""

    def __enter__(self) -> Meter:
        gc.collect()
        self.baseline_kb = _current_kb()
        try:  # "5": reset the peak resident set to the current one (Linux 4.0+)
            with open("/proc/self/clear_refs", "w") as clear:
                clear.write("5")
        except OSError:
            pass  # the peak then may include the imports' (a smaller growth, not larger)
        self.first_at: float | None = None
        self.cpu = time.process_time()
        self.start = time.perf_counter()
        return self

    def first(self) -> None:
        if self.first_at is None:
            self.first_at = time.perf_counter()

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        self.cpu = time.process_time() - self.cpu
        self.peak_mb = max(0, _peak_kb() - self.baseline_kb) / 1024

    def result(self, records: int) -> dict[str, Any]:
        ttfr = None if self.first_at is None else self.first_at - self.start
        return {
            "records": records,
            "seconds": self.seconds,
            "per_s": records / self.seconds if self.seconds else 0.0,
            "ttfr_s": ttfr,
            "peak_mb": self.peak_mb,
            "cpu_s": self.cpu,
        }


def run_mem(spec: dict[str, Any]) -> dict[str, Any]:
    run = in_memory(spec)
    body = Path(spec["body"]).read_bytes()
    with Meter() as meter:
        records = run(body, meter.first)
    return meter.result(records)


async def warm_up(base_url: str) -> None:
    """Pay what a process pays once, on its first request, before any side is timed:
    anyio imports its event-loop backend on first use (17-19 ms here, ``-X importtime``),
    and httpx and httpcore run first-use paths. A throwaway client, so the measured pull
    still opens its own connection."""
    async with httpx.AsyncClient() as client:
        await client.get(base_url)


async def run_net(spec: dict[str, Any]) -> dict[str, Any]:
    env_kind, pull = NET_SIDES[spec["impl"]]
    await warm_up(spec["base_url"])
    client = rows_client(spec["rows"])
    if env_kind == "client":
        client.base_url = httpx.URL(spec["base_url"])
    env: Any = session(spec["base_url"], http_client=client) if env_kind == "session" else client
    try:
        with Meter() as meter:
            records = await pull(env, spec["format"], meter.first)
    finally:
        await client.aclose()
    return meter.result(records)


# --- section 2 in one process: the sides paired -----------------------------------------

#: What one pair runs, in this order rotated by one each pair (so that each side runs
#: in each place in turn, and a drift in the machine's speed does not fall on one side).
PAIRED_SIDES = ("memory", "streamed", "replayed", "received")


def _untimed() -> None:
    """The ``first`` callback of a side whose first record nobody times."""


class _Replay(httpx.AsyncByteStream):
    """A response body given back in the chunks a client received it in, from memory."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


async def paired(spec: dict[str, Any], body: bytes, sizes: list[int]) -> dict[str, Any]:
    """Section 2 with the sides alternating in this one process, ``pairs`` times after
    one uncounted warm-up pair; the seconds of each side in each pair. ``body`` is the
    report the sandbox sends, ``sizes`` the chunks a client received it in.

    - ``memory``: the decoder a Report builds, on the bytes in memory (the reference);
    - ``streamed``: the Session's pull from the sandbox over loopback;
    - ``replayed``: the same Session and Report on the same chunks from memory (an httpx
      MockTransport answering with the sandbox's own headers): what the library's
      streaming costs beyond the decoder, without the network (httpx's client layer,
      above its transport, still runs);
    - ``received``: httpx alone downloading the same body, nothing parsed: what the
      network path costs any client streaming through httpx (its client layer too).

    The four run in one process, side by side in time, so that what each adds to the
    decoder is read from runs of the same process state and the same stretch of the
    machine's load (on a shared host it swings by 2x within seconds).
    """
    fmt, base, rows = spec["format"], spec["base_url"], int(spec["rows"])
    decode = session_stack(fmt, sizes)
    url, params, headers = request_for(fmt, base)
    async with (
        rows_client(rows) as client,
        client.stream("GET", url, params=params, headers=headers) as response,
    ):
        response.raise_for_status()
        sent = response.headers
        if await response.aread() != body:
            raise RuntimeError("the sandbox sent other bytes than the saved body")

    def replay(request: httpx.Request) -> httpx.Response:
        if request.url.path != httpx.URL(url).path:
            raise RuntimeError(f"the Session asked for {request.url.path}, not {url}")
        return httpx.Response(200, headers=sent, stream=_Replay(sized(body, sizes)))

    async def memory() -> int:
        return decode(body, _untimed)

    async def received(client: httpx.AsyncClient) -> int:
        size = 0
        async with client.stream("GET", url, params=params, headers=headers) as response:
            response.raise_for_status()
            async for chunk in response.aiter_bytes():
                size += len(chunk)
        if size != len(body):
            raise RuntimeError(f"received {size} bytes, the body has {len(body)}")
        return rows  # the body's records, for the count check below

    pairs: list[dict[str, float]] = []
    # Each side keeps its client, made before anything is timed (a client's SSL context
    # takes ~20 ms to build) and warmed up with its connection in pair 0, which also
    # pays what a process pays once (imports on first use, converters compiled).
    async with (
        rows_client(rows) as receiving,
        rows_client(rows) as streaming,
        httpx.AsyncClient(transport=httpx.MockTransport(replay)) as replaying,
        session(base, http_client=streaming) as over_loopback,
        session(base, http_client=replaying) as from_memory,
    ):
        sides: dict[str, Callable[[], Awaitable[int]]] = {
            "memory": memory,
            "streamed": lambda: ours(over_loopback, fmt, _untimed),
            "replayed": lambda: ours(from_memory, fmt, _untimed),
            "received": lambda: received(receiving),
        }
        for pair in range(spec["pairs"] + 1):  # pair 0 warms up (first-use paths, caches)
            seconds: dict[str, float] = {}
            turn = pair % len(PAIRED_SIDES)
            for name in PAIRED_SIDES[turn:] + PAIRED_SIDES[:turn]:
                gc.collect()
                started = time.perf_counter()
                records = await sides[name]()
                seconds[name] = time.perf_counter() - started
                if records != rows:
                    raise RuntimeError(f"{name}: {records} records, expected {rows}")
            if pair:
                pairs.append(seconds)
    return {"records": rows, "pairs": pairs}


# --- many requests at once (one process, the two ways alternating) ---------------------


async def concurrency(spec: dict[str, Any]) -> dict[str, Any]:
    """``calls`` click_to_call and ``reports`` small click-to reports at once through one
    Session (``connections`` at most), against bare httpx doing the same requests with
    the same limits; the bare side reads each report with the same parser and converter.
    Each way keeps its client (and connections) across rounds; round 0 warms them up.
    """
    base, calls, reports = spec["base_url"], spec["calls"], spec["reports"]
    limits = httpx.Limits(max_connections=spec["connections"], max_keepalive_connections=10)
    convert = converter_for("csv").convert
    call_params = {
        "action": "clickto.call",
        "type": "1",
        "id": "8772955100",
        "phone_to_call": "3125550100",
        "access_key": SANDBOX_ACCESS_KEY,
        "secret_access_key": SANDBOX_SECRET_ACCESS_KEY,
    }
    url, report_params, _ = request_for("csv", base)

    async def ours_batch(s: dta.Session) -> tuple[int, int]:
        async def call() -> bool:
            return (await s.click_to_call("3125550100", "8772955100", type=1)).connected

        async def report() -> int:
            return len(await s.click_to_report(CLICK_START, CLICK_END, format="csv").collect())

        return await _gather(call, calls, report, reports)

    async def bare_batch(client: httpx.AsyncClient) -> tuple[int, int]:
        async def call() -> bool:
            response = await client.get(url, params=call_params)
            response.raise_for_status()
            return response.text.strip() == "Call Connected"

        async def report() -> int:
            response = await client.get(url, params=report_params)
            response.raise_for_status()
            parser = CSVParser()
            return len(convert(parser.feed(response.content) + parser.close()))

        return await _gather(call, calls, report, reports)

    best: dict[str, dict[str, float]] = {}
    async with (
        session(base, limits=limits) as s,
        httpx.AsyncClient(limits=limits, timeout=REPORT_TIMEOUT) as client,
    ):
        sides: dict[str, Callable[[], Awaitable[tuple[int, int]]]] = {
            "ours": lambda: ours_batch(s),
            "bare": lambda: bare_batch(client),
        }
        for round_ in range(spec["repeat"] + 1):
            for name, batch in sides.items():
                gc.collect()
                cpu, start = time.process_time(), time.perf_counter()
                connected, records = await batch()
                seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
                if connected != calls or records != reports * spec["report_rows"]:
                    raise RuntimeError(f"{name}: {connected} calls connected, {records} records")
                if round_:
                    was = best.setdefault(name, {"seconds": seconds, "cpu_s": cpu})
                    was["seconds"], was["cpu_s"] = (
                        min(was["seconds"], seconds),
                        min(was["cpu_s"], cpu),
                    )
    requests = calls + reports
    for result in best.values():
        result["wall_per_request_ms"] = 1000 * result["seconds"] / requests
        result["cpu_per_request_ms"] = 1000 * result["cpu_s"] / requests
    return {"requests": requests, "all_succeeded": True, **best}


async def _gather(
    call: Callable[[], Awaitable[bool]],
    calls: int,
    report: Callable[[], Awaitable[int]],
    reports: int,
) -> tuple[int, int]:
    results = await asyncio.gather(
        *(call() for _ in range(calls)), *(report() for _ in range(reports))
    )
    return sum(bool(r) for r in results[:calls]), sum(results[calls:])


# --- bulk: windows at once against one after another -----------------------------------


async def bulk(spec: dict[str, Any]) -> dict[str, Any]:
    """A ``windows``-window click-to report, ``concurrency`` windows at a time (inside
    ``async with`` and as a bare ``async for``), against the same windows one after
    another (plain Reports), with the sandbox answering every report after a delay."""
    window = dt.timedelta(days=7)
    start = CLICK_START
    end = start + spec["windows"] * window - dt.timedelta(days=1)
    n = spec["concurrency"]

    async def with_tasks(s: dta.Session) -> int:
        async with s.click_to_report(start, end, window=window, concurrency=n) as pull:
            return await _count(pull)

    async def bare_for(s: dta.Session) -> int:
        return await _count(s.click_to_report(start, end, window=window, concurrency=n))

    async def one_after_another(s: dta.Session) -> int:
        count, first = 0, start
        while first <= end:
            last = min(first + window - dt.timedelta(days=1), end)
            async with s.click_to_report(first, last) as report:
                count += await _count(report)
            first = last + dt.timedelta(days=1)
        return count

    modes = {"sequential": one_after_another, "async_with": with_tasks, "bare_async_for": bare_for}
    best: dict[str, float] = {}
    counts: set[int] = set()
    async with session(spec["base_url"]) as s:
        for round_ in range(spec["repeat"] + 1):  # round 0 warms up (connections, layouts)
            for name, mode in modes.items():
                gc.collect()
                started = time.perf_counter()
                counts.add(await mode(s))
                seconds = time.perf_counter() - started
                if round_:
                    best[name] = min(best.get(name, seconds), seconds)
    if len(counts) != 1:
        raise RuntimeError(f"the modes read different record counts: {counts}")
    return {"records": counts.pop(), "seconds": best}


async def _count(records: AsyncIterator[Any] | Any) -> int:
    count = 0
    async for _record in records:
        count += 1
    return count


def main() -> None:
    spec = json.loads(sys.argv[1])
    kind = spec["kind"]
    if kind == "mem":
        result = run_mem(spec)
    elif kind == "net":
        result = asyncio.run(run_net(spec))
    elif kind == "concurrency":
        result = asyncio.run(concurrency(spec))
    elif kind == "bulk":
        result = asyncio.run(bulk(spec))
    elif kind == "paired":
        body, sizes = Path(spec["body"]).read_bytes(), json.loads(Path(spec["chunks"]).read_text())
        result = asyncio.run(paired(spec, body, sizes))
    else:
        raise ValueError(f"unknown kind {kind!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
