"""Typed records and their converters: raw parser rows -> frozen, slotted attrs records."""

from __future__ import annotations

import copy
import datetime as dt
import pickle
from decimal import Decimal
from typing import Any

import _fixtures as fx
import attrs
import cattrs
import pytest

import dialogtech_async as dta
from dialogtech_async._convert import RecordConverter, configure_converter, snake_case
from dialogtech_async._reader import record_reader
from dialogtech_async.parsers import CSVParser, JSONParser, XMLParser

UTC = dt.timezone.utc
HOUR = dt.timedelta(hours=1)


def _json_records(record_type: type[Any], name: str) -> list[Any]:
    rows = fx.parse_all(JSONParser(), [fx.read(name)])
    return RecordConverter(record_type).convert(rows)


# --- snake_case ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("Click Date/Time", "click_datetime"),
        ("Click_Date_Time", "click_datetime"),
        ("triggerDatetime", "trigger_datetime"),
        ("Caller ID", "caller_id"),
        ("Caller_ID", "caller_id"),
        ("IP Address", "ip_address"),
        ("IP_Address", "ip_address"),
        ("Call 1 Result", "call_1_result"),
        ("Call_2_Result", "call_2_result"),
        ("srcPhoneNumber", "src_phone_number"),
        ("igrpName", "igrp_name"),
        ("adGroup", "ad_group"),
        ("stateStartDatetime", "state_start_datetime"),
        ("call_date", "call_date"),
    ],
)
def test_snake_case(key: str, field: str) -> None:
    assert snake_case(key) == field


# --- Click-to Report ----------------------------------------------------------------------

CLICK_TO_FIELDS = [
    "caller_id",
    "name",
    "page",
    "ref",
    "click_description",
    "click_datetime",
    "number_connected",
    "call_duration",
    "referral_keywords",
    "referral_domain",
    "ip_address",
    "call_1_result",
    "call_2_result",
]


def _click_to_from_csv(body: bytes) -> list[dta.ClickToRecord]:
    return RecordConverter(dta.ClickToRecord).convert(fx.parse_all(CSVParser(), [body]))


def _click_to_from_xml(body: bytes) -> list[dta.ClickToRecord]:
    return RecordConverter(dta.ClickToRecord).convert(fx.parse_all(XMLParser(), [body]))


def test_click_to_record_fields_are_the_snake_case_keys() -> None:
    names = [field.name for field in attrs.fields(dta.ClickToRecord)]
    assert names == [*CLICK_TO_FIELDS, "extra"]
    assert [snake_case(key) for key in fx.CSV_HEADER] == CLICK_TO_FIELDS
    assert [snake_case(tag) for tag in fx.XML_TAGS] == CLICK_TO_FIELDS


def test_click_to_records_from_the_spec_csv() -> None:
    first, second = _click_to_from_csv(fx.read("clickto_report.csv"))
    assert first == dta.ClickToRecord(
        caller_id="0001112222",
        name="Click to Call",
        page=None,
        ref=None,
        click_description="On Call Number",
        click_datetime=dt.datetime(2017, 1, 13, 22, 52),
        number_connected="5556667777",
        call_duration=9,
        referral_keywords=None,
        referral_domain=None,
        ip_address="127.0.0.1",
        call_1_result="ANSWER",
        call_2_result="ANSWER",
    )
    assert second.caller_id == "0001112222"  # text: the leading zeros stay
    assert second.name is None
    assert second.click_description == "URL based"
    assert second.click_datetime == dt.datetime(2017, 2, 1, 15, 57)
    assert second.number_connected == "9998887777"
    assert second.call_duration == 1
    assert type(second.call_duration) is int
    assert second.ip_address == "192.168.1.1"
    assert first.extra == {}
    assert second.extra == {}


def test_click_to_records_from_csv_and_xml_are_equal() -> None:
    from_csv = _click_to_from_csv(fx.read("clickto_report.csv"))
    from_xml = _click_to_from_xml(fx.read("clickto_report.xml"))
    assert len(from_csv) == 2
    assert from_csv == from_xml


