"""XMLParser: the Click-to Report XML (iso-8859-1, internal DTD) and defusedxml's rules."""

from __future__ import annotations

import socket
import time
import tracemalloc
import urllib.request
from collections.abc import Iterator
from typing import Any

import _fixtures as fx
import pytest
from defusedxml.common import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
)

import dialogtech_async as dta
from dialogtech_async.parsers import XMLParser

PROLOG = b"<?xml version='1.0' encoding='iso-8859-1'?>\n"


# --- the spec's example ----------------------------------------------------------------


def test_spec_example_gives_one_dict_per_record() -> None:
    body = fx.read("clickto_report.xml")
    assert b"<!ELEMENT record (Caller_ID," in body  # the internal DTD is accepted
    rows = fx.parse_all(XMLParser(), [body])
    assert rows == fx.XML_ROWS
    assert list(rows[0]) == list(fx.XML_TAGS)


def test_empty_element_gives_empty_string() -> None:
    rows = fx.parse_all(XMLParser(), [fx.read("clickto_report.xml")])
    assert rows[0]["Page"] == ""
    assert rows[1]["Name"] == ""
    assert rows[0]["Name"] == "Click to Call"


def test_self_closing_element_gives_empty_string() -> None:
    body = b"<data><record><a/><b>x</b></record></data>"
    assert fx.parse_all(XMLParser(), [body]) == [{"a": "", "b": "x"}]


def test_records_come_as_soon_as_they_close() -> None:
    parser = XMLParser()
    assert parser.feed(b"<data><record><a>1</a>") == []
    assert parser.feed(b"</record><record><a>2</a></rec") == [{"a": "1"}]
    assert parser.feed(b"ord>") == [{"a": "2"}]
    assert parser.feed(b"</data>") == []
    assert parser.close() == []


def test_text_split_across_feeds_and_references_are_joined() -> None:
    parser = XMLParser()
    rows = parser.feed(b"<data><record><a>fish &amp; ch")
    rows += parser.feed(b"ips &lt;&#233;&#x1F4DE;&gt;</a></record></data>")
    rows += parser.close()
    assert rows == [{"a": "fish & chips <é📞>"}]


def test_cdata_and_comments_in_fields() -> None:
    body = b"<data><record><a><![CDATA[x < y & z]]></a><b>1<!-- note -->2</b></record></data>"
    assert fx.parse_all(XMLParser(), [body]) == [{"a": "x < y & z", "b": "12"}]


def test_elements_outside_records_are_ignored() -> None:
    body = b"<data><meta><count>2</count></meta><record><a>1</a></record>tail</data>"
    assert fx.parse_all(XMLParser(), [body]) == [{"a": "1"}]


# --- encodings ------------------------------------------------------------------------


def test_iso_8859_1_declaration() -> None:
    body = PROLOG + "<data><record><Name>Café</Name></record></data>".encode("iso-8859-1")
    assert b"Caf\xe9" in body
    assert fx.parse_all(XMLParser(), [body]) == [{"Name": "Café"}]


def test_latin1_fixture_with_the_spec_dtd() -> None:
    body = fx.read("clickto_report_latin1.xml")
    assert b"Caf\xe9" in body
    rows = fx.parse_all(XMLParser(), [body])
    assert rows == [*fx.XML_ROWS, fx.LATIN1_XML_EXTRA_ROW]
    assert rows[2]["Name"] == "Café"


def test_utf8_without_declaration() -> None:
    body = "<data><record><n>Zoë Ñandú 📞</n></record></data>".encode()
    assert fx.parse_all(XMLParser(), [body]) == [{"n": "Zoë Ñandú 📞"}]


def test_record_tag_option() -> None:
    body = b"<rows><row><a>1</a><b>2</b></row><record><a>x</a></record><row><a>3</a></row></rows>"
    rows = fx.parse_all(XMLParser(record_tag="row"), [body])
    assert rows == [{"a": "1", "b": "2"}, {"a": "3"}]
    assert fx.parse_all(XMLParser(), [body]) == [{"a": "x"}]


