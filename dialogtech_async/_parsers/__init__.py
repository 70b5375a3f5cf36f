"""Sans-I/O push parsers: bytes in, raw rows out; no httpx, no asyncio."""

from ._base import Parser, Row
from ._csv import CSVParser
from ._json import JSONParser
from ._xml import XMLParser

__all__ = ["CSVParser", "JSONParser", "Parser", "Row", "XMLParser"]