def test_one_converter_serves_both_key_layouts() -> None:
    converter = RecordConverter(dta.ClickToRecord)
    csv_rows = fx.parse_all(CSVParser(), [fx.read("clickto_report.csv")])
    xml_rows = fx.parse_all(XMLParser(), [fx.read("clickto_report.xml")])
    assert converter.convert(csv_rows) == converter.convert(xml_rows)
    assert converter.convert(xml_rows + csv_rows)[1:3] == converter.convert(
        csv_rows[1:] + xml_rows[:1]
    )


def test_unicode_fixture_records() -> None:
    records = _click_to_from_csv(fx.read("clickto_report_unicode.csv"))
    latin1 = _click_to_from_xml(fx.read("clickto_report_latin1.xml"))
    assert records[2].name == "Zoë Ñandú 📞"
    assert records[2].ref == 'ref "quoted"'
    assert records[2].click_datetime == dt.datetime(2017, 1, 13, 0, 5)
    assert records[2].call_duration == 42
    assert latin1[2].name == "Café"
    assert latin1[2].click_description == "Zoë Ñandú"
    assert latin1[:2] == records[:2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jan 13 2017 10:52 PM", dt.datetime(2017, 1, 13, 22, 52)),
        ("Feb 01 2017 3:57 PM", dt.datetime(2017, 2, 1, 15, 57)),
        ("Jan 13 2017 12:05 AM", dt.datetime(2017, 1, 13, 0, 5)),
        ("Jan 13 2017 12:05 PM", dt.datetime(2017, 1, 13, 12, 5)),
        ("Jan 13 2017 12:00 AM", dt.datetime(2017, 1, 13, 0, 0)),
        ("Jan 13 2017 11:59 PM", dt.datetime(2017, 1, 13, 23, 59)),
        ("Jan 13 2017 1:00 AM", dt.datetime(2017, 1, 13, 1, 0)),
        ("Dec 31 2016 11:59 AM", dt.datetime(2016, 12, 31, 11, 59)),
        ("Feb 29 2016 6:30 pm", dt.datetime(2016, 2, 29, 18, 30)),
    ],
)
def test_click_datetime(text: str, expected: dt.datetime) -> None:
    [record] = RecordConverter(dta.ClickToRecord).convert([{"Click Date/Time": text}])
    assert record.click_datetime == expected
    assert record.click_datetime is not None
    assert record.click_datetime.tzinfo is None  # the legacy API gives no zone


@pytest.mark.parametrize(
    "text",
    [
        "Jan 32 2017 10:52 PM",
        "Foo 13 2017 10:52 PM",
        "Jan 13 2017 10:60 PM",
        "Jan 13 2017 13:05 AM",  # a 12-hour clock has no hour 13
        "Jan 13 2017 0:05 AM",
        "Jan 13 2017 10:52 XM",
        "Jan 13 2017 10:52",
        "2017-01-13 22:52",
        "Feb 29 2017 1:00 AM",
        "Jan 13 17 1:00 PM",  # a two-digit year is not year 17
        "Jan 13 2017 +1:-0 PM",
        "Jan 13 2017 10:5 PM",
    ],
)
def test_bad_click_datetime_is_a_format_error(text: str) -> None:
    with pytest.raises(dta.ResponseFormatError, match="click_datetime") as info:
        RecordConverter(dta.ClickToRecord).convert([{"Click Date/Time": text}])
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("text", ["1_000", " 9 ", "+5", "1,234", "9.0", "\u00b2", "0x1f"])
def test_int_text_is_plain_digits(text: str) -> None:
    # The row-by-row path (JSON, XML, dict rows) and the CSV column path agree.
    with pytest.raises(dta.ResponseFormatError, match="call_duration"):
        RecordConverter(dta.ClickToRecord).convert([{"Call Duration": text}])
    body = b'"Caller ID","Call Duration"\n"1","' + text.encode() + b'"\n'
    with pytest.raises(dta.ResponseFormatError, match="call_duration"):
        fx.parse_all(record_reader(CSVParser(), RecordConverter(dta.ClickToRecord)), [body])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("talk_seconds", Decimal("1e1000000")),  # int() of it: a million digits, 39 s
        ("talk_seconds", Decimal("NaN")),
        ("talk_seconds", Decimal("Infinity")),
        ("talk_seconds", Decimal("1.5")),
        ("offer_price", "NaN"),
        ("offer_price", "sNaN"),  # would make hash(record) raise
        ("offer_price", "Infinity"),
        ("offer_price", "1_000"),
        ("offer_price", " 1.5"),
        ("offer_price", Decimal("NaN")),
    ],
)
def test_numbers_that_are_not_finite_or_not_plain_are_refused(field: str, value: Any) -> None:
    with pytest.raises(dta.ResponseFormatError, match=field):
        RecordConverter(dta.LeadFlowCall).convert([{field: value}])


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("talk_seconds", Decimal("138"), 138),
        ("talk_seconds", Decimal("1.38E+2"), 138),
        ("talk_seconds", "-5", -5),
        ("offer_price", "12.50", Decimal("12.50")),
        ("offer_price", "-.5", Decimal("-0.5")),
        ("offer_price", "1e2", Decimal("100")),
    ],
)
def test_plain_numbers_are_read(field: str, value: Any, expected: Any) -> None:
    [call] = RecordConverter(dta.LeadFlowCall).convert([{field: value}])
    assert getattr(call, field) == expected


