"""Seed-shaped bodies for the benchmarks: the spec examples' rows, repeated with variety."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

CSV_HEADER = [
    "Caller ID", "Name", "Page", "Ref", "Click Description", "Click Date/Time",
    "Number Connected", "Call Duration", "Referral Keywords", "Referral Domain",
    "IP Address", "Call 1 Result", "Call 2 Result",
]  # fmt: skip
XML_PROLOG = """<?xml version='1.0' encoding='iso-8859-1'?>
<!DOCTYPE data [
  <!ELEMENT data (record+)>
  <!ELEMENT record (Caller_ID,Name,Page,Ref,Click_Description,Click_Date_Time,Number_Connected,Call_Duration,Referral_Keywords,Referral_Domain,IP_Address,Call_1_Result,Call_2_Result)>
]>
<data>
"""  # noqa: E501 - the spec's own line
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def click_row(i: int) -> list[str]:
    """Row ``i``: like the spec example's rows, with some empty and non-ASCII fields."""
    return [
        f"000111{i % 10000:04d}",
        "Click to Call" if i % 3 else 'Café, "Müller"',
        "" if i % 2 else "home.html",
        f"ref-{i % 7}" if i % 5 else "",
        "On Call Number" if i % 2 else "URL based",
        f"{MONTHS[i % 12]} {1 + i % 28:02d} 2017 {1 + i % 12}:{i % 60:02d} {'AP'[i % 2]}M",
        f"555666{i % 10000:04d}",
        str(i % 600),
        "",
        "",
        f"192.168.{i % 256}.{(i // 256) % 256}",
        "ANSWER",
        "ANSWER" if i % 4 else "NOANSWER",
    ]


def click_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(click_row(i) for i in range(rows))
    return out.getvalue().rstrip("\n").encode("utf-8")  # no trailing newline, like the API


def click_xml(rows: int) -> bytes:
    tags = [name.replace(" ", "_").replace("/", "_") for name in CSV_HEADER]
    tags[5] = "Click_Date_Time"
    parts = [XML_PROLOG]
    for i in range(rows):
        fields = "".join(
            f"        <{tag}>{escape(value)}</{tag}>\n"
            for tag, value in zip(tags, click_row(i), strict=False)
        )
        parts.append(f"    <record>\n{fields}    </record>\n")
    parts.append("</data>\n")
    return "".join(parts).encode("iso-8859-1")


def leadflow_row(i: int) -> dict[str, object]:
    qualified = i % 3 != 0
    return {
        "call_date": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00",
        "set_name": "Set A",
        "affiliate": f"Affiliate {i % 9}",
        "phone_label": "Main",
        "affiliate_number": "8005550100",
        "advertiser": "Acme" if qualified else None,
        "offer": "Offer 1" if qualified else None,
        "transfer_number": "3125550100",
        "caller_id": f"312555{i % 10000:04d}",
        "lead_status": ("Connected", "Affiliate Cap", "No Buyer", "Hang Up")[i % 4],
        "entered_zip": "60601",
        "lf_state": "IL",
        "first_name": "Zoë",
        "last_name": "Smith",
        "street_address": "1 Main St",
        "city": "Chicago",
        "state": "IL",
        "zipcode": "60601",
        "reroute": "N",
        "repeat_affiliate_caller": "Y" if i % 2 else "N",
        "affiliate_cap": "N",
        "offer_qualified": "Y" if qualified else "N",
        "offer_price": 12.5 if qualified else None,
        "affiliate_qualified": "Y" if qualified else "N",
        "affiliate_price": 7.25 if qualified else None,
        "margin": 5.25 if qualified else None,
        "talk_minutes": 1.5,
        "talk_seconds": 90,
        "total_minutes": 2.1,
        "total_seconds": 126,
        "call_duration": 3,
        "recording_link": f"https://example.invalid/rec/{i}",
        "contest_qualification": "",
        "sid": f"sid-{i}",
    }


def leadflow_json(rows: int) -> bytes:
    body = ",\n".join(json.dumps(leadflow_row(i)) for i in range(rows))
    return ('{"response": [\n' + body + "\n]}").encode("utf-8")


#: The chunk size the in-memory sides are fed unless told otherwise.
CHUNK = 64 * 1024


def chunked(body: bytes, size: int = CHUNK) -> Iterator[bytes]:
    """``body`` in ``size``-byte chunks, each sliced when it is asked for (no second copy of
    the body held at once, as no network client would hold one)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def sized(body: bytes, sizes: Iterable[int]) -> Iterator[bytes]:
    """``body`` in chunks of ``sizes`` (those a client received), sliced as ``chunked``."""
    start = 0
    for size in sizes:
        yield body[start : start + size]
        start += size
    if start != len(body):
        raise ValueError(f"the chunk sizes add up to {start} bytes, the body has {len(body)}")
