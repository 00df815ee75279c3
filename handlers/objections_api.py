"""The staff HTTP API for objections and overdue acts (the staff API's token and error shape).

- ``POST /api/objections/{receipt}/answer``: the answer (upheld, partly upheld, rejected, with a
  text for the citizen); an upheld objection may cancel the act (``"act": "cancel"``), an upheld
  or partly upheld one may lower its amount (``"act": "recompute"`` with ``"amount"``). The
  citizen is told in the chat and by SMS. Answered once: a second answer is 409.
- ``GET /api/acts?overdue=true``: acts still open past their due date, for staff to act on
  (the bot never disconnects anyone itself); without the filter, the acts still owed.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from aiohttp import web
from pydantic import SecretStr

from delivery.objection_answers import ActionRefused, answer_objection
from domain.acts import ActStatus, days_left
from domain.objections import ANSWER_MIN, ActAction
from domain.transitions import TransitionError
from handlers.acts_api import act_detail, act_refusal, baku_today, invalid, money, objection_item
from handlers.api_values import PREFIX, timestamp
from handlers.health import SERVICES
from handlers.http_api import ApiError, guarded, parse_body, parse_query, read_body, respond
from handlers.objection_models import ActList, ActQuery, ObjectionAnswered, ObjectionAnswerRequest
from storage import acts, objections
from storage.db import utcnow
from storage.models import ViolationAct

ANSWER_PATH: Final = f"{PREFIX}/objections/{{receipt}}/answer"
ACT_LIST_PATH: Final = f"{PREFIX}/acts"
ACT_LIST_PARAMETERS: Final = tuple(ActQuery.model_fields)
RECEIPT: Final = re.compile(r"ET-[0-9]{4}-[0-9]{6}")
REFUSED: Final[dict[str, tuple[int, str]]] = {
    "action_not_allowed": (422, "act: cancel only for upheld, recompute for upheld or partly"),
    "amount_required": (422, "amount: required with act = recompute"),
    "act_closed": (409, "the act is paid or cancelled; answer without act"),
}


def objection_not_found(receipt: str) -> ApiError:
    return ApiError(404, "not_found", f"no objection {receipt}")


def path_receipt(request: web.Request) -> str:
    receipt = request.match_info["receipt"].strip().upper()
    if not RECEIPT.fullmatch(receipt):
        raise objection_not_found(receipt[:20])
    return receipt


async def post_answer(request: web.Request) -> web.Response:
    receipt = path_receipt(request)
    answer = parse_body(ObjectionAnswerRequest, await read_body(request))
    outcome, actor, action, amount = answer.outcome, answer.actor, answer.act, answer.amount
    text = answer.text.strip()
    if len(text) < ANSWER_MIN:
        raise invalid("text", f"text: at least {ANSWER_MIN} characters")
    if amount is not None and action != ActAction.RECOMPUTE:
        raise invalid("amount", "amount: only with act = recompute")
    now = utcnow()
    async with request.app[SERVICES].sessions.begin() as session:
        try:
            answered = await answer_objection(
                session, receipt, outcome=outcome, text=text, actor=actor, now=now,
                action=action, amount=amount,
            )  # fmt: skip
        except objections.ObjectionNotFound:
            raise objection_not_found(receipt) from None
        except objections.AlreadyAnswered:
            raise ApiError(409, "already_answered", f"objection {receipt} is answered") from None
        except ActionRefused as error:
            status, message = REFUSED[error.reason]
            raise ApiError(status, error.reason, message, field="act") from None
        except objections.AmountRefused:
            raise ApiError(
                422, "invalid_field", "amount: more than 0 and less than the act's amount",
                field="amount",
            ) from None  # fmt: skip
        except TransitionError as error:
            raise act_refusal(error) from None
        found = answered.found
        result = {
            "objection": objection_item(found.objection),
            "act": await act_detail(session, found.act, now),
            "notices_queued": answered.queued,
        }
    return respond(ObjectionAnswered, result)


# --------------------------------------------------------------------------- overdue acts


def act_summary(act: ViolationAct, today: date) -> dict[str, Any]:
    return {
        "number": act.number,
        "subscriber_code": act.subscriber_code,
        "district": act.district,
        "status": act.status,
        "amount": money(act.amount),
        "outstanding": money(acts.outstanding(act)),
        "due_on": act.due_on.isoformat(),
        "days_left": days_left(act.due_on, today),
        "overdue": act.status == ActStatus.OPEN and act.due_on < today,
        "created_at": timestamp(act.created_at),
    }


async def list_acts(request: web.Request) -> web.Response:
    query = parse_query(ActQuery, request.query)
    overdue = None if query.overdue is None else query.overdue == "true"
    limit = query.limit
    today = baku_today(utcnow())
    async with request.app[SERVICES].sessions() as session:
        found = await acts.owed_acts(session, today, overdue=overdue, limit=limit)
    return respond(ActList, {"items": [act_summary(act, today) for act in found]})


def routes(token: SecretStr | None) -> list[web.RouteDef]:
    return [
        web.post(ANSWER_PATH, guarded(token, post_answer)),
        web.get(ACT_LIST_PATH, guarded(token, list_acts, ACT_LIST_PARAMETERS), allow_head=False),
    ]