def test_empty_strings_become_none() -> None:
    row = dict.fromkeys(fx.CSV_HEADER, "")
    [record] = RecordConverter(dta.ClickToRecord).convert([row])
    assert all(getattr(record, name) is None for name in CLICK_TO_FIELDS)
    assert record == dta.ClickToRecord()


def test_unknown_key_is_kept_in_extra() -> None:
    rows = fx.parse_all(CSVParser(), [b'"Caller ID","Call Duration","Agent Name"\n"1","9","Ana"\n'])
    [record] = RecordConverter(dta.ClickToRecord).convert(rows)
    assert record.caller_id == "1"
    assert record.call_duration == 9
    assert record.extra == {"Agent Name": "Ana"}


def test_unknown_xml_tag_is_kept_in_extra() -> None:
    body = b"<data><record><Caller_ID>1</Caller_ID><Agent_Name></Agent_Name></record></data>"
    [record] = _click_to_from_xml(body)
    assert record.caller_id == "1"
    assert record.extra == {"Agent_Name": ""}


def test_bad_value_names_field_value_and_record_index() -> None:
    good = dict(zip(fx.CSV_HEADER, fx.SPEC_VALUES[0], strict=True))
    bad = {**good, "Call Duration": "nine"}
    with pytest.raises(dta.ResponseFormatError) as info:
        RecordConverter(dta.ClickToRecord).convert([good, good, bad], first_index=40)
    error = info.value
    assert error.record_index == 42
    message = str(error)
    assert "call_duration" in message
    assert "'nine'" in message
    assert "Call Duration" in message
    assert "record 42" in message


def test_convert_leaves_its_input_alone() -> None:
    rows = [{"Caller ID": "1", "Agent Name": "Ana"}, {"Caller ID": "2", "Agent Name": ""}]
    before = copy.deepcopy(rows)
    converter = RecordConverter(dta.ClickToRecord)
    first = converter.convert(rows)
    assert rows == before
    assert converter.convert(rows) == first
    assert first[0].extra == {"Agent Name": "Ana"}


def test_first_index_defaults_to_zero() -> None:
    with pytest.raises(dta.ResponseFormatError) as info:
        RecordConverter(dta.ClickToRecord).convert([{"Call Duration": "1"}, {"Call Duration": "x"}])
    assert info.value.record_index == 1


# --- frozen, slotted ------------------------------------------------------------------------

