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
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import quote

from aiohttp import web
from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from delivery import act_notices
from domain.acts import (
    BAKU,
    ActStatus,
    ActTransitionError,
    Load,
    LoadKind,
    ViolationType,
    act_facts,
    allowed_act_targets,
    calculation_record,
    days_left,
    objection_answer_due,
)
from domain.application_status import COMMENT_MAX
from domain.districts import find_district
from domain.identifiers import IdentifierError, parse_mobile_phone, parse_subscriber_code
from domain.objections import objection_state
from domain.recalculation import ActFacts, Recalculation, default_rules
from handlers.health import SERVICES
from handlers.staff_api import (
    _CONTROL,
    ACTOR_MAX,
    CONFLICTS,
    PREFIX,
    ApiError,
    bad_field,
    decimal_text,
    guarded,
    json_object,
    printable,
    read_body,
    text_field,
    timestamp,
)
from storage import acts
from storage.db import utcnow
from storage.models import ActObjection, ActPayment, ActStatusChange, ViolationAct

log = logging.getLogger(__name__)

ACTS_PATH: Final = f"{PREFIX}/acts"
ACT_PATH: Final = f"{PREFIX}/acts/{{number}}"
PAYMENT_PATH: Final = f"{PREFIX}/acts/{{number}}/payment"
ACT_STATUS_PATH: Final = f"{PREFIX}/acts/{{number}}/status"
SUBSCRIBER_PATH: Final = f"{PREFIX}/subscribers/{{code}}"

ACT_NUMBER_MAX: Final = 32
ADDRESS_MAX: Final = 255
LOADS_MAX: Final = 50
INSPECTORS_MAX: Final = 10
DESCRIPTION_MAX: Final = 100
REFERENCE_MAX: Final = 64
#: Larger than any household's loads (W, each and all together) we would believe.
POWER_MAX_W: Final = Decimal(1_000_000)
#: kWh already billed: more than 1 MW all day for 11 years.
KWH_MAX: Final = Decimal(100_000_000)
#: One payment, and all payments of an act together (AZN); no act comes near it (1 MW for the
#: 3-year limitation period is under 4 million AZN), and sums stay far inside Numeric(12, 2).
AMOUNT_MAX: Final = Decimal("10000000.00")
CENT: Final = Decimal("0.01")
#: The detection and issue days: from 2000 (anything earlier is a typo; there is no tariff for
#: it either). The last inspection and the account opening may lie further back (the period
#: is capped by the limitation anyway), from 1950. No day after today (Baku).
ACT_DAY_MIN: Final = date(2000, 1, 1)
HISTORY_DAY_MIN: Final = date(1950, 1, 1)
PAID_AT_MIN: Final = datetime(2000, 1, 1, tzinfo=UTC)
#: How far another system's clock may run ahead of ours ("now" there is not future here).
CLOCK_SKEW: Final = timedelta(minutes=5)

ACT_FIELDS: Final = frozenset(
    {
        "number", "subscriber_code", "address", "district", "consumer_phone", "detected_on",
        "last_inspection_on", "account_opened_on", "issued_on", "violation_type", "loads",
        "signed", "inspectors", "already_billed_kwh", "rule_set", "actor",
    }
)  # fmt: skip
LOAD_FIELDS: Final = frozenset({"kind", "power_w", "description"})
PAYMENT_FIELDS: Final = frozenset({"amount", "paid_at", "reference", "actor"})
STATUS_FIELDS: Final = frozenset({"status", "comment", "actor"})
SUBSCRIBER_FIELDS: Final = frozenset({"phone", "address", "district"})

_ACT_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9/-]*")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONEY = re.compile(r"[0-9]{1,10}(\.[0-9]{1,2})?")
_DECIMAL = re.compile(r"[0-9]{1,9}(\.[0-9]{1,3})?")


def act_not_found(number: str) -> ApiError:
    return ApiError(404, "not_found", f"no act {number}")


# --------------------------------------------------------------------------- body fields


def invalid(name: str, message: str) -> ApiError:
    return bad_field("invalid_field", name, message)


