"""Parsers of typed identifiers: accepted forms, every rejection reason, never a crash."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.identifiers import (
    IdentifierError,
    az_title_word,
    az_upper,
    parse_email,
    parse_fin,
    parse_id_card,
    parse_mobile_phone,
    parse_person_name,
    parse_power_kw,
    parse_registry_number,
)


def reason_of(parser: Callable[[str], object], text: str) -> str:
    with pytest.raises(IdentifierError) as caught:
        parser(text)
    return caught.value.reason


# ----------------------------------------------------------------------------- helpers


def test_az_upper_uses_dotted_and_dotless_i() -> None:
    assert az_upper("myi ılıq şəki") == "MYİ ILIQ ŞƏKİ"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("ilqar", "İlqar"),
        ("ılğar", "Ilğar"),
        ("məmmədova", "Məmmədova"),
        ("MƏMMƏDOVA", "Məmmədova"),
        ("İLQAR", "İlqar"),
        ("ILĞAR", "Ilğar"),
        ("iLQAR", "İlqar"),
        ("əliyeva-məmmədova", "Əliyeva-Məmmədova"),
        ("McDonald", "McDonald"),
        ("çingiz", "Çingiz"),
        ("ирина", "Ирина"),
    ],
)
def test_az_title_word(word: str, expected: str) -> None:
    assert az_title_word(word) == expected


def test_identifier_error_is_a_value_error_with_reason() -> None:
    error = IdentifierError("format")
    assert isinstance(error, ValueError)
    assert error.reason == "format"


# ----------------------------------------------------------------------------- person name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ilqar", "İlqar"),
        ("ılğar", "Ilğar"),
        ("  məmmədova  ", "Məmmədova"),
        ("ilqar   məmmədov", "İlqar Məmmədov"),
        ("Əliyeva-Məmmədova", "Əliyeva-Məmmədova"),
        ("Ирина Петрова", "Ирина Петрова"),
        ("o'neil", "O'neil"),
        ("Mə’mun", "Mə’mun"),
        ("dʼArtagnan", "DʼArtagnan"),
        ("Əli", "Əli"),
        ("Li", "Li"),
        ("I\u0307lqar", "İlqar"),  # decomposed İ
        ("\u200fİlqar\u200e", "İlqar"),  # bidi marks from copy-paste
    ],
)
def test_person_name_accepted(text: str, expected: str) -> None:
    assert parse_person_name(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \t\n", "empty"),
        ("A", "too_short"),
        ("ə", "too_short"),
        ("a" * 41, "too_long"),
        ("İlqar " * 8, "too_long"),
        ("Ilqar2", "characters"),
        ("Ilqar 🙂", "characters"),
        ("<b>Ilqar</b>", "characters"),
        ("Robert'); DROP TABLE users;--", "characters"),
        ("Ilqar;", "characters"),
        ("-Ilqar", "characters"),
        ("Ilqar-", "characters"),
        ("Il--qar", "characters"),
        ("'", "characters"),
        ("Ilqar\x00", "characters"),
        ("Ilqar_Məmmədov", "characters"),
    ],
)
def test_person_name_rejected(text: str, reason: str) -> None:
    assert reason_of(parse_person_name, text) == reason


def test_person_name_of_exactly_40_characters_is_accepted() -> None:
    name = "Ə" + "l" * 39
    assert parse_person_name(name) == name


# ----------------------------------------------------------------------------- FIN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5ABCD7E", "5ABCD7E"),
        ("5abcd7e", "5ABCD7E"),
        (" 5AB CD7E ", "5ABCD7E"),
        ("1234567", "1234567"),
    ],
)
def test_fin_accepted(text: str, expected: str) -> None:
    assert parse_fin(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("5ABCD7", "length"),
        ("5ABCD7EF", "length"),
        ("5ABCD7I", "forbidden_letters"),
        ("5ABCD7O", "forbidden_letters"),
        ("5abcd7i", "forbidden_letters"),
        ("5ABCDİ7", "forbidden_letters"),
        ("5ABCDı7", "forbidden_letters"),
        ("5ABC-7E", "characters"),
        ("5ABCŞ7E", "characters"),
        ("5ABCDßE", "characters"),
    ],
)
def test_fin_rejected(text: str, reason: str) -> None:
    assert reason_of(parse_fin, text) == reason


# ----------------------------------------------------------------------------- ID card


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AA1234567", "AA1234567"),
        ("aa 123 45 67", "AA1234567"),
        ("AZE12345678", "AZE12345678"),
        ("aze-12345678", "AZE12345678"),
        ("myi1234567", "MYİ1234567"),
        ("MYİ1234567", "MYİ1234567"),
        ("MYI1234567", "MYİ1234567"),
        ("DYI 1234567", "DYİ1234567"),
        ("dyı1234567", "DYİ1234567"),
    ],
)
def test_id_card_accepted(text: str, expected: str) -> None:
    assert parse_id_card(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("AA123456", "id_card_format"),
        ("AA12345678", "id_card_format"),
        ("AZE1234567", "id_card_format"),
        ("AB1234567", "id_card_format"),
        ("MYİ123456", "id_card_format"),
        ("AA12345٦7", "id_card_format"),  # Arabic-Indic digit
        ("1234567", "id_card_format"),
    ],
)
def test_id_card_rejected(text: str, reason: str) -> None:
    assert reason_of(parse_id_card, text) == reason


# ----------------------------------------------------------------------------- power


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7,5", "7.5"),
        ("7.5", "7.5"),
        (" 7.5 kVt", "7.5"),
        ("7,5kW", "7.5"),
        ("10 квт", "10"),
        ("7.5 kw", "7.5"),
        ("15 KVT", "15"),
        ("3 kilovat", "3"),
        ("10", "10"),
        ("10.0", "10"),
        ("7.50", "7.5"),
        ("0.5", "0.5"),
        ("１０", "10"),  # full-width digits
        ("+5", "5"),
        ("100000", "100000"),
    ],
)
def test_power_accepted(text: str, expected: str) -> None:
    value = parse_power_kw(text)
    assert value == Decimal(expected)
    assert str(value) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("abc", "not_a_number"),
        ("kw", "not_a_number"),
        ("1e3", "not_a_number"),
        ("nan", "not_a_number"),
        ("NaN", "not_a_number"),
        ("inf", "not_a_number"),
        ("Infinity", "not_a_number"),
        ("1.000,5", "not_a_number"),
        ("1,000.5", "not_a_number"),
        ("1 000", "not_a_number"),
        ("7.", "not_a_number"),
        (".5", "not_a_number"),
        ("0", "not_positive"),
        ("0,0", "not_positive"),
        ("-5", "not_positive"),
        ("7.55", "precision"),
        ("0.05", "precision"),
        ("100000.1", "too_long"),
        ("9" * 41, "too_long"),
    ],
)
def test_power_rejected(text: str, reason: str) -> None:
    assert reason_of(parse_power_kw, text) == reason


# ----------------------------------------------------------------------------- mobile phone


@pytest.mark.parametrize(
    "text",
    [
        "+994 50 123 45 67",
        "+994501234567",
        "050 123 45 67",
        "0501234567",
        "994501234567",
        "(050) 123-45-67",
        "00994501234567",
        "\u200e+994 50 123 45 67",
    ],
)
def test_mobile_phone_forms(text: str) -> None:
    assert parse_mobile_phone(text) == "+994501234567"


@pytest.mark.parametrize("code", ["10", "40", "44", "50", "51", "55", "60", "70", "77", "99"])
def test_every_azerbaijani_mobile_code(code: str) -> None:
    assert parse_mobile_phone(f"0{code} 123 45 67") == f"+994{code}1234567"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("012 498 12 34", "not_mobile"),
        ("+994 12 498 12 34", "not_mobile"),
        ("+7 912 123 45 67", "not_azerbaijani"),
        ("79121234567", "not_azerbaijani"),
        ("+90 532 123 45 67", "not_azerbaijani"),
        ("+1 202 555 0123", "not_azerbaijani"),
        ("12345", "format"),
        ("050 123 45", "format"),
        ("hello", "format"),
        ("050-FLOWERS", "format"),
        ("+", "format"),
        ("0" * 41, "too_long"),
    ],
)
def test_mobile_phone_rejected(text: str, reason: str) -> None:
    assert reason_of(parse_mobile_phone, text) == reason


# ----------------------------------------------------------------------------- e-mail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ilqar@example.com", "ilqar@example.com"),
        ("  Ilqar.Mammadov@Example.COM ", "Ilqar.Mammadov@example.com"),
        ("ilqar+bot@mail.az", "ilqar+bot@mail.az"),
    ],
)
def test_email_accepted(text: str, expected: str) -> None:
    assert parse_email(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("ilqar", "format"),
        ("ilqar@", "format"),
        ("@example.com", "format"),
        ("ilqar@@example.com", "format"),
        ("ilqar @example.com", "format"),
        ("Ilqar <ilqar@example.com>", "format"),
        ("a" * 250 + "@x.az", "too_long"),
    ],
)
def test_email_rejected(text: str, reason: str) -> None:
    assert reason_of(parse_email, text) == reason


# ----------------------------------------------------------------------------- registry number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "1"),
        ("  ab-123/45.6  ", "AB-123/45.6"),
        ("qeyd   12", "QEYD 12"),
        ("şi-12", "Şİ-12"),
    ],
)
def test_registry_number_accepted(text: str, expected: str) -> None:
    assert parse_registry_number(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("1" * 31, "too_long"),
        ("12#3", "characters"),
        ("12_3", "characters"),
        ("12;DROP", "characters"),
        ("<b>1</b>", "characters"),
        ("---", "characters"),
    ],
)
def test_registry_number_rejected(text: str, reason: str) -> None:
    assert reason_of(parse_registry_number, text) == reason


# ----------------------------------------------------------------------------- robustness

PARSERS: list[Callable[[str], object]] = [
    parse_person_name,
    parse_fin,
    parse_id_card,
    parse_power_kw,
    parse_mobile_phone,
    parse_email,
    parse_registry_number,
]

NASTY = [
    "\x00",
    "\u202e\u200f",
    "🙂" * 20,
    "x" * 5000,
    "9" * 5000,
    "+" + "9" * 5000,
    "a@" + "b" * 5000 + ".az",
    "'; DROP TABLE users; --",
    "<script>alert(1)</script>",
    "\ud800",
    "ﷺ" * 30,
    "İ" * 100,
    "1e999999",
    "-0",
    "@",
    "@@",
    "a@b",
    "a@xn--",
    "a@-.az",
    ".",
]


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("text", NASTY)
def test_nasty_inputs_give_a_value_or_an_identifier_error(
    parser: Callable[[str], object], text: str
) -> None:
    with contextlib.suppress(IdentifierError):
        parser(text)


@pytest.mark.parametrize("parser", PARSERS)
@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_gives_a_value_or_an_identifier_error(
    parser: Callable[[str], object], text: str
) -> None:
    try:
        parser(text)
    except IdentifierError as error:
        assert error.reason


@pytest.mark.parametrize("parser", PARSERS)
@settings(max_examples=200, deadline=None)
@given(text=st.from_regex(r"[0-9+()\- .,@a-zA-Zİıəşçğöü'/]{0,40}", fullmatch=True))
def test_near_valid_text_gives_a_value_or_an_identifier_error(
    parser: Callable[[str], object], text: str
) -> None:
    try:
        parser(text)
    except IdentifierError as error:
        assert error.reason


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60))
def test_parsers_are_idempotent_on_what_they_return(text: str) -> None:
    for parser in (parse_person_name, parse_fin, parse_id_card, parse_registry_number):
        try:
            value = parser(text)
        except IdentifierError:
            continue
        assert parser(str(value)) == value