# --- unsafe XML -----------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE data [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<data><record><Name>&lol9;</Name></record></data>
"""

UNSAFE_DOCUMENTS: dict[str, tuple[bytes, type[DefusedXmlException]]] = {
    "billion laughs": (BILLION_LAUGHS, EntitiesForbidden),
    "internal entity": (
        b'<!DOCTYPE data [<!ENTITY name "Bob">]><data><record><Name>&name;</Name></record></data>',
        EntitiesForbidden,
    ),
    "parameter entity": (
        b'<!DOCTYPE data [<!ENTITY % p "<!ELEMENT data ANY>">]><data/>',
        EntitiesForbidden,
    ),
    "external parameter entity": (
        b'<!DOCTYPE data [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/evil.dtd"> %ext;]><data/>',
        EntitiesForbidden,
    ),
    "file entity": (
        b'<!DOCTYPE data [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<data><record><Name>&xxe;</Name></record></data>",
        EntitiesForbidden,
    ),
    "http entity": (
        b'<!DOCTYPE data [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/secret">]>'
        b"<data><record><Name>&xxe;</Name></record></data>",
        EntitiesForbidden,
    ),
    "external dtd": (
        b'<?xml version="1.0"?>\n<!DOCTYPE data SYSTEM "http://127.0.0.1:9/data.dtd">'
        b"<data><record><Name>x</Name></record></data>",
        DTDForbidden,
    ),
    "public external dtd": (
        b'<!DOCTYPE data PUBLIC "-//X//DTD Y//EN" "http://127.0.0.1:9/data.dtd"><data/>',
        DTDForbidden,
    ),
    "unparsed entity": (
        b'<!DOCTYPE data [<!NOTATION gif SYSTEM "image/gif">'
        b'<!ENTITY logo SYSTEM "http://127.0.0.1:9/logo.gif" NDATA gif>]><data/>',
        EntitiesForbidden,
    ),
}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to open a connection or a URL."""

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the XML parser tried to fetch something")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("name", list(UNSAFE_DOCUMENTS))
def test_unsafe_xml_is_refused(name: str) -> None:
    body, cause = UNSAFE_DOCUMENTS[name]
    parser = XMLParser()
    with pytest.raises(dta.UnsafeXMLError) as info:
        parser.feed(body)
    error = info.value
    assert isinstance(error, dta.ResponseFormatError)
    assert isinstance(error.__cause__, cause)
    assert error.record_index == 0
    assert error.byte_offset is not None
    assert 0 < error.byte_offset < body.index(b"]>" if b"[" in body else b"<data")
    # It stays refused.
    with pytest.raises(dta.UnsafeXMLError):
        parser.close()


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("name", list(UNSAFE_DOCUMENTS))
def test_unsafe_xml_is_refused_when_fed_byte_by_byte(name: str) -> None:
    body, cause = UNSAFE_DOCUMENTS[name]
    rows, error = fx.parse_until_error(XMLParser(), [body[i : i + 1] for i in range(len(body))])
    assert rows == []
    assert isinstance(error, dta.UnsafeXMLError)
    assert isinstance(error.__cause__, cause)


def test_billion_laughs_is_never_expanded() -> None:
    tracemalloc.start()
    try:
        started = time.perf_counter()
        rows, error = fx.parse_until_error(XMLParser(), [BILLION_LAUGHS])
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, dta.UnsafeXMLError)
    assert rows == []
    assert "lollol" not in str(error)
    # 10**9 "lol"s would take gigabytes and minutes.
    assert elapsed < 1.0
    assert peak < 1_000_000


def test_file_entity_content_never_appears() -> None:
    body, _ = UNSAFE_DOCUMENTS["file entity"]
    rows, error = fx.parse_until_error(XMLParser(), [body])
    assert rows == []
    assert isinstance(error, dta.UnsafeXMLError)
    assert "root:" not in str(error)
    assert "root:" not in repr(error.__cause__)


def test_entity_refused_even_after_delivered_records_cannot_happen_later() -> None:
    # The DTD precedes the root element, so no record can come before the refusal.
    body, _ = UNSAFE_DOCUMENTS["internal entity"]
    parser = XMLParser()
    with pytest.raises(dta.UnsafeXMLError):
        parser.feed(body[: body.index(b"]>") + 2])


def test_undeclared_entity_is_not_silently_dropped() -> None:
    # With a parameter entity reference in the DTD, expat skips undeclared entities
    # instead of failing; the text around them must not be delivered as if complete.
    body = b"<!DOCTYPE data [ %ext; ]><data><record><a>x&foo;y</a></record></data>"
    rows, error = fx.parse_until_error(XMLParser(), [body])
    assert rows == []
    assert isinstance(error, dta.ResponseFormatError)
    assert "foo" in str(error)


def test_undeclared_entity_without_dtd_is_malformed() -> None:
    body = b"<data><record><a>&foo;</a></record></data>"
    rows, error = fx.parse_until_error(XMLParser(), [body])
    assert rows == []
    assert isinstance(error, dta.ResponseFormatError)
    assert not isinstance(error, dta.UnsafeXMLError)