RECORD_TYPES = [
    dta.ClickToRecord,
    dta.LeadFlowCall,
    dta.ActiveCall,
    dta.PbxActiveCall,
    dta.PbxUserStatus,
    dta.CallResult,
]


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_records_are_frozen_and_slotted(record_type: type[Any]) -> None:
    assert attrs.has(record_type)
    assert "__slots__" in vars(record_type)
    record = record_type("x") if record_type is dta.CallResult else record_type()
    first = attrs.fields(record_type)[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(record, first, "changed")
    assert not hasattr(record, "__dict__")
    with pytest.raises((AttributeError, TypeError)):
        record.not_a_field = 1


def test_records_with_mapping_fields_can_be_hashed() -> None:
    # Mapping fields are compared and hashed by their contents (a dict has no hash).
    [call] = _json_records(dta.ActiveCall, "infinity_active_call_advanced.json")
    assert call.pass_through_tags
    assert call.custom_variables
    rows = fx.parse_all(CSVParser(), [b'"Caller ID","Agent Name"\n"1","Ana"\n"1","Ana"\n'])
    first, second = RecordConverter(dta.ClickToRecord).convert(rows)
    assert first.extra == {"Agent Name": "Ana"}
    assert first == second
    assert first is not second
    assert hash(first) == hash(second)
    assert len({first, second, call, attrs.evolve(call)}) == 2
    # Records differing only in a mapping field still differ.
    assert attrs.evolve(first, extra={"Agent Name": "Bo"}) != first


def test_records_differing_only_in_extra_hash_apart() -> None:
    # PBX records hold nearly everything in `extra`: a hash of `state` alone would put
    # a set of active calls in a handful of buckets (quadratic time).
    calls = [
        dta.PbxActiveCall(state="bridged", extra={"id": str(i), "legs": [{"n": i}]})
        for i in range(2000)
    ]
    assert len({hash(call) for call in calls}) > 1900
    assert len(set(calls)) == 2000
    same = dta.PbxActiveCall(state="bridged", extra={"legs": [{"n": 7}], "id": "7"})
    assert same == calls[7]
    assert hash(same) == hash(calls[7])


@pytest.mark.parametrize(
    "record",
    [
        dta.ClickToRecord(caller_id="1"),  # the default, empty `extra`
        dta.ClickToRecord(caller_id="1", extra={"Agent Name": "Ana"}),
        dta.ActiveCall(txr="T", pass_through_tags={"gclid": "x"}),
        dta.LeadFlowCall(sid="S", lead_status=dta.LeadStatus.CONNECTED),
    ],
    ids=["default-extra", "extra", "active-call", "leadflow"],
)
def test_records_pickle_and_copy(record: Any) -> None:
    # Process pools and caches pickle records; an empty MappingProxyType cannot be.
    again = pickle.loads(pickle.dumps(record))
    assert again == record
    assert hash(again) == hash(record)
    assert copy.deepcopy(record) == record


def test_converted_record_is_frozen() -> None:
    [record] = _click_to_from_csv(fx.read("clickto_report.csv"))[:1]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        record.call_duration = 10  # type: ignore[misc]


def test_call_result_connected() -> None:
    assert dta.CallResult("Call Connected").connected is True
    assert dta.CallResult("Call Connected\n").connected is True
    assert dta.CallResult("No Answer").connected is False
    assert dta.CallResult("No Answer").message == "No Answer"


# --- LeadFlow History -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def leadflow() -> list[dta.LeadFlowCall]:
    return _json_records(dta.LeadFlowCall, "leadflow_history.json")


def test_leadflow_every_documented_key_is_a_field(leadflow: list[dta.LeadFlowCall]) -> None:
    assert len(fx.LEADFLOW_KEYS) == 34
    names = {field.name for field in attrs.fields(dta.LeadFlowCall)}
    assert {snake_case(key) for key in fx.LEADFLOW_KEYS} <= names
    assert all(call.extra == {} for call in leadflow)


def test_leadflow_call_date_is_eastern_time(leadflow: list[dta.LeadFlowCall]) -> None:
    winter, summer, before_dst = leadflow[0].call_date, leadflow[1].call_date, leadflow[2].call_date
    assert winter is not None
    assert summer is not None
    assert before_dst is not None
    assert str(winter.tzinfo) == "America/New_York"
    assert winter.replace(tzinfo=None) == dt.datetime(2017, 1, 13, 22, 52, 7)
    assert winter.utcoffset() == -5 * HOUR  # EST
    assert summer.utcoffset() == -4 * HOUR  # EDT
    assert summer.replace(tzinfo=None) == dt.datetime(2017, 7, 4, 9, 15, 30)
    assert winter.astimezone(UTC) == dt.datetime(2017, 1, 14, 3, 52, 7, tzinfo=UTC)
    assert summer.astimezone(UTC) == dt.datetime(2017, 7, 4, 13, 15, 30, tzinfo=UTC)
    # One second before the spring change (2017-03-12 02:00 EST) is still standard time.
    assert before_dst.utcoffset() == -5 * HOUR
    assert all(call.call_date is not None and call.call_date.tzinfo for call in leadflow)


def test_leadflow_call_date_with_an_offset_is_the_same_instant_in_eastern_time() -> None:
    rows = [{"call_date": "2017-01-13T22:52:07Z"}, {"call_date": "2017-07-04T15:15:30+02:00"}]
    winter, summer = RecordConverter(dta.LeadFlowCall).convert(rows)
    assert winter.call_date == dt.datetime(2017, 1, 13, 22, 52, 7, tzinfo=UTC)
    assert summer.call_date == dt.datetime(2017, 7, 4, 13, 15, 30, tzinfo=UTC)
    assert winter.call_date is not None
    assert summer.call_date is not None
    assert str(winter.call_date.tzinfo) == str(summer.call_date.tzinfo) == "America/New_York"
    assert winter.call_date.replace(tzinfo=None) == dt.datetime(2017, 1, 13, 17, 52, 7)
    assert summer.call_date.replace(tzinfo=None) == dt.datetime(2017, 7, 4, 9, 15, 30)


def test_trigger_datetime_with_another_offset_is_the_same_instant_in_utc() -> None:
    rows = [{"igrp": "1", "triggerDatetime": "2024-01-02T05:04:05+02:00"}]
    [call] = RecordConverter(dta.ActiveCall).convert(rows)
    assert call.trigger_datetime == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert call.trigger_datetime is not None
    assert call.trigger_datetime.utcoffset() == dt.timedelta(0)


def test_leadflow_money_is_decimal(leadflow: list[dta.LeadFlowCall]) -> None:
    first, second, third = leadflow[:3]
    # JSON numbers, parsed by JSONParser
    assert first.offer_price == Decimal("12.50")
    assert str(first.offer_price) == "12.50"
    assert first.affiliate_price == Decimal("5.25")
    assert first.margin == Decimal("7.25")
    # strings
    assert second.offer_price == Decimal("0.00")
    assert second.margin == Decimal("-1.75")
    # JSON integers
    assert third.offer_price == Decimal(0)
    for call in leadflow:
        for value in (call.offer_price, call.affiliate_price, call.margin):
            assert type(value) is Decimal


def test_leadflow_durations(leadflow: list[dta.LeadFlowCall]) -> None:
    first, second, third = leadflow[:3]
    assert first.talk_minutes == Decimal("2.3")
    assert type(first.talk_minutes) is Decimal
    assert second.talk_minutes == Decimal("0.0")
    assert type(third.talk_minutes) is Decimal
    assert first.total_minutes == Decimal("2.5")
    assert (first.talk_seconds, first.total_seconds, first.call_duration) == (138, 150, 3)
    assert (second.talk_seconds, second.total_seconds, second.call_duration) == (0, 25, 1)
    for call in leadflow:
        for value in (call.talk_seconds, call.total_seconds, call.call_duration):
            assert type(value) is int


def test_leadflow_yes_no_flags_are_bool(leadflow: list[dta.LeadFlowCall]) -> None:
    first, second = leadflow[:2]
    assert first.reroute is False
    assert first.repeat_affiliate_caller is True
    assert first.offer_qualified is True
    assert first.affiliate_qualified is True
    assert second.offer_qualified is False
    assert second.affiliate_qualified is False
    assert leadflow[4].reroute is True


def test_leadflow_lead_status(leadflow: list[dta.LeadFlowCall]) -> None:
    statuses = [call.lead_status for call in leadflow]
    assert statuses[:4] == [
        dta.LeadStatus.CONNECTED,
        dta.LeadStatus.AFFILIATE_CAP,
        dta.LeadStatus.NO_BUYER,
        dta.LeadStatus.HANG_UP,
    ]
    assert all(isinstance(status, dta.LeadStatus) for status in statuses[:4])
    # A status the spec does not list is kept as the API's text, not an error.
    assert statuses[4] == "Voicemail"
    assert not isinstance(statuses[4], dta.LeadStatus)


def test_lead_status_values_are_the_documented_ones() -> None:
    assert {status.value for status in dta.LeadStatus} == {
        "Connected",
        "Affiliate Cap",
        "No Buyer",
        "Hang Up",
    }


def test_leadflow_text_fields(leadflow: list[dta.LeadFlowCall]) -> None:
    first, second = leadflow[:2]
    assert first.first_name == "Zoë"
    assert first.last_name == "Ñandú 📞"
    assert first.street_address == '1 Main St, Apt "B"'
    assert first.sid == "ABC123"
    assert first.set_name == "Home Services"
    assert first.zipcode == "60601"
    assert first.recording_link == "https://secure.dialogtech.com/recording.php?sid=ABC123"
    assert first.contest_qualification is None  # ""
    assert leadflow[4].contest_qualification == "challenged"
    assert second.advertiser is None  # JSON null
    assert second.offer is None
    assert second.phone_label is None  # ""
    assert second.affiliate_cap == "Y"  # undocumented values: kept as sent


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("offer_price", "12,50"),
        ("margin", True),
        ("reroute", "maybe"),
        ("talk_seconds", Decimal("9.5")),  # a fraction is not an int: no silent truncation
        ("talk_seconds", 9.5),
        ("total_seconds", "1.0"),
        ("call_date", "13/01/2017"),
        ("lead_status", {"x": 1}),
        ("sid", ["A"]),
    ],
)
def test_leadflow_bad_values(key: str, value: Any) -> None:
    row = {"sid": "A", key: value}
    with pytest.raises(dta.ResponseFormatError) as info:
        RecordConverter(dta.LeadFlowCall).convert([row], first_index=7)
    assert f"LeadFlowCall.{key}" in str(info.value)
    assert info.value.record_index == 7


