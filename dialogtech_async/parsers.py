"""Sans-I/O push parsers for the APIs' CSV, XML and JSON bodies.

They do no I/O: feed them bytes split anywhere, call ``close()`` at the end, and use
the rows they return::

    from dialogtech_async.parsers import CSVParser

    parser = CSVParser()
    rows = parser.feed(b'"Caller ID","Name"\\n"312","A')  # [] (row incomplete)
    rows += parser.close()                                # [{"Caller ID": "312", "Name": "A"}]

A parser raises ``ResponseFormatError`` on a malformed body, only after returning the
rows that came before the fault.
"""

from ._parsers import BodyLimits, CSVParser, JSONParser, Parser, Row, XMLParser

__all__ = ["BodyLimits", "CSVParser", "JSONParser", "Parser", "Row", "XMLParser"]

for _name in __all__:
    if isinstance(globals()[_name], type):
        globals()[_name].__module__ = __name__