# --- malformed and truncated documents -------------------------------------------------


def test_malformed_xml_says_line_column_and_byte_offset() -> None:
    line1 = b"<data><record><a>1</a></record>\n"
    line2 = b"<record><a>2</b></record></data>"
    parser = XMLParser()
    assert parser.feed(line1 + line2) == [{"a": "1"}]
    with pytest.raises(dta.ResponseFormatError) as info:
        parser.close()
    error = info.value
    assert not isinstance(error, dta.UnsafeXMLError)
    assert error.record_index == 1
    assert error.byte_offset is not None
    bad_tag = len(line1) + line2.index(b"</b>")
    assert bad_tag <= error.byte_offset < bad_tag + len(b"</b>")
    # The column in the message is the same place, counted from the start of line 2.
    assert f"line 2, column {error.byte_offset - len(line1)}" in str(error)
    assert "mismatched tag" in str(error)


def test_malformed_first_record_raises_at_once() -> None:
    parser = XMLParser()
    with pytest.raises(dta.ResponseFormatError, match="line 1") as info:
        parser.feed(b"<data><record><a>1</a></record <b>")
    assert info.value.record_index == 0
    with pytest.raises(dta.ResponseFormatError):
        parser.feed(b"<record><a>2</a></record></data>")


def test_error_is_raised_again_by_every_later_call() -> None:
    parser = XMLParser()
    assert parser.feed(b"<data><record><a>1</a></record><&>") == [{"a": "1"}]
    with pytest.raises(dta.ResponseFormatError) as first:
        parser.feed(b"<record><a>2</a></record>")
    with pytest.raises(dta.ResponseFormatError) as second:
        parser.close()
    assert first.value is second.value


def test_truncated_document_fails_at_close() -> None:
    body = fx.read("clickto_report.xml")
    cut = body.index(b"<Name></Name>")  # inside the second record
    parser = XMLParser()
    assert parser.feed(body[:cut]) == [fx.XML_ROWS[0]]
    with pytest.raises(dta.ResponseFormatError) as info:
        parser.close()
    assert info.value.record_index == 1
    assert info.value.byte_offset is not None
    assert info.value.byte_offset <= cut


def test_missing_root_end_tag_fails_at_close() -> None:
    body = fx.read("clickto_report.xml").removesuffix(b"</data>")
    parser = XMLParser()
    assert parser.feed(body) == fx.XML_ROWS
    with pytest.raises(dta.ResponseFormatError):
        parser.close()


def test_empty_body_is_malformed() -> None:
    with pytest.raises(dta.ResponseFormatError) as info:
        XMLParser().close()
    assert info.value.byte_offset == 0  # expat says -1: no byte was read


def test_empty_record_list() -> None:
    assert fx.parse_all(XMLParser(), [PROLOG + b"<data></data>"]) == []


def test_feed_after_close_is_refused() -> None:
    parser = XMLParser()
    parser.feed(b"<data/>")
    parser.close()
    with pytest.raises(RuntimeError):
        parser.feed(b"<data/>")


# --- memory -----------------------------------------------------------------------------


_BIG_RECORD = (
    "<record><Caller_ID>0001112222</Caller_ID><Name>Café Zoë</Name>"
    "<Click_Date_Time>Jan 13 2017 10:52 PM</Click_Date_Time>"
    "<Call_Duration>9</Call_Duration></record>\n"
).encode("iso-8859-1")


def _big_document(blocks: int, records_per_block: int, chunk_size: int) -> Iterator[bytes]:
    block = _BIG_RECORD * records_per_block
    yield PROLOG + b"<data>\n"
    for _ in range(blocks):
        for start in range(0, len(block), chunk_size):
            yield block[start : start + chunk_size]
    yield b"</data>"


def test_memory_stays_bounded_while_feeding_a_large_document() -> None:
    blocks, per_block = 120, 500  # 60,000 records, about 9.5 MB
    parser = XMLParser()
    count = 0
    tracemalloc.start()
    try:
        for chunk in _big_document(blocks, per_block, 64 * 1024):
            rows = parser.feed(chunk)
            count += len(rows)
        count += len(parser.close())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert blocks * per_block * len(_BIG_RECORD) > 9_000_000
    assert count == blocks * per_block
    assert rows == [] or rows[-1]["Name"] == "Café Zoë"
    assert peak < 3 * 1024 * 1024