def test_leadflow_integral_decimal_is_an_int() -> None:
    [call] = RecordConverter(dta.LeadFlowCall).convert([{"talk_seconds": Decimal("12.0")}])
    assert call.talk_seconds == 12
    assert type(call.talk_seconds) is int


# --- Infinity Active Call -------------------------------------------------------------------


def test_active_call_basic_mode() -> None:
    [call] = _json_records(dta.ActiveCall, "infinity_active_call_basic.json")
    assert (call.igrp, call.dgrp, call.txr) == (123, 4567, "T9A8B7C6D5")
    assert type(call.igrp) is int
    assert type(call.dgrp) is int
    assert call == dta.ActiveCall(igrp=123, dgrp=4567, txr="T9A8B7C6D5")
    assert call.pass_through_tags == {}
    assert call.custom_variables == {}
    assert call.extra == {}


def test_active_call_advanced_mode() -> None:
    [call] = _json_records(dta.ActiveCall, "infinity_active_call_advanced.json")
    assert call.igrp == 123
    assert call.igrp_name == "Acme Installation"
    assert call.vid == "V-0f1e2d3c"
    assert call.dgrp == 4567
    assert call.dgrp_name == "Main website"
    assert call.ch == 12
    assert call.ch_name == "Paid Search"
    assert call.ch_type == "ppc"
    assert call.pub == "Google"
    assert call.campaign == "Spring Sale"
    assert call.ad_group == "Boilers"
    assert call.match_ref == "boiler repair"
    assert call.txr == "T9A8B7C6D5"
    assert call.src_phone_number == "+441234567890"
    assert call.dialled_phone_number == "+441615550100"
    assert call.dest_phone_number == "+441615550199"
    assert call.trigger_datetime == dt.datetime(2024, 7, 1, 14, 7, 9, tzinfo=UTC)
    assert call.trigger_datetime is not None
    assert call.trigger_datetime.utcoffset() == dt.timedelta(0)  # UTC, even in July
    assert call.landing_page_title == "Boiler repair \u2013 Acme"  # an en dash
    assert call.page_title == "Contact us"
    assert call.landing_href == "https://example.com/boilers?utm_source=google"
    assert call.conversion_href == "https://example.com/contact"
    assert call.vref == "https://www.google.com/"
    assert call.call_state == "answered"
    assert (call.call_duration, call.bridge_duration) == (95, 80)
    assert call.pass_through_tags == {"gclid": "Cj0KCQ", "source": "newsletter"}
    assert call.custom_variables == {"customerType": "returning", "basketValue": "149.99"}
    assert call.extra == {}


