"""Hostile XML: refused with UnsafeXMLError, never expanded, nothing fetched or opened.

tests/test_parser_xml.py covers XMLParser alone against the classic documents (billion
laughs, internal, parameter, external and unparsed entities, external DTDs). This module
adds what it lacks -- a quadratic blowup, an entity slipped into the API's own DTD, a DTD
or entity naming a local file -- and sends every attack through the whole stack,
``Session.click_to_report(format="xml")`` and the click-to actions (whose error answers
are XML too), served by respx whole and in small chunks.

"Nothing fetched or opened" is checked two ways: the attacks point at a listening
socket on 127.0.0.1 that must receive no connection, and at a file holding a marker that
must never be opened (a ``sys.addaudithook`` hook watches ``open`` and
``socket.connect`` while each attack runs) nor appear in any record or error.
"""

from __future__ import annotations

import datetime as dt
import socket
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import dialogtech_async as dta
from dialogtech_async.parsers import XMLParser

LEGACY = "https://secure.dialogtech.com/ibp_api.php"
START, END = dt.date(2017, 1, 1), dt.date(2017, 1, 31)
MARKER = "TOP-SECRET-MARKER-7f3a"
API_DTD = (Path(__file__).parent.parent / "fixtures" / "clickto_report_latin1.xml").read_bytes()


# --- watching for file and network access ----------------------------------------------


@dataclass
class Watch:
    paths: tuple[str, ...] = ()
    active: bool = False
    opened: list[str] = field(default_factory=list)
    connected: list[Any] = field(default_factory=list)


WATCH = Watch()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not WATCH.active:
        return
    if event == "open" and args and any(path in str(args[0]) for path in WATCH.paths):
        WATCH.opened.append(str(args[0]))
    elif event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
        WATCH.connected.append((event, args[1:] if event == "socket.connect" else args))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it is idle unless WATCH.active


@dataclass
class Targets:
    secret_file: Path
    port: int
    listener: socket.socket

    def no_connection_came(self) -> bool:
        try:
            connection, _ = self.listener.accept()
        except BlockingIOError:
            return True
        connection.close()
        return False


@pytest.fixture
def targets(tmp_path: Path) -> Iterator[Targets]:
    secret = tmp_path / "secret.txt"
    secret.write_text(MARKER)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        found = Targets(secret, listener.getsockname()[1], listener)
        WATCH.paths = (str(secret), "secret.txt")
        WATCH.opened.clear()
        WATCH.connected.clear()
        yield found
        assert found.no_connection_came(), "something connected to the attacker's server"
    WATCH.paths = ()


class watching:
    """While in the block, record opens of the secret file and any network access."""

    def __enter__(self) -> None:
        WATCH.active = True

    def __exit__(self, *exc_info: object) -> None:
        WATCH.active = False
        assert WATCH.opened == [], f"files opened: {WATCH.opened}"
        assert WATCH.connected == [], f"network access: {WATCH.connected}"


# --- the attacks ---------------------------------------------------------------------------


def _laughs() -> bytes:
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">'
        for n in range(1, 10)
    ]
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE data [\n'
        + "\n".join(entities).encode()
        + b"\n]>\n<data><record><Name>&lol9;</Name></record></data>"
    )


def _quadratic() -> bytes:
    # One 50 KB entity used 20,000 times: 1 GB of text if expanded, from a 150 KB body.
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE data [<!ENTITY a "'
        + b"x" * 50_000
        + b'">]>\n<data><record><Name>'
        + b"&a;" * 20_000
        + b"</Name></record></data>"
    )


def _in_api_dtd(entity: str) -> bytes:
    """The API's own document (internal DTD of element declarations) with one entity
    declaration added to that DTD and referenced from the first record."""
    body = API_DTD.replace(b"]>", entity.encode() + b"\n]>", 1)
    return body.replace(b"<Name>Click to Call</Name>", b"<Name>&xxe;</Name>", 1)


