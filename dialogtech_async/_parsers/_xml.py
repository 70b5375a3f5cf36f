"""An incremental XML parser for record lists, with defusedxml's safety rules."""

from __future__ import annotations

from typing import NoReturn
from xml.parsers import expat

from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from .._exceptions import ResponseFormatError, UnsafeXMLError
from ._base import KeepsFaults, Row, keeping_faults
from ._limits import DEFAULT_LIMITS, BodyLimits

#: Open markup longer than this makes later chunks wait until they are as long.
_DEFER_FROM = 64 * 1024


class XMLParser(KeepsFaults):
    """Push parser yielding one dict per record element (child tag -> text).

    The document's encoding comes from its XML declaration (the legacy DialogTech API
    sends iso-8859-1). An internal DTD of element declarations is accepted; entity
    declarations, external entity references and external DTDs are refused as soon as
    they are seen, before anything is expanded or fetched (the rules of defusedxml,
    whose exceptions are chained as ``__cause__``). Nothing but the record being read is
    kept.

    A document is not taken for an empty report when it is something else: with
    ``root_tag``, any other root element is refused at once; without it, a document
    with no record element whose root has child elements (an XHTML page) is refused
    at its end.

    Args:
        record_tag: the element that holds one record; its children are the fields.
        root_tag: the document element the report must have (None: any).
        limits: ``max_depth`` bounds element nesting, ``max_field_bytes`` one text node
            and one tag, comment or other markup still open.

    Raises:
        UnsafeXMLError: an entity declaration, external reference or external DTD.
        ResponseFormatError: malformed XML, with line, column and byte offset; another
            root, no records in a document of other elements, a limit exceeded.
    """

    def __init__(
        self,
        *,
        record_tag: str = "record",
        root_tag: str | None = None,
        limits: BodyLimits = DEFAULT_LIMITS,
    ) -> None:
        self._rows: list[Row] = []
        self._records = 0
        self._closed = False
        self._limits = limits
        self._fed = 0  # bytes handed to expat
        self._record_tag = record_tag
        self._root_tag = root_tag
        self._root: str | None = None  # the document element, once seen
        self._other_children = False  # the root has children that are not records
        self._open_markup = 0  # bytes fed since expat's last event: markup not yet closed
        self._held: list[bytes] = []  # chunks held back while long markup is open
        self._held_size = 0
        parser = expat.ParserCreate()
        # Fewer, larger text callbacks; a text node split across feeds is still joined.
        parser.buffer_text = True
        parser.buffer_size = 1 << 16
        # Never read the external DTD subset or external parameter entities.
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse_external_dtd
        parser.EntityDeclHandler = _refuse_entity
        parser.UnparsedEntityDeclHandler = _refuse_unparsed_entity
        parser.ExternalEntityRefHandler = _refuse_external_reference
        # A reference to an entity never declared is skipped silently, not an error, once
        # the DTD has a parameter entity reference: refuse it rather than lose the text.
        parser.SkippedEntityHandler = self._refuse_skipped_entity
        self._install_record_handlers(parser, record_tag)
        self._parser = parser

    def _install_record_handlers(self, parser: expat.XMLParserType, record_tag: str) -> None:
        # Closures over local state: the handlers run once per tag and text node, the
        # hottest code of the parser, and cell variables are cheaper than attributes.
        rows = self._rows
        record: Row | None = None
        field: str | None = None
        parts: list[str] = []  # the field's text, joined once at its end: linear
        size = 0
        depth = 0
        max_depth = self._limits.max_depth
        max_text = self._limits.max_field_bytes  # characters: at least as many bytes

        def start(tag: str, _attrs: dict[str, str]) -> None:
            nonlocal record, field, size, depth
            depth += 1
            if depth > max_depth:
                self._refuse(f"XML nested deeper than max_depth ({max_depth})")
            if record is None:
                if tag == record_tag:
                    record = {}
                elif depth == 1:
                    self._see_root(tag)
                elif depth == 2:
                    self._other_children = True
            elif field is None:
                field, size = tag, 0
                parts.clear()

        def characters(data: str) -> None:
            nonlocal size
            if field is not None:
                parts.append(data)
                size += len(data)
                if size > max_text:
                    self._refuse(f"XML text node longer than max_field_bytes ({max_text})")

        def end(tag: str) -> None:
            nonlocal record, field, depth
            depth -= 1
            if field is not None:
                if tag == field and record is not None:
                    record[field] = parts[0] if len(parts) == 1 else "".join(parts)
                    field = None
            elif record is not None and tag == record_tag:
                rows.append(record)
                record = None

        parser.StartElementHandler = start
        parser.CharacterDataHandler = characters
        parser.EndElementHandler = end

    def _see_root(self, tag: str) -> None:
        self._root = tag
        if self._root_tag is not None and tag != self._root_tag:
            self._refuse(f"XML document is a <{tag}>, not a <{self._root_tag}> report")

    def _refuse(self, message: str) -> NoReturn:
        raise ResponseFormatError(
            message,
            record_index=self._records + len(self._rows),
            byte_offset=self._parser.CurrentByteIndex,
        )

    @keeping_faults
    def feed(self, data: bytes) -> list[Row]:
        """Consume a chunk of the document; return the records it completed."""
        if self._closed:
            raise RuntimeError("feed() after close()")
        if self._open_markup > _DEFER_FROM:
            # expat 2.5 scans open markup again from its start at each Parse: fed in
            # pieces at least as long as what is open, it scans each byte O(1) times.
            self._held.append(data)
            self._held_size += len(data)
            within = self._open_markup + self._held_size <= self._limits.max_field_bytes
            if self._held_size < self._open_markup and within:
                return []
            data = b"".join(self._held)
            self._held.clear()
            self._held_size = 0
        return self._parse(data, final=False)

    @keeping_faults
    def close(self) -> list[Row]:
        """Mark the end of the document; raise if it is incomplete."""
        if self._closed:
            return []
        self._closed = True
        data = b"".join(self._held)
        self._held.clear()
        return self._parse(data, final=True)

    def _parse(self, data: bytes, *, final: bool) -> list[Row]:
        try:
            self._parser.Parse(data, final)
            self._fed += len(data)
            # Markup still open (a tag, its attributes, a comment) is held and scanned
            # again by expat at each chunk: bounded like a text node.
            open_at = max(0, self._parser.CurrentByteIndex)
            self._open_markup = self._fed - open_at
            if self._open_markup > self._limits.max_field_bytes:
                raise ResponseFormatError(
                    f"XML markup longer than max_field_bytes ({self._limits.max_field_bytes})",
                    record_index=self._records + len(self._rows),
                    byte_offset=open_at,
                )
            if final and self._no_records():
                raise ResponseFormatError(
                    f"XML document <{self._root}> holds no <{self._record_tag}> records"
                    " but other elements: not a report",
                    record_index=0,
                    byte_offset=0,
                )
        except expat.ExpatError as exc:
            self._fail(self._malformed(exc), cause=None)
        except ResponseFormatError as exc:
            self._fail(exc, cause=None)
        except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
            unsafe = UnsafeXMLError(
                f"unsafe XML refused: {exc}",
                record_index=self._records + len(self._rows),
                byte_offset=self._parser.CurrentByteIndex,
            )
            self._fail(unsafe, cause=exc)
        except (LookupError, ValueError) as exc:  # expat cannot read the declared encoding
            unreadable = ResponseFormatError(
                f"XML declares an encoding that cannot be read ({type(exc).__name__}: {exc})",
                record_index=self._records + len(self._rows),
                byte_offset=self._parser.CurrentByteIndex,
            )
            self._fail(unreadable, cause=exc)
        rows = self._rows[:]
        self._rows.clear()
        self._records += len(rows)
        return rows

    def _no_records(self) -> bool:
        return self._records == 0 and not self._rows and self._other_children

    def _fail(self, error: ResponseFormatError, *, cause: Exception | None) -> None:
        """Raise ``error`` now, or after handing over the records completed before it."""
        error.__cause__ = cause
        self._keep_fault(error, rows_before=bool(self._rows))

    def _refuse_skipped_entity(self, name: str, _is_parameter_entity: bool) -> NoReturn:
        parser = self._parser
        raise ResponseFormatError(
            f"malformed XML: undefined entity {name!r}"
            f" at line {parser.CurrentLineNumber}, column {parser.CurrentColumnNumber}",
            record_index=self._records + len(self._rows),
            byte_offset=parser.CurrentByteIndex,
        )

    def _malformed(self, exc: expat.ExpatError) -> ResponseFormatError:
        return ResponseFormatError(
            f"malformed XML: {expat.ErrorString(exc.code)}"
            f" at line {exc.lineno}, column {exc.offset}",
            record_index=self._records + len(self._rows),
            byte_offset=max(0, self._parser.ErrorByteIndex),  # -1 for an empty body
        )


def _refuse_external_dtd(
    name: str, sysid: str | None, pubid: str | None, _has_internal_subset: bool
) -> None:
    if sysid is not None or pubid is not None:
        raise DTDForbidden(name, sysid, pubid)


def _refuse_entity(
    name: str,
    _is_parameter_entity: bool,
    value: str | None,
    base: str | None,
    sysid: str | None,
    pubid: str | None,
    notation_name: str | None,
) -> NoReturn:
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)


def _refuse_unparsed_entity(
    name: str,
    base: str | None,
    sysid: str | None,
    pubid: str | None,
    notation_name: str | None,
) -> NoReturn:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation_name)


def _refuse_external_reference(
    context: str, base: str | None, sysid: str | None, pubid: str | None
) -> NoReturn:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)
