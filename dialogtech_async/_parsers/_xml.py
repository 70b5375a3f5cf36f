"""An incremental XML parser for record lists, with defusedxml's safety rules."""

from __future__ import annotations

from typing import NoReturn
from xml.parsers import expat

from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from .._exceptions import ResponseFormatError, UnsafeXMLError
from ._base import KeepsFaults, Row, keeping_faults


class XMLParser(KeepsFaults):
    """Push parser yielding one dict per record element (child tag -> text).

    The document's encoding comes from its XML declaration (the legacy DialogTech API
    sends iso-8859-1). An internal DTD of element declarations is accepted; entity
    declarations, external entity references and external DTDs are refused as soon as
    they are seen, before anything is expanded or fetched (the rules of defusedxml,
    whose exceptions are chained as ``__cause__``). Nothing but the record being read is
    kept.

    Args:
        record_tag: the element that holds one record; its children are the fields.

    Raises:
        UnsafeXMLError: an entity declaration, external reference or external DTD.
        ResponseFormatError: malformed XML, with line, column and byte offset.
    """

    def __init__(self, *, record_tag: str = "record") -> None:
        self._rows: list[Row] = []
        self._records = 0
        self._closed = False
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
        text = ""

        def start(tag: str, _attrs: dict[str, str]) -> None:
            nonlocal record, field, text
            if record is None:
                if tag == record_tag:
                    record = {}
            elif field is None:
                field, text = tag, ""

        def characters(data: str) -> None:
            nonlocal text
            if field is not None:
                text += data

        def end(tag: str) -> None:
            nonlocal record, field
            if field is not None:
                if tag == field and record is not None:
                    record[field] = text
                    field = None
            elif record is not None and tag == record_tag:
                rows.append(record)
                record = None

        parser.StartElementHandler = start
        parser.CharacterDataHandler = characters
        parser.EndElementHandler = end

    @keeping_faults
    def feed(self, data: bytes) -> list[Row]:
        """Consume a chunk of the document; return the records it completed."""
        if self._closed:
            raise RuntimeError("feed() after close()")
        return self._parse(data, final=False)

    @keeping_faults
    def close(self) -> list[Row]:
        """Mark the end of the document; raise if it is incomplete."""
        if self._closed:
            return []
        self._closed = True
        return self._parse(b"", final=True)

    def _parse(self, data: bytes, *, final: bool) -> list[Row]:
        try:
            self._parser.Parse(data, final)
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