def attacks(t: Targets) -> dict[str, bytes]:
    http = f"http://127.0.0.1:{t.port}"
    file = t.secret_file.as_uri()
    return {
        "billion_laughs": _laughs(),
        "quadratic_blowup": _quadratic(),
        "external_entity_file": (
            f'<!DOCTYPE data [<!ENTITY xxe SYSTEM "{file}">]>'
            "<data><record><Name>&xxe;</Name></record></data>"
        ).encode(),
        "external_entity_http": (
            f'<!DOCTYPE data [<!ENTITY xxe SYSTEM "{http}/secret">]>'
            "<data><record><Name>&xxe;</Name></record></data>"
        ).encode(),
        "external_dtd_http": (
            f'<?xml version="1.0"?>\n<!DOCTYPE data SYSTEM "{http}/data.dtd">'
            "<data><record><Name>x</Name></record></data>"
        ).encode(),
        "external_dtd_file": (
            f'<!DOCTYPE data SYSTEM "{file}"><data><record><Name>x</Name></record></data>'
        ).encode(),
        "public_external_dtd": (
            f'<!DOCTYPE data PUBLIC "-//X//DTD Y//EN" "{http}/data.dtd">'
            "<data><record><Name>x</Name></record></data>"
        ).encode(),
        "parameter_entity_http": (
            f'<!DOCTYPE data [<!ENTITY % ext SYSTEM "{http}/evil.dtd"> %ext;]>'
            "<data><record><Name>x</Name></record></data>"
        ).encode(),
        "parameter_entity_file": (
            f'<!DOCTYPE data [<!ENTITY % ext SYSTEM "{file}"> %ext;]>'
            "<data><record><Name>x</Name></record></data>"
        ).encode(),
        "parameter_entity_internal": (
            b"<!DOCTYPE data [<!ENTITY % p \"<!ENTITY xxe 'expanded'>\"> %p;]>"
            b"<data><record><Name>&xxe;</Name></record></data>"
        ),
        "entity_in_the_api_dtd": _in_api_dtd('<!ENTITY xxe "expanded">'),
        "file_entity_in_the_api_dtd": _in_api_dtd(f'<!ENTITY xxe SYSTEM "{file}">'),
        "http_entity_in_the_api_dtd": _in_api_dtd(f'<!ENTITY xxe SYSTEM "{http}/x">'),
    }


ATTACKS = [
    "billion_laughs",
    "quadratic_blowup",
    "external_entity_file",
    "external_entity_http",
    "external_dtd_http",
    "external_dtd_file",
    "public_external_dtd",
    "parameter_entity_http",
    "parameter_entity_file",
    "parameter_entity_internal",
    "entity_in_the_api_dtd",
    "file_entity_in_the_api_dtd",
    "http_entity_in_the_api_dtd",
]
#: Not in tests/test_parser_xml.py: checked against XMLParser directly too.
NEW_FOR_THE_PARSER = [
    "quadratic_blowup",
    "external_dtd_file",
    "parameter_entity_file",
    "parameter_entity_internal",
    "entity_in_the_api_dtd",
    "file_entity_in_the_api_dtd",
    "http_entity_in_the_api_dtd",
]


def feed_all(parser: XMLParser, chunks: list[bytes], rows: list[Any]) -> None:
    for piece in chunks:
        rows += parser.feed(piece)
    rows += parser.close()


async def request(session: dta.Session, call: str, rows: list[Any]) -> None:
    """Make the request of ``call``, keeping what it delivers in ``rows``."""
    if call == "click_to_call":
        rows.append(await session.click_to_call("3125550100", "8772955100"))
        return
    fmt = "xml" if call == "click_to_report_xml" else "csv"
    async for record in session.click_to_report(START, END, format=fmt):  # type: ignore[arg-type]
        rows.append(record)


def assert_not_expanded(error: BaseException, rows: list[Any]) -> None:
    assert rows == []
    for text in (str(error), repr(error), repr(error.__cause__)):
        assert MARKER not in text
        assert "expanded" not in text
        assert "lollol" not in text
        assert "xxxxxxxxxx" not in text


def test_the_api_dtd_itself_is_accepted() -> None:
    """The baseline: the spec's document, element declarations and all, parses."""
    parser = XMLParser()
    assert len(parser.feed(API_DTD) + parser.close()) == 3


