"""Every view built from stored data fits Telegram's limits at the largest sizes the bot accepts.

Telegram counts UTF-16 code units (an emoji is 2): 4,096 for a message, 1,024 for a caption,
64 bytes of callback data. The views are rendered at the limits of the staff API and of the
dialogues' validation (comments, objections, broadcast texts, names, addresses, many history
entries), in every locale, with the characters that count most (emoji; Cyrillic letters that
the SMS form spells with four Latin ones).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String
from telegram import InlineKeyboardMarkup

from chat.telegram_text import MAX_CALLBACK_DATA, MAX_CAPTION, MAX_TEXT, pack, utf16_len
from conversations import act_text, acts
from conversations import broadcast as bc
from conversations.connection_draft import Draft
from conversations.connection_request import district_page, review_text
from delivery import act_notices, notices
from domain import identifiers
from domain.application_status import COMMENT_MAX, ApplicationStatus
from domain.districts import all_districts
from handlers import act_models, acts_api, api_models, my_applications, staff_status
from i18n import LOCALES, translate, use_locale
from storage.broadcasts import AudienceKind, Progress
from storage.citizen_applications import LIST_LIMIT
from storage.models import (
    ActObjection,
    Application,
    ApplicationStatusChange,
    Broadcast,
    Channel,
    ViolationAct,
)

FILLERS = ("ə", "🙂", "щ", "Ş ", "x\n", "<b>&amp;")  # щ → "shch" in the SMS form
NOW = datetime(2026, 9, 30, 23, 59, tzinfo=UTC)
TODAY = date(2026, 9, 30)
QUICK = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def chars(filler: str, count: int) -> str:
    """The most a limit counted in characters (``len``) lets through: ``count`` of them."""
    return (filler * count)[:count]


def units(filler: str, count: int) -> str:
    """The most a limit counted in UTF-16 units, as Telegram counts, lets through."""
    text = chars(filler, count)
    while utf16_len(text) > count:
        text = text[:-1]
    return text


def check(messages: list[str]) -> None:
    assert messages, "a view says something"
    for text in messages:
        assert text.strip(), "Telegram refuses an empty message"
        assert utf16_len(text) <= MAX_TEXT, (utf16_len(text), text[:80])


def check_buttons(markup: InlineKeyboardMarkup | None) -> None:
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            data = button.callback_data
            assert isinstance(data, str) and 1 <= len(data.encode()) <= MAX_CALLBACK_DATA, data


comments = st.one_of(
    st.sampled_from(FILLERS).map(lambda f: chars(f, COMMENT_MAX)),
    st.text(max_size=COMMENT_MAX),
    st.none(),
)
histories = st.lists(
    st.tuples(st.sampled_from(list(ApplicationStatus)), comments), min_size=0, max_size=40
)


def application(status: ApplicationStatus = ApplicationStatus.INSTALLATION) -> Application:
    longest_name = chars("Ə", 100)  # the column's width, over the dialogue's 40
    return Application(
        number="QM-2026-999999",
        status=status,
        first_name=longest_name,
        last_name=longest_name,
        patronymic=longest_name,
        phone_e164="+994709999999",
        district=chars("Ş", api_models.DISTRICT_MAX),
        regional_unit=chars("Ş", 100),
        fee_amount=Decimal("9999999999.99"),
        created_at=NOW,
        status_changed_at=NOW,
    )


def history(entries: list[tuple[ApplicationStatus, str | None]]) -> list[ApplicationStatusChange]:
    actor = chars("ə", api_models.ACTOR_MAX)
    return [
        ApplicationStatusChange(to_status=status, comment=text, actor=actor, changed_at=NOW)
        for status, text in entries
    ]


@pytest.mark.parametrize("locale", LOCALES)
@QUICK
@given(entries=histories)
def test_an_application_and_its_history(
    locale: str, entries: list[tuple[ApplicationStatus, str | None]]
) -> None:
    changes = history(entries)
    with use_locale(locale):
        check(my_applications.detail_messages(application(), changes))
        check(staff_status.staff_view(application(), changes))
        check(my_applications.list_messages([application()] * LIST_LIMIT))
        for status in ApplicationStatus:
            check_buttons(staff_status.target_buttons(application(status)))
        for change in changes:
            check([notices.status_text(application(), change, locale)])


def test_a_history_keeps_every_entry_whole_and_in_order() -> None:
    changes = history([(ApplicationStatus.UNDER_REVIEW, chars("🙂", COMMENT_MAX))] * 9)
    with use_locale("az"):
        messages = my_applications.detail_messages(application(), changes)
    assert len(messages) == 5  # two 2,000-unit entries a message
    entries = [line for text in messages for line in text.split("\n") if line.startswith("•")]
    assert entries == [f"• {my_applications.history_line(c)}" for c in changes]


broadcast_texts = st.fixed_dictionaries(
    {"az": st.sampled_from(FILLERS).map(lambda f: units(f, bc.TEXT_MAX).strip())},
    optional={
        code: st.sampled_from(FILLERS).map(lambda f: units(f, bc.TEXT_MAX).strip())
        for code in LOCALES
        if code != "az"
    },
)


@pytest.mark.parametrize("locale", LOCALES)
@QUICK
@given(texts=broadcast_texts, sms=st.booleans())
def test_a_broadcast_preview_per_language(locale: str, texts: dict[str, str], sms: bool) -> None:
    channels = [Channel.TELEGRAM, Channel.SMS] if sms else [Channel.TELEGRAM]
    counts = {Channel.TELEGRAM: 10**9, Channel.SMS: 10**9}
    with use_locale(locale):
        messages = bc.preview_messages(texts, channels, counts)
    check(messages)
    for text in texts.values():
        assert any(text in message for message in messages), "each text whole, as citizens see it"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_list_of_broadcasts(locale: str) -> None:
    every_district = [d.name for d in all_districts()]
    found = [
        (
            Broadcast(
                id=10**9 + index,
                created_at=NOW,
                status="sending",
                audience={"kind": AudienceKind.DISTRICTS, "values": every_district},
            ),
            Progress(sent=10**9, failed=10**9, blocked=10**9, remaining=10**9),
        )
        for index in range(10)
    ]
    with use_locale(locale):
        check(bc.recent_messages(found))


def act_body(violation: str, rule_set: str, filler: str) -> dict[str, Any]:
    description = chars(filler, act_models.DESCRIPTION_MAX)
    return {
        "number": "A" * act_models.ACT_NUMBER_MAX,
        "subscriber_code": "100200300400500",
        "address": chars(filler, act_models.ADDRESS_MAX),
        "district": max((d.name for d in all_districts()), key=len),
        "detected_on": TODAY.isoformat(),
        "issued_on": TODAY.isoformat(),
        "last_inspection_on": "1950-01-01",
        "account_opened_on": "1950-01-01",
        "violation_type": violation,
        "rule_set": rule_set,
        "loads": [
            {"kind": kind, "power_w": "20000", "description": description}
            for kind in ("lighting", "sockets", "appliance", "appliance", "appliance")
        ]
        * (act_models.LOADS_MAX // 5),
        "signed": False,
        "inspectors": [chars(filler, api_models.ACTOR_MAX)] * act_models.INSPECTORS_MAX,
        "actor": "inspector",
        "already_billed_kwh": "1",
    }


def biggest_acts(filler: str) -> list[ViolationAct]:
    found = []
    for violation in ("meter_bypass", "hidden_line"):
        for rule_set in ("eeiq-5-11-legacy", "eeiq-8-17-current"):
            act, _ = acts_api.new_act(act_body(violation, rule_set, filler), today=TODAY)
            act.paid_amount = Decimal("0.01")
            found.append(act)
    return found


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("filler", FILLERS)
def test_acts_their_breakdown_and_objections(locale: str, filler: str) -> None:
    found = biggest_acts(filler)
    codes = ["100200300400500"] * 1000  # no cap on linked codes: the list is split, not refused
    with use_locale(locale):
        check(act_text.list_messages(codes, found * (acts.LIST_MAX // len(found)), TODAY))
        for act in found:
            check(act_text.detail_messages(act, TODAY))
            data = [f"{acts.CB}{kind}:{act.number}" for kind in ("show", "object")]
            assert all(len(d.encode()) <= MAX_CALLBACK_DATA for d in data), data
    notices_and_reminders = [
        act_notices.REGISTERED,
        *act_notices.REMINDERS.values(),
        *act_notices.STATUS_TEXTS.values(),
    ]
    for act in found:
        with use_locale(locale):  # the most text an objection takes: its preview and staff notice
            room = acts.objection_room(act)
            text = units(filler, room)
            check([acts.preview_text(act.number, text, acts.PHOTOS_MAX)])
        objection = ActObjection(
            receipt_number="ET-2026-999999", text=text, photo_file_ids=["x"] * acts.PHOTOS_MAX
        )
        check([act_notices.objection_for_staff(act, objection, TODAY + timedelta(days=10))])
        for template in notices_and_reminders:
            reminder = act_notices.fill(template, act, locale)
            check([reminder + "\n" + translate(act_notices.AFTER_DUE_DATE, locale)])
    receipt = ActObjection.__table__.c.receipt_number.type  # the caption of its photos
    assert isinstance(receipt, String) and receipt.length and receipt.length <= MAX_CAPTION


@pytest.mark.parametrize("locale", LOCALES)
def test_the_district_pages_of_the_application(locale: str) -> None:
    longest_name = max((d.name for d in all_districts()), key=lambda n: len(n.encode()))
    with use_locale(locale):
        for page in range(20):
            check_buttons(district_page(page, earlier=longest_name))


@settings(max_examples=300, deadline=None)
@given(
    blocks=st.lists(st.text(alphabet=st.sampled_from("ab ə🙂\n"), max_size=60), max_size=12),
    limit=st.integers(min_value=2, max_value=40),
)
def test_pack_fits_every_piece_and_loses_nothing_but_breaks(blocks: list[str], limit: int) -> None:
    messages = pack(blocks, limit)
    assert all(text.strip() and utf16_len(text) <= limit for text in messages)
    assert "".join("".join(messages).split()) == "".join("".join(blocks).split())


def test_pack_keeps_blocks_whole_when_they_fit() -> None:
    blocks = ["a" * 2000, "b" * 2000, "c" * 2000]
    assert pack(blocks) == ["a" * 2000 + "\n" + "b" * 2000, "c" * 2000]
    assert pack(["🙂" * 2049]) == ["🙂" * 2048, "🙂"]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("filler", FILLERS)
def test_the_review_of_an_application(locale: str, filler: str) -> None:
    name = chars(filler, identifiers.NAME_MAX)
    draft = Draft(
        first_name=name, last_name=name, patronymic=name, fin="5ABC7D8", id_card="AA1234567",
        execution_period="standard-24d", phase=3, power_kw="199.9",
        object_type="apartment", has_general_conditions=True,
        district=max((d.name for d in all_districts()), key=len),
        registry_number="9" * identifiers.REGISTRY_MAX,
        registration_number="9" * identifiers.REGISTRY_MAX, distance_m=10**7,
        phone="+994709999999", email=chars("e", identifiers.EMAIL_MAX),
    )  # fmt: skip
    with use_locale(locale):
        check([review_text(draft)])