def short_text(body: Mapping[str, Any], name: str, limit: int, *, required: bool) -> str | None:
    value = text_field(body, name, required=required)
    if value is None:
        return None
    value = " ".join(value.split())
    if not 1 <= len(value) <= limit or not printable(value, _CONTROL):
        raise invalid(name, f"{name}: 1..{limit} printable characters")
    return value


def required_text(body: Mapping[str, Any], name: str, limit: int) -> str:
    value = short_text(body, name, limit, required=True)
    assert value is not None
    return value


def day_field(
    body: Mapping[str, Any], name: str, *, required: bool, earliest: date, latest: date
) -> date | None:
    """A YYYY-MM-DD day from ``earliest`` to ``latest``."""
    value = text_field(body, name, required=required)
    if value is None:
        return None
    try:
        if not _DATE.fullmatch(value.strip()):
            raise ValueError("not YYYY-MM-DD")
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise invalid(name, f"{name}: a date as YYYY-MM-DD") from None
    if day > latest:
        raise invalid(name, f"{name}: not in the future")
    if day < earliest:
        raise invalid(name, f"{name}: not before {earliest.isoformat()}")
    return day


def decimal_field(
    body: Mapping[str, Any],
    name: str,
    pattern: re.Pattern[str],
    *,
    required: bool,
    label: str | None = None,
) -> Decimal | None:
    """A decimal given as a JSON string (``"12.50"``) or number; never a float's rounding.

    ``label`` names the field in errors when it sits inside a list (``loads[2].power_w``).
    """
    label = label or name
    if name not in body or (body[name] is None and not required):
        if required:
            raise bad_field("missing_field", label, f"{label} is required")
        return None
    value = body[name]
    raw = str(value).strip() if isinstance(value, str | int) and type(value) is not bool else None
    if isinstance(value, float):
        raw = repr(value)
    if raw is None or not pattern.fullmatch(raw):
        raise invalid(label, f'{label}: a non-negative decimal like "12.50"')
    try:
        return Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise invalid(label, f"{label}: not a decimal") from None


def actor_field(body: Mapping[str, Any]) -> str:
    return required_text(body, "actor", ACTOR_MAX)


def phone_field(body: Mapping[str, Any], name: str) -> str | None:
    value = text_field(body, name, required=False)
    if value is None:
        return None
    try:
        return parse_mobile_phone(value)
    except IdentifierError:
        raise invalid(name, f"{name}: an Azerbaijani mobile number, e.g. +994501234567") from None


def district_field(body: Mapping[str, Any], *, required: bool) -> str | None:
    value = short_text(body, "district", 100, required=required)
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


def loads_field(body: Mapping[str, Any]) -> tuple[Load, ...]:
    value = body.get("loads")
    if not isinstance(value, list) or not 1 <= len(value) <= LOADS_MAX:
        raise invalid("loads", f"loads: a list of 1..{LOADS_MAX} loads found")
    loads: list[Load] = []
    for index, item in enumerate(value):
        name = f"loads[{index}]"
        if not isinstance(item, dict) or set(item) - LOAD_FIELDS:
            raise invalid(name, f"{name}: an object with kind, power_w and description")
        try:
            kind = LoadKind(str(item.get("kind")))
        except ValueError:
            raise invalid(name, f"{name}.kind: one of {', '.join(LoadKind)}") from None
        power = decimal_field(item, "power_w", _DECIMAL, required=True, label=f"{name}.power_w")
        assert power is not None
        if not 0 < power <= POWER_MAX_W:
            raise invalid(
                f"{name}.power_w", f"{name}.power_w: more than 0 and at most {POWER_MAX_W} W"
            )
        description = short_text(item, "description", DESCRIPTION_MAX, required=False) or ""
        loads.append(Load(kind, power, description))
    if sum(load.power_w for load in loads) > POWER_MAX_W:
        raise invalid("loads", f"loads: at most {POWER_MAX_W} W together")
    return tuple(loads)


def inspectors_field(body: Mapping[str, Any]) -> list[str]:
    value = body.get("inspectors")
    if not isinstance(value, list) or not 1 <= len(value) <= INSPECTORS_MAX:
        raise invalid("inspectors", f"inspectors: a list of 1..{INSPECTORS_MAX} names")
    names = []
    for item in value:
        if not isinstance(item, str):
            raise invalid("inspectors", "inspectors: names as strings")
        names.append(required_text({"inspectors": item}, "inspectors", ACTOR_MAX))
    return names


