"""The staff HTTP API for violation acts (behind the same bearer token as the applications API).

- ``POST /api/acts`` registers an act: the amount is computed here by the dated recalculation
  rules (the rule set in force on the detection day, or the one named), stored with its whole
  breakdown, and the citizen is told (the chats following the subscriber code, and the phone on
  file by SMS);
- ``GET /api/acts/{number}``: the act, its calculation, history, payments and objections;
- ``POST /api/acts/{number}/payment``: a payment (idempotent by the payment's ``reference``);
  once payments cover the amount, the act is paid;
- ``POST /api/acts/{number}/status``: disconnected or court (only after the due date), paid,
  cancelled;
- ``PUT /api/subscribers/{code}``: the billing system's phone on file for a subscriber code, which
  decides who may follow the code in the chat.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote

from aiohttp import web
from pydantic import SecretStr

from delivery import act_notices
from domain.acts import (
    BAKU,
    ActStatus,
    Load,
    act_facts,
    allowed_act_targets,
    calculation_record,
    days_left,
    objection_answer_due,
)
from domain.districts import find_district
from domain.identifiers import IdentifierError, parse_mobile_phone, parse_subscriber_code
from domain.objections import objection_state
from domain.recalculation import ActFacts, Recalculation, default_rules
from domain.transitions import TransitionError
from handlers.act_models import (
    ACT_NUMBER,
    ACT_NUMBER_MAX,
    AMOUNT_MAX,
    POWER_MAX_W,
    ActDetail,
    ActRegistered,
    ActRequest,
    ActStatusChanged,
    ActStatusChangeRequest,
    LoadRequest,
    PaymentRecorded,
    PaymentRequest,
    Subscriber,
    SubscriberRequest,
)
from handlers.api_values import PREFIX, decimal_text, history_item, timestamp
from handlers.health import SERVICES
from handlers.http_api import (
    ApiError,
    bad_field,
    guarded,
    json_object,
    parse,
    parse_body,
    read_body,
    respond,
    transition_refused,
)
from storage import acts
from storage.db import utcnow
from storage.models import ActObjection, ActPayment, ViolationAct
from storage.types import AsyncSession, IntegrityError

log = logging.getLogger(__name__)

ACTS_PATH: Final = f"{PREFIX}/acts"
ACT_PATH: Final = f"{PREFIX}/acts/{{number}}"
PAYMENT_PATH: Final = f"{PREFIX}/acts/{{number}}/payment"
ACT_STATUS_PATH: Final = f"{PREFIX}/acts/{{number}}/status"
SUBSCRIBER_PATH: Final = f"{PREFIX}/subscribers/{{code}}"

CENT: Final = Decimal("0.01")
#: The detection and issue days: from 2000 (anything earlier is a typo; there is no tariff for
#: it either). The last inspection and the account opening may lie further back (the period
#: is capped by the limitation anyway), from 1950. No day after today (Baku).
ACT_DAY_MIN: Final = date(2000, 1, 1)
HISTORY_DAY_MIN: Final = date(1950, 1, 1)
PAID_AT_MIN: Final = datetime(2000, 1, 1, tzinfo=UTC)
#: How far another system's clock may run ahead of ours ("now" there is not future here).
CLOCK_SKEW: Final = timedelta(minutes=5)

ACT_FIELDS: Final = frozenset(ActRequest.model_fields)
LOAD_FIELDS: Final = frozenset(LoadRequest.model_fields)
PAYMENT_FIELDS: Final = frozenset(PaymentRequest.model_fields)
STATUS_FIELDS: Final = frozenset(ActStatusChangeRequest.model_fields)
SUBSCRIBER_FIELDS: Final = frozenset(SubscriberRequest.model_fields)
_ACT_NUMBER = re.compile(ACT_NUMBER)


def act_not_found(number: str) -> ApiError:
    return ApiError(404, "not_found", f"no act {number}")


# --------------------------------------------------------------------------- body fields


def invalid(name: str, message: str) -> ApiError:
    return bad_field("invalid_field", name, message)


def day_bounds(name: str, day: date | None, *, earliest: date, latest: date) -> date | None:
    """``day`` if it lies from ``earliest`` to ``latest``."""
    if day is not None and day > latest:
        raise invalid(name, f"{name}: not in the future")
    if day is not None and day < earliest:
        raise invalid(name, f"{name}: not before {earliest.isoformat()}")
    return day


def phone_value(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return parse_mobile_phone(value)
    except IdentifierError:
        raise invalid(name, f"{name}: an Azerbaijani mobile number, e.g. +994501234567") from None


def district_value(value: str | None) -> str | None:
    if value is None:
        return None
    district = find_district(value)
    if district is None:
        raise invalid("district", "district: not a district of Azerbaijan we know")
    if district.is_nakhchivan:
        raise invalid("district", "district: Nakhchivan is not served by Azərişıq")
    return district.name


def code_value(raw: str, name: str = "subscriber_code") -> str:
    try:
        return parse_subscriber_code(raw)
    except IdentifierError:
        raise invalid(name, f"{name}: 15 digits") from None


# --------------------------------------------------------------------------- registration


def new_act(
    body: Mapping[str, Any], *, today: date, latest: date | None = None
) -> tuple[ViolationAct, str]:
    """The act to store, computed; and who registered it. Refusals are :class:`ApiError`.

    ``today`` (Baku) registers it: it is due the rules' ``due_days`` after that, since the
    amount (item 5.13's additional payment document) exists from then on, so an act entered
    late is never due already. No day of the act may be after ``latest`` (default: today).
    """
    latest = latest or today
    request = parse(ActRequest, body)
    number = request.number.upper()
    code = code_value(request.subscriber_code)
    district = district_value(request.district)
    assert district is not None
    act_day = {"earliest": ACT_DAY_MIN, "latest": latest}
    history_day = {"earliest": HISTORY_DAY_MIN, "latest": latest}
    detected_on = day_bounds("detected_on", request.detected_on, **act_day)
    last_inspection_on = day_bounds("last_inspection_on", request.last_inspection_on, **history_day)
    assert detected_on is not None and last_inspection_on is not None
    issued_on = day_bounds("issued_on", request.issued_on, **act_day) or detected_on
    account_opened_on = day_bounds("account_opened_on", request.account_opened_on, **history_day)
    signed = request.signed
    violation = request.violation_type
    loads = tuple(Load(load.kind, load.power_w, load.description or "") for load in request.loads)
    if sum(load.power_w for load in loads) > POWER_MAX_W:
        raise invalid("loads", f"loads: at most {POWER_MAX_W} W together")
    rules = default_rules()
    rule_set = (
        rules.rule_set(request.rule_set) if request.rule_set else rules.rule_set_on(detected_on)
    )
    latitude = find_district(district).latitude  # type: ignore[union-attr]
    billed = request.already_billed_kwh
    facts = act_facts(
        violation=violation,
        loads=loads,
        detected_on=detected_on,
        last_inspection_on=last_inspection_on,
        issued_on=issued_on,
        latitude=latitude,
        account_opened_on=account_opened_on,
        already_billed_kwh=billed,
        registered_on=today,
    )
    try:
        calc = rules.recalculate(facts, rule_set=rule_set.id)
    except (ValueError, LookupError) as error:  # LookupError: a month before any known tariff
        raise ApiError(422, "invalid_act", str(error)) from None
    if calc.total <= 0:
        field, why = zero_amount_cause(calc, facts)
        raise ApiError(422, "zero_amount", f"{field}: {why}; there is nothing to pay", field=field)
    if calc.total > AMOUNT_MAX:
        raise ApiError(
            422, "amount_too_large", f"loads: the act comes to more than {AMOUNT_MAX} AZN",
            field="loads",
        )  # fmt: skip
    act = ViolationAct(
        number=number,
        subscriber_code=code,
        address=request.address,
        district=district,
        consumer_phone_e164=phone_value(request.consumer_phone, "consumer_phone"),
        detected_on=detected_on,
        last_inspection_on=last_inspection_on,
        account_opened_on=facts.account_opened_on,
        violation_type=violation,
        loads=[
            {"kind": load.kind, "power_w": str(load.power_w), "description": load.description}
            for load in loads
        ],
        signed=signed,
        inspectors=list(request.inspectors),
        rule_set=calc.rule_set_id,
        amount=calc.total,
        calculation=calculation_record(calc, latitude=latitude),
        issued_on=issued_on,
        due_on=calc.due_on,
        status=ActStatus.OPEN,
        created_at=utcnow(),
    )
    return act, request.actor


def zero_amount_cause(calc: Recalculation, facts: ActFacts) -> tuple[str, str]:
    """The field that makes an act come to 0.00 AZN, and why (for the 422)."""
    if calc.already_billed_kwh > 0:
        return "already_billed_kwh", "the kWh already billed cover the recalculated kWh"
    if calc.days == 0:
        if "limitation" in calc.capped_by:
            return "issued_on", "the limitation period leaves no day before the detection day"
        if facts.hidden_line and facts.account_opened_on == facts.detected_on:
            return "account_opened_on", "the account was opened on the detection day"
        return "last_inspection_on", "no day between the last inspection and the detection day"
    return "loads", f"the loads found come to 0.00 AZN under {calc.rule_set_id}"


async def post_act(request: web.Request) -> web.Response:
    body = json_object(await read_body(request))
    now = utcnow()
    act, actor = new_act(body, today=baku_today(now), latest=baku_today(now + CLOCK_SKEW))
    async with request.app[SERVICES].sessions.begin() as session:
        try:
            await acts.register(session, act, actor=actor)
        except (acts.ActExists, IntegrityError):  # IntegrityError: registered concurrently
            raise ApiError(409, "exists", f"act {act.number} is already registered") from None
        await acts.upsert_subscriber(
            session,
            act.subscriber_code,
            # an act without the consumer's phone must not erase the one on file
            phone=act.consumer_phone_e164
            or await acts.subscriber_phone(session, act.subscriber_code),
            address=act.address,
            district=act.district,
        )
        queued = await act_notices.queue_registered(session, act, now=now)
        body = {**await act_detail(session, act, now), "notices_queued": queued}
    log.info("Act %s registered by %s: %s AZN, %d notices", act.number, actor, act.amount, queued)
    location = f"{ACTS_PATH}/{quote(act.number, safe='')}"  # a "/" in the number is %2F
    return respond(ActRegistered, body, status=201, headers={"Location": location})


# --------------------------------------------------------------------------- representation


def baku_today(now: datetime) -> date:
    return now.astimezone(BAKU).date()


def money(value: Decimal) -> str:
    """AZN always with its two decimals: "600.00" whether it was sent as "600" or read back."""
    return decimal_text(value.quantize(CENT))


def payment_item(payment: ActPayment) -> dict[str, Any]:
    return {
        "amount": money(payment.amount),
        "paid_at": timestamp(payment.paid_at),
        "reference": payment.reference,
        "actor": payment.actor,
    }


def objection_item(objection: ActObjection) -> dict[str, Any]:
    filed_on = objection.created_at.astimezone(BAKU).date()
    return {
        "receipt_number": objection.receipt_number,
        "text": objection.text,
        "photo_file_ids": list(objection.photo_file_ids),
        "created_at": timestamp(objection.created_at),
        "answer_due_on": objection_answer_due(filed_on).isoformat(),
        "state": objection_state(
            filed_on, objection.answered_at is not None, baku_today(utcnow())
        ).value,
        "outcome": objection.outcome,
        "answer": objection.answer,
        "answered_at": timestamp(objection.answered_at) if objection.answered_at else None,
    }


async def act_detail(session: AsyncSession, act: ViolationAct, now: datetime) -> dict[str, Any]:
    status = ActStatus(act.status)
    return {
        "number": act.number,
        "subscriber_code": act.subscriber_code,
        "address": act.address,
        "district": act.district,
        "consumer_phone": act.consumer_phone_e164,
        "violation_type": act.violation_type,
        "detected_on": act.detected_on.isoformat(),
        "last_inspection_on": act.last_inspection_on.isoformat()
        if act.last_inspection_on
        else None,
        "account_opened_on": act.account_opened_on.isoformat() if act.account_opened_on else None,
        "issued_on": act.issued_on.isoformat(),
        "due_on": act.due_on.isoformat(),
        "days_left": days_left(act.due_on, baku_today(now)),
        "signed": act.signed,
        "inspectors": list(act.inspectors),
        "loads": list(act.loads),
        "rule_set": act.rule_set,
        "amount": money(act.amount),
        "paid_amount": money(act.paid_amount or Decimal(0)),
        "outstanding": money(acts.outstanding(act)),
        "status": status,
        "allowed_targets": sorted(allowed_act_targets(status)),
        "calculation": act.calculation,
        "history": [history_item(c) for c in await acts.history(session, act.id)],
        "payments": [payment_item(p) for p in await acts.payments(session, act.id)],
        "objections": [objection_item(o) for o in await acts.objections(session, act.id)],
        "created_at": timestamp(act.created_at),
    }


def path_act_number(request: web.Request) -> str:
    number = request.match_info["number"]
    if len(number) > ACT_NUMBER_MAX or not _ACT_NUMBER.fullmatch(number):
        raise act_not_found(number[:ACT_NUMBER_MAX])
    return number.upper()


async def get_act(request: web.Request) -> web.Response:
    number = path_act_number(request)
    async with request.app[SERVICES].sessions() as session:
        act = await acts.by_number(session, number)
        if act is None:
            raise act_not_found(number)
        return respond(ActDetail, await act_detail(session, act, utcnow()))


# --------------------------------------------------------------------------- payment and status


def moment_bounds(name: str, moment: datetime | None, now: datetime) -> datetime:
    """The moment (UTC; default: now), from :data:`PAID_AT_MIN` until now."""
    if moment is None:
        return now
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved by its offset: far outside the bounds anyway
        raise invalid(name, f"{name}: not before {PAID_AT_MIN.year}") from None
    if moment > now + CLOCK_SKEW:
        raise invalid(name, f"{name}: not in the future")
    if moment < PAID_AT_MIN:
        raise invalid(name, f"{name}: not before {PAID_AT_MIN.year}")
    return moment


async def record_act_payment(
    session: AsyncSession,
    number: str,
    *,
    amount: Decimal,
    paid_at: datetime,
    reference: str,
    actor: str,
    now: datetime,
) -> tuple[acts.PaymentRecorded, int]:
    """Record a payment of act ``number`` (idempotent by ``reference``) and, paid in full, queue
    the paid notice; an :class:`ApiError` for what cannot be paid. Staff (``POST .../payment``)
    and the payment gateway's callback both pay this way."""
    act = await acts.by_number(session, number)
    if act is None:
        raise act_not_found(number)
    if act.status == ActStatus.CANCELLED:
        raise ApiError(409, "cancelled", f"act {number} is cancelled; nothing to pay")
    if paid_at.astimezone(BAKU).date() < act.issued_on:
        raise ApiError(
            422, "before_act", f"paid_at: before the act was issued ({act.issued_on})",
            field="paid_at",
        )  # fmt: skip
    try:
        recorded = await acts.record_payment(
            session, number, amount=amount, paid_at=paid_at, reference=reference, actor=actor,
            paid_max=AMOUNT_MAX,
        )  # fmt: skip
    except acts.PaymentLimit:
        raise ApiError(
            422,
            "too_much_paid",
            f"amount: the act's payments would add up to more than {AMOUNT_MAX} AZN",
            field="amount",
        ) from None
    except acts.PaymentConflict:
        raise ApiError(
            409, "reference_reused", f"payment {reference} was recorded with another amount"
        ) from None
    except IntegrityError:  # the same new reference, recorded by a concurrent request
        raise ApiError(
            409, "concurrent_payment", f"payment {reference} is being recorded; retry"
        ) from None
    queued = 0
    if recorded.paid_in_full is not None:
        queued = await act_notices.queue_status_changed(
            session, recorded.act, ActStatus.PAID, now=now
        )
    return recorded, queued


async def post_payment(request: web.Request) -> web.Response:
    number = path_act_number(request)
    payment = parse_body(PaymentRequest, await read_body(request))
    now = utcnow()
    amount, reference, actor = payment.amount, payment.reference, payment.actor
    paid_at = moment_bounds("paid_at", payment.paid_at, now)
    async with request.app[SERVICES].sessions.begin() as session:
        recorded, queued = await record_act_payment(
            session, number, amount=amount, paid_at=paid_at, reference=reference, actor=actor,
            now=now,
        )  # fmt: skip
        body = {
            **await act_detail(session, recorded.act, now),
            "payment_recorded": recorded.new,
            "notices_queued": queued,
        }
    return respond(PaymentRecorded, body, status=201 if recorded.new else 200)


def act_refusal(error: TransitionError[ActStatus]) -> ApiError:
    return transition_refused(error, sorted(allowed_act_targets(error.current)), unknown_status=400)


async def post_act_status(request: web.Request) -> web.Response:
    number = path_act_number(request)
    change = parse_body(ActStatusChangeRequest, await read_body(request))
    target, comment, actor = change.status, change.comment, change.actor
    now = utcnow()
    async with request.app[SERVICES].sessions.begin() as session:
        try:
            done = await acts.change_status(
                session, number, target, actor=actor, comment=comment, today=baku_today(now),
                now=now,
            )  # fmt: skip
        except acts.ActNotFound:
            raise act_not_found(number) from None
        except TransitionError as error:
            raise act_refusal(error) from None
        queued = await act_notices.queue_status_changed(
            session, done.act, ActStatus(done.change.to_status), now=now
        )
        body = {**await act_detail(session, done.act, now), "notices_queued": queued}
    log.info("Act %s: %s → %s by %s", number, done.change.from_status, target, actor)
    return respond(ActStatusChanged, body)


# --------------------------------------------------------------------------- subscribers


async def put_subscriber(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    if len(code) > 40:
        raise invalid("code", "code: 15 digits")
    code = code_value(code, "code")
    record = parse_body(SubscriberRequest, await read_body(request))
    phone = phone_value(record.phone, "phone")
    address = record.address
    district = district_value(record.district)
    async with request.app[SERVICES].sessions.begin() as session:
        await acts.upsert_subscriber(session, code, phone=phone, address=address, district=district)
    return respond(
        Subscriber, {"code": code, "phone": phone, "address": address, "district": district}
    )


def routes(token: SecretStr | None) -> list[web.RouteDef]:
    return [
        web.post(ACTS_PATH, guarded(token, post_act)),
        web.get(ACT_PATH, guarded(token, get_act), allow_head=False),
        web.post(PAYMENT_PATH, guarded(token, post_payment)),
        web.post(ACT_STATUS_PATH, guarded(token, post_act_status)),
        web.put(SUBSCRIBER_PATH, guarded(token, put_subscriber)),
    ]
