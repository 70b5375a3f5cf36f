"""Sans-I/O push parsers: bytes in, raw rows out; no httpx, no asyncio."""

from ._base import Decoder, Parser, Row
from ._csv import CSVParser
from ._json import JSONParser
from ._limits import DEFAULT_LIMITS, BodyLimits
from ._xml import XMLParser

__all__ = [
    "DEFAULT_LIMITS",
    "BodyLimits",
    "CSVParser",
    "Decoder",
    "JSONParser",
    "Parser",
    "Row",
    "XMLParser",
]