def test_active_call_every_documented_key_is_a_field() -> None:
    names = {field.name for field in attrs.fields(dta.ActiveCall)}
    assert {snake_case(key) for key in fx.ACTIVE_CALL_ADVANCED_KEYS} <= names
    assert {snake_case(key) for key in fx.ACTIVE_CALL_BASIC_KEYS} <= names


@pytest.mark.parametrize(
    "row",
    [
        # Fields of every kind in both orders: each reads its own key.
        {"txr": "T1", "triggerDatetime": "2024-01-02 03:04:05", "igrp": "7"},
        {"triggerDatetime": "2024-01-02 03:04:05", "igrp": 7, "txr": "T1"},
        {"igrp": 7, "triggerDatetime": "2024-01-02T03:04:05Z", "txr": "T1"},
        {"txr": "T1", "igrp": "7", "triggerDatetime": "2024-01-02T03:04:05+00:00"},
    ],
)
def test_active_call_key_order_does_not_matter(row: dict[str, Any]) -> None:
    [call] = RecordConverter(dta.ActiveCall).convert([row])
    assert call.txr == "T1"
    assert call.igrp == 7
    assert call.trigger_datetime == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_active_call_trigger_datetime_with_another_offset_is_the_same_instant() -> None:
    [call] = RecordConverter(dta.ActiveCall).convert(
        [{"triggerDatetime": "2024-01-02T05:04:05+02:00"}]
    )
    assert call.trigger_datetime == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_active_call_unknown_keys_go_to_extra() -> None:
    row = {"igrp": 1, "newField": "x", "ptx": "y", "c_v": "z", "pt_src": "g"}
    [call] = RecordConverter(dta.ActiveCall).convert([row])
    assert call.igrp == 1
    assert call.pass_through_tags == {"src": "g"}
    assert call.custom_variables == {"v": "z"}
    assert call.extra == {"newField": "x", "ptx": "y"}


