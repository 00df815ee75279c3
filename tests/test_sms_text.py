"""SMS transliteration and segment counting."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.sms import sms_size, transliterate


def test_azerbaijani_letters_become_gsm7() -> None:
    text = "Müraciətiniz qeydə alındı: QM-2026-000123. Şəki, İsmayıllı, çay, dağ"
    assert transliterate(text) == (
        "Müracietiniz qeyde alindi: QM-2026-000123. Seki, Ismayilli, cay, dag"
    )
    assert sms_size(transliterate(text)).encoding == "gsm7"
    assert sms_size(text).encoding == "ucs2"


def test_segment_edges() -> None:
    assert sms_size("a" * 160).segments == 1
    assert sms_size("a" * 161).segments == 2  # 153 per part when split
    assert sms_size("a" * 306).segments == 2
    assert sms_size("a" * 307).segments == 3
    assert sms_size("ə" * 70).segments == 1
    assert sms_size("ə" * 71).segments == 2  # 67 per part
    assert sms_size("€" * 80).units == 160  # extension characters count twice
    assert sms_size("").segments == 0


AZERBAIJANI_TEXT = st.text(
    alphabet="abcçdeəfgğhxıijkqlmnoöprsştuüvyzABCÇDEƏFGĞHXIİJKQLMNOÖPRSŞTUÜVYZ0123456789 .,:-«»—",
    max_size=400,
)


@given(AZERBAIJANI_TEXT)
def test_transliterated_azerbaijani_never_needs_ucs2(text: str) -> None:
    assert sms_size(transliterate(text)).encoding == "gsm7"


def test_every_status_sms_in_azerbaijani_is_one_gsm_segment() -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from delivery.notices import status_sms
    from domain.application_status import ApplicationStatus
    from storage.models import Application, ApplicationStatusChange

    application = Application(number="QM-2026-000123", fee_amount=Decimal("58600.00"))
    for status in ApplicationStatus:
        change = ApplicationStatusChange(
            to_status=status, changed_at=datetime(2026, 11, 23, 8, tzinfo=UTC)
        )
        text = status_sms(application, change, "az")
        size = sms_size(text)
        assert size.encoding == "gsm7" and size.segments == 1, (status, text, size)
    payment = ApplicationStatusChange(
        to_status=ApplicationStatus.PAYMENT_PENDING, changed_at=datetime(2026, 11, 23, tzinfo=UTC)
    )
    assert "58.600,00 AZN" in status_sms(application, payment, "az")


def test_deadline_and_objection_answer_sms_are_one_gsm_segment_in_every_locale() -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from delivery.notices import DEADLINE_ACTOR, status_sms
    from delivery.objection_notices import answer_sms
    from domain.application_status import ApplicationStatus
    from domain.objections import Outcome
    from storage.models import ActObjection, Application, ApplicationStatusChange

    application = Application(number="QM-2026-000123", fee_amount=Decimal("58600.00"))
    closed = ApplicationStatusChange(
        to_status=ApplicationStatus.REJECTED, actor=DEADLINE_ACTOR,
        changed_at=datetime(2026, 11, 23, 8, tzinfo=UTC),
    )  # fmt: skip
    for locale in ("az", "ru", "en"):
        for text in (
            status_sms(application, closed, locale),
            *(
                answer_sms(
                    ActObjection(receipt_number="ET-2026-000123", outcome=outcome, answer=answer),
                    locale,
                )
                for outcome in Outcome
                for answer in ("Qəbul edildi.", "Ə" * 2000)
            ),
        ):
            size = sms_size(text)
            assert size.encoding == "gsm7" and size.segments == 1, (locale, text, size)
    long = answer_sms(
        ActObjection(receipt_number="ET-2026-000123", outcome=Outcome.UPHELD, answer="x" * 300),
        "az",
    )
    assert "Telegram" in long and "x" * 10 not in long