@pytest.mark.parametrize("name", NEW_FOR_THE_PARSER)
@pytest.mark.parametrize("chunk", [None, 1], ids=["whole", "byte-by-byte"])
def test_parser_refuses(targets: Targets, name: str, chunk: int | None) -> None:
    body = attacks(targets)[name]
    if chunk is not None and len(body) > 20_000:
        body_chunks = [body[i : i + 997] for i in range(0, len(body), 997)]
    else:
        body_chunks = [body] if chunk is None else [body[i : i + 1] for i in range(len(body))]
    rows: list[Any] = []
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with watching(), pytest.raises(dta.UnsafeXMLError) as caught:
            feed_all(XMLParser(), body_chunks, rows)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_not_expanded(caught.value, rows)
    assert elapsed < 1.0
    assert peak < 2_000_000


# --- through the session ------------------------------------------------------------------


def stream(body: bytes, chunk: int | None) -> httpx.Response:
    headers = {"content-type": "text/xml; charset=iso-8859-1"}
    if chunk is None:
        return httpx.Response(200, content=body, headers=headers)

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), chunk):
            yield body[start : start + chunk]

    return httpx.Response(200, content=pieces(), headers=headers)


@pytest.mark.parametrize("name", ATTACKS)
@pytest.mark.parametrize("chunk", [None, 7], ids=["whole", "7-byte-chunks"])
async def test_click_to_report_xml_refuses(targets: Targets, name: str, chunk: int | None) -> None:
    body = attacks(targets)[name]
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(LEGACY).mock(side_effect=lambda _request: stream(body, chunk))
        async with dta.Session("ak", "sk") as session:
            rows: list[Any] = []
            started = time.perf_counter()
            with watching(), pytest.raises(dta.UnsafeXMLError) as caught:
                await request(session, "click_to_report_xml", rows)
            elapsed = time.perf_counter() - started
    assert_not_expanded(caught.value, rows)
    assert route.call_count == 1  # refused, not retried
    assert elapsed < 2.0


def error_document(t: Targets, root: str) -> dict[str, bytes]:
    """The legacy API's XML error answer, with the same attacks in its DTD."""
    file = t.secret_file.as_uri()
    http = f"http://127.0.0.1:{t.port}"
    tail = f"<{root}><result>&xxe;</result><message>failed</message></{root}>"
    return {
        "error_answer_file_entity": (
            f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{file}">]>{tail}'
        ).encode(),
        "error_answer_http_entity": (
            f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{http}/x">]>{tail}'
        ).encode(),
        "error_answer_internal_entity": (
            f'<!DOCTYPE {root} [<!ENTITY xxe "expanded">]>{tail}'
        ).encode(),
        "error_answer_billion_laughs": _laughs()
        .replace(b"DOCTYPE data", f"DOCTYPE {root}".encode())
        .replace(b"<data><record><Name>&lol9;</Name></record></data>", tail.encode()),
    }


ERROR_ATTACKS = [
    "error_answer_file_entity",
    "error_answer_http_entity",
    "error_answer_internal_entity",
    "error_answer_billion_laughs",
]


@pytest.mark.parametrize("name", ERROR_ATTACKS)
@pytest.mark.parametrize("call", ["click_to_report_xml", "click_to_report_csv", "click_to_call"])
async def test_hostile_error_answers_are_refused(targets: Targets, name: str, call: str) -> None:
    """Regression: an in-band error document with entity declarations was parsed with
    defusedxml, refused there, and then raised as a BadRequestError quoting the whole
    hostile body; it is an UnsafeXMLError like any other unsafe XML."""
    body = error_document(targets, "response")[name]
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(LEGACY).mock(side_effect=lambda _request: stream(body, None))
        async with dta.Session("ak", "sk") as session:
            rows: list[Any] = []
            with watching(), pytest.raises(dta.UnsafeXMLError) as caught:
                await request(session, call, rows)
    assert_not_expanded(caught.value, rows)
    assert route.call_count == 1