def test_active_call_bad_int() -> None:
    with pytest.raises(dta.ResponseFormatError, match=r"ActiveCall\.call_duration"):
        RecordConverter(dta.ActiveCall).convert([{"txr": "T", "callDuration": "long"}])


# --- Infinity PBX -------------------------------------------------------------------------------


def test_pbx_active_calls() -> None:
    calls = _json_records(dta.PbxActiveCall, "infinity_pbx_active_calls.json")
    assert [call.state for call in calls] == ["ringing", "queueing", "bridged"]
    assert calls[0].extra == {"callRef": "R1", "srcPhoneNumber": "+441234567890", "userId": 17}
    assert calls[1].extra == {"callRef": "R2", "queueName": "Sales"}
    assert calls[2].extra == {"callRef": "R3", "bridgeDatetime": "2024-07-01 14:07:09"}


def test_pbx_user_status() -> None:
    users = _json_records(dta.PbxUserStatus, "infinity_pbx_user_status.json")
    assert [user.state for user in users] == ["available", "unavailable"]
    assert [user.dashboard for user in users] == [True, False]
    # In the tz= asked for: naive when the API sends no offset, aware when it does.
    assert users[0].state_start_datetime == dt.datetime(2024, 7, 1, 14, 7, 9)
    assert users[1].state_start_datetime == dt.datetime(2024, 1, 15, 8, 0, tzinfo=UTC)
    assert users[0].extra == {"userId": 17, "userName": "Ana"}
    assert users[1].extra == {"userId": 18, "userName": "Bo"}


def test_pbx_user_status_bad_dashboard_flag() -> None:
    with pytest.raises(dta.ResponseFormatError, match="dashboard"):
        RecordConverter(dta.PbxUserStatus).convert([{"state": "available", "dashboard": "maybe"}])


# --- the converter's rules on their own ------------------------------------------------------


def test_configure_converter_registers_the_value_rules() -> None:
    converter = cattrs.Converter()
    assert configure_converter(converter) is converter
    assert converter.structure("12.50", Decimal | None) == Decimal("12.50")
    assert converter.structure("", Decimal | None) is None
    assert converter.structure("", int | None) is None
    assert converter.structure("9", int | None) == 9
    assert converter.structure("Y", bool | None) is True
    assert converter.structure("N", bool | None) is False
    assert converter.structure("", str | None) is None
    assert converter.structure("No Buyer", dta.LeadStatus | str | None) is dta.LeadStatus.NO_BUYER
    records = RecordConverter(dta.ClickToRecord, converter).convert(
        fx.parse_all(CSVParser(), [fx.read("clickto_report.csv")])
    )
    assert records == _click_to_from_csv(fx.read("clickto_report.csv"))