def enum_field(body: Mapping[str, Any], name: str, values: type[ViolationType]) -> ViolationType:
    raw = text_field(body, name, required=True) or ""
    try:
        return values(raw.strip().lower())
    except ValueError:
        raise invalid(name, f"{name}: one of {', '.join(values)}") from None


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
    number = required_text(body, "number", ACT_NUMBER_MAX).upper()
    if not _ACT_NUMBER.fullmatch(number):
        raise invalid("number", "number: letters, digits, - and /")
    code = code_value(required_text(body, "subscriber_code", 40))
    district = district_field(body, required=True)
    assert district is not None
    act_day = {"earliest": ACT_DAY_MIN, "latest": latest}
    history_day = {"earliest": HISTORY_DAY_MIN, "latest": latest}
    detected_on = day_field(body, "detected_on", required=True, **act_day)
    last_inspection_on = day_field(body, "last_inspection_on", required=True, **history_day)
    assert detected_on is not None and last_inspection_on is not None
    issued_on = day_field(body, "issued_on", required=False, **act_day) or detected_on
    signed = body.get("signed")
    if type(signed) is not bool:
        raise invalid("signed", "signed: true, or false when the consumer refused to sign")
    violation = enum_field(body, "violation_type", ViolationType)
    loads = loads_field(body)
    rule_set_id = short_text(body, "rule_set", 64, required=False)
    rules = default_rules()
    try:
        rule_set = rules.rule_set(rule_set_id) if rule_set_id else rules.rule_set_on(detected_on)
    except LookupError:
        known = ", ".join(r.id for r in rules.rule_sets)
        raise invalid("rule_set", f"rule_set: one of {known}") from None
    latitude = find_district(district).latitude  # type: ignore[union-attr]
    billed = decimal_field(body, "already_billed_kwh", _DECIMAL, required=False)
    if billed is not None and billed > KWH_MAX:
        raise invalid("already_billed_kwh", f"already_billed_kwh: at most {KWH_MAX} kWh")
    facts = act_facts(
        violation=violation,
        loads=loads,
        detected_on=detected_on,
        last_inspection_on=last_inspection_on,
        issued_on=issued_on,
        latitude=latitude,
        account_opened_on=day_field(body, "account_opened_on", required=False, **history_day),
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
        address=required_text(body, "address", ADDRESS_MAX),
        district=district,
        consumer_phone_e164=phone_field(body, "consumer_phone"),
        detected_on=detected_on,
        last_inspection_on=last_inspection_on,
        account_opened_on=facts.account_opened_on,
        violation_type=violation,
        loads=[
            {"kind": load.kind, "power_w": str(load.power_w), "description": load.description}
            for load in loads
        ],
        signed=signed,
        inspectors=inspectors_field(body),
        rule_set=calc.rule_set_id,
        amount=calc.total,
        calculation=calculation_record(calc, latitude=latitude),
        issued_on=issued_on,
        due_on=calc.due_on,
        status=ActStatus.OPEN,
        created_at=utcnow(),
    )
    return act, actor_field(body)


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
    body = json_object(await read_body(request), ACT_FIELDS)
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
    return web.json_response(body, status=201, headers={"Location": location})


# --------------------------------------------------------------------------- representation


def baku_today(now: datetime) -> date:
    return now.astimezone(BAKU).date()


def money(value: Decimal) -> str:
    """AZN always with its two decimals: "600.00" whether it was sent as "600" or read back."""
    return decimal_text(value.quantize(CENT))


def history_item(change: ActStatusChange) -> dict[str, Any]:
    return {
        "from_status": change.from_status,
        "to_status": change.to_status,
        "actor": change.actor,
        "comment": change.comment,
        "changed_at": timestamp(change.changed_at),
    }


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
        return web.json_response(await act_detail(session, act, utcnow()))


# --------------------------------------------------------------------------- payment and status


def moment_field(body: Mapping[str, Any], name: str, now: datetime) -> datetime:
    """An ISO 8601 date-time with its offset, from :data:`PAID_AT_MIN` until now (UTC)."""
    value = text_field(body, name, required=False)
    if value is None:
        return now
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise invalid(name, f"{name}: an ISO 8601 date-time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise invalid(name, f"{name}: with its offset, e.g. 2026-03-01T09:00:00+04:00")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved by its offset: far outside the bounds anyway
        raise invalid(name, f"{name}: not before {PAID_AT_MIN.year}") from None
    if moment > now + CLOCK_SKEW:
        raise invalid(name, f"{name}: not in the future")
    if moment < PAID_AT_MIN:
        raise invalid(name, f"{name}: not before {PAID_AT_MIN.year}")
    return moment


async def post_payment(request: web.Request) -> web.Response:
    number = path_act_number(request)
    body = json_object(await read_body(request), PAYMENT_FIELDS)
    now = utcnow()
    amount = decimal_field(body, "amount", _MONEY, required=True)
    assert amount is not None
    if not 0 < amount <= AMOUNT_MAX:
        raise invalid("amount", f"amount: more than 0 and at most {AMOUNT_MAX} AZN")
    reference = required_text(body, "reference", REFERENCE_MAX)
    paid_at = moment_field(body, "paid_at", now)
    actor = actor_field(body)
    async with request.app[SERVICES].sessions.begin() as session:
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
        body = {
            **await act_detail(session, recorded.act, now),
            "payment_recorded": recorded.new,
            "notices_queued": queued,
        }
    return web.json_response(body, status=201 if recorded.new else 200)


def act_refusal(error: ActTransitionError) -> ApiError:
    if error.reason in CONFLICTS:
        status = 409
    elif error.reason == "unknown_status":
        status = 400
    else:
        status = 422
    refused = ApiError(status, error.reason, str(error))
    refused.body.update(
        {
            "from": str(error.current),
            "to": error.target,
            "allowed": sorted(allowed_act_targets(error.current)),
        }
    )
    return refused


async def post_act_status(request: web.Request) -> web.Response:
    number = path_act_number(request)
    body = json_object(await read_body(request), STATUS_FIELDS)
    target = required_text(body, "status", 16)
    comment = text_field(body, "comment", required=False)
    if comment is not None and len(comment) > COMMENT_MAX:
        raise invalid("comment", f"comment: at most {COMMENT_MAX} characters")
    actor = actor_field(body)
    now = utcnow()
    async with request.app[SERVICES].sessions.begin() as session:
        try:
            done = await acts.change_status(
                session, number, target, actor=actor, comment=comment, today=baku_today(now),
                now=now,
            )  # fmt: skip
        except acts.ActNotFound:
            raise act_not_found(number) from None
        except ActTransitionError as error:
            raise act_refusal(error) from None
        queued = await act_notices.queue_status_changed(
            session, done.act, ActStatus(done.change.to_status), now=now
        )
        body = {**await act_detail(session, done.act, now), "notices_queued": queued}
    log.info("Act %s: %s → %s by %s", number, done.change.from_status, target, actor)
    return web.json_response(body)


# --------------------------------------------------------------------------- subscribers


async def put_subscriber(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    if len(code) > 40:
        raise invalid("code", "code: 15 digits")
    code = code_value(code, "code")
    body = json_object(await read_body(request), SUBSCRIBER_FIELDS)
    if "phone" not in body:
        raise bad_field("missing_field", "phone", "phone is required (null when unknown)")
    phone = phone_field(body, "phone")
    address = short_text(body, "address", ADDRESS_MAX, required=False)
    district = district_field(body, required=False)
    async with request.app[SERVICES].sessions.begin() as session:
        await acts.upsert_subscriber(session, code, phone=phone, address=address, district=district)
    return web.json_response(
        {"code": code, "phone": phone, "address": address, "district": district}
    )


def routes(token: SecretStr | None) -> list[web.RouteDef]:
    return [
        web.post(ACTS_PATH, guarded(token, post_act)),
        web.get(ACT_PATH, guarded(token, get_act), allow_head=False),
        web.post(PAYMENT_PATH, guarded(token, post_payment)),
        web.post(ACT_STATUS_PATH, guarded(token, post_act_status)),
        web.put(SUBSCRIBER_PATH, guarded(token, put_subscriber)),
    ]
