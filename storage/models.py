"""SQLAlchemy models: the whole schema, grouped by aggregate.

Conventions
-----------
* Every timestamp is :class:`~storage.db.UTCDateTime` (aware UTC in, aware UTC out).
* Money is ``Numeric`` → :class:`~decimal.Decimal`; never floats. (SQLite keeps NUMERIC as REAL
  and SQLAlchemy rounds it back to the column's scale on read: do money arithmetic in Python,
  not in SQL aggregates, if results must match on both engines.)
* Telegram ids (users, chats, staff) are ``BigInteger``.
* JSON columns are ``json`` on SQLite and ``jsonb`` on PostgreSQL; values must be plain JSON
  (dict/list/str/int/float/bool/None) — encode Decimals and dates as strings yourself.
* Small closed vocabularies (locale, channel, statuses) are ``String`` columns guarded by a
  ``CHECK`` constraint; their values are the ``StrEnum`` classes below. The application status is
  owned by the domain's state machine and is not constrained here.
* Constraint and index names follow :data:`NAMING_CONVENTION`, so migrations are deterministic.
  Changing anything here needs a new Alembic revision (``uv run alembic revision
  --autogenerate -m "..."``), reviewed by hand (CHECK constraints and partial indexes are not
  detected by autogenerate).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from domain.acts import ActStatus
from domain.objections import Outcome
from storage.db import UTCDateTime, utcnow

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: ``json`` everywhere, ``jsonb`` on PostgreSQL (comparable, indexable, compact).
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
#: 64-bit surrogate keys for high-volume tables (SQLite needs INTEGER for its rowid alias).
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
#: Money: 10 digits before the point, 2 after.
Money = Numeric(12, 2)
#: Server defaults spelled the same on both engines (``CURRENT_TIMESTAMP`` is UTC on SQLite;
#: SQLite >= 3.23 understands ``true``/``false``).
NOW = text("CURRENT_TIMESTAMP")
TRUE = text("true")
FALSE = text("false")
ZERO = text("0")

PHONE_LEN = 16  # "+" and at most 15 digits (E.164)
EMAIL_LEN = 254
SUBSCRIBER_CODE_LEN = 15


class Base(DeclarativeBase):
    """Declarative base with the shared metadata and type map."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012  (SQLAlchemy reads this class attribute)
        datetime: UTCDateTime(),
        date: Date(),
        Decimal: Money,
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


# --------------------------------------------------------------------------- vocabularies


class Locale(StrEnum):
    AZ = "az"
    RU = "ru"
    EN = "en"


class ObjectType(StrEnum):
    HOUSE = "house"
    APARTMENT = "apartment"


class Channel(StrEnum):
    TELEGRAM = "telegram"
    SMS = "sms"
    EMAIL = "email"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Priority:
    """Outbox priorities: lower is sent sooner."""

    REPLY = 0
    NOTICE = 10
    BULK = 20


def one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    """``CHECK (column IN (...))`` named ``ck_<table>_<column>``."""
    listed = ", ".join(f"'{member.value}'" for member in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


def _created_at() -> Mapped[datetime]:
    return mapped_column(default=utcnow, server_default=NOW)


def _updated_at() -> Mapped[datetime]:
    return mapped_column(default=utcnow, onupdate=utcnow, server_default=NOW)


# --------------------------------------------------------------------------- citizens


class Citizen(Base):
    """A person who talks to us by Telegram and/or SMS, with their channel preferences."""

    __tablename__ = "citizens"
    __table_args__ = (
        # One citizen record per verified phone; unverified duplicates are allowed.
        Index(
            "uq_citizens_verified_phone",
            "phone_e164",
            unique=True,
            sqlite_where=text("phone_verified"),
            postgresql_where=text("phone_verified"),
        ),
        one_of("locale", Locale),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    locale: Mapped[str] = mapped_column(String(2), default=Locale.AZ, server_default="az")
    phone_e164: Mapped[str | None] = mapped_column(String(PHONE_LEN))
    phone_verified: Mapped[bool] = mapped_column(default=False, server_default=FALSE)
    email: Mapped[str | None] = mapped_column(String(EMAIL_LEN))
    district: Mapped[str | None] = mapped_column(String(100))
    notify_telegram: Mapped[bool] = mapped_column(default=True, server_default=TRUE)
    notify_sms: Mapped[bool] = mapped_column(default=True, server_default=TRUE)
    notify_email: Mapped[bool] = mapped_column(default=True, server_default=TRUE)
    broadcasts_enabled: Mapped[bool] = mapped_column(default=True, server_default=TRUE)
    sms_opted_out: Mapped[bool] = mapped_column(default=False, server_default=FALSE)
    blocked: Mapped[bool] = mapped_column(default=False, server_default=FALSE)
    blocked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class SubscriberLink(Base):
    """A citizen follows an electricity subscriber code (to receive its acts and invoices)."""

    __tablename__ = "subscriber_links"
    __table_args__ = (
        UniqueConstraint("citizen_id", "subscriber_code"),
        Index("ix_subscriber_links_subscriber_code", "subscriber_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    subscriber_code: Mapped[str] = mapped_column(String(SUBSCRIBER_CODE_LEN))
    linked_at: Mapped[datetime] = _created_at()


class RemovedPhone(Base):
    """A number the citizen removed from their confirmed numbers: it is not offered again
    without a new proof (storage.citizens.remember_verified_phone deletes the row)."""

    __tablename__ = "removed_phones"
    __table_args__ = (UniqueConstraint("citizen_id", "phone_e164"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    phone_e164: Mapped[str] = mapped_column(String(PHONE_LEN))
    removed_at: Mapped[datetime] = _created_at()


class PhoneVerification(Base):
    """A one-time code sent by SMS to prove a phone number (``sms_sent`` false: a decoy).

    The rows are also the counts behind the SMS caps (storage/phone_verifications.py).
    """

    __tablename__ = "phone_verifications"
    __table_args__ = (
        Index("ix_phone_verifications_telegram_user_id", "telegram_user_id"),
        Index("ix_phone_verifications_phone_e164", "phone_e164"),
        Index("ix_phone_verifications_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    phone_e164: Mapped[str] = mapped_column(String(PHONE_LEN))
    code_hash: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0, server_default=ZERO)
    resend_after: Mapped[datetime]
    verified_at: Mapped[datetime | None]
    sms_sent: Mapped[bool] = mapped_column(default=True, server_default=TRUE)
    created_at: Mapped[datetime] = _created_at()


# --------------------------------------------------------------------------- applications


class Application(Base):
    """A connection request (new supply) and its fee quote."""

    __tablename__ = "applications"
    __table_args__ = (
        Index("ix_applications_status", "status"),
        Index("ix_applications_district", "district"),
        Index("ix_applications_citizen_id", "citizen_id"),
        Index("ix_applications_phone_e164", "phone_e164"),
        one_of("object_type", ObjectType),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"))
    status: Mapped[str] = mapped_column(String(32))
    # applicant
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    patronymic: Mapped[str | None] = mapped_column(String(100))
    fin: Mapped[str] = mapped_column(String(7))
    id_card: Mapped[str] = mapped_column(String(20))
    phone_e164: Mapped[str] = mapped_column(String(PHONE_LEN))
    email: Mapped[str | None] = mapped_column(String(EMAIL_LEN))
    # request
    execution_period: Mapped[str | None] = mapped_column(String(32))
    phase: Mapped[int] = mapped_column(SmallInteger)
    requested_power_kw: Mapped[Decimal] = mapped_column(Numeric(8, 1))
    object_type: Mapped[str] = mapped_column(String(16))
    has_general_conditions: Mapped[bool | None]
    # location
    district: Mapped[str] = mapped_column(String(100))
    regional_unit: Mapped[str | None] = mapped_column(String(100))
    registry_number: Mapped[str | None] = mapped_column(String(64))
    registration_number: Mapped[str | None] = mapped_column(String(64))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[int | None]
    power_centre: Mapped[str | None] = mapped_column(String(100))
    # fee
    fee_amount: Mapped[Decimal]
    fee_rule_set: Mapped[str] = mapped_column(String(128))
    quote: Mapped[dict[str, Any]]
    # idempotency: a double tap on "submit" creates one application
    submit_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()
    status_changed_at: Mapped[datetime] = _created_at()

    @property
    def free(self) -> bool:
        """A free connection (fee 0): *paid* takes the place of *payment pending*."""
        return self.fee_amount == 0


class StatusChangeRow:
    """One status change, a row of a status history: from which status to which, who, why and
    when. Each history adds its owner's foreign key and its statuses' length."""

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-1)  # first, as migrated
    from_status: Mapped[str | None]
    to_status: Mapped[str]
    actor: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = _created_at()


class ApplicationStatusChange(StatusChangeRow, Base):
    """History of an application's status (one row per transition)."""

    __tablename__ = "application_status_changes"
    __table_args__ = (Index("ix_application_status_changes_application_id", "application_id"),)

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))


# --------------------------------------------------------------------------- violation acts


class ViolationAct(Base):
    """An act on a violation of electricity use (EEIQ 5.11) and its invoice."""

    __tablename__ = "violation_acts"
    __table_args__ = (
        Index("ix_violation_acts_subscriber_code", "subscriber_code"),
        Index("ix_violation_acts_status", "status"),
        Index("ix_violation_acts_due_on", "due_on"),
        Index("ix_violation_acts_consumer_phone_e164", "consumer_phone_e164"),
        one_of("status", ActStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    subscriber_code: Mapped[str] = mapped_column(String(SUBSCRIBER_CODE_LEN))
    address: Mapped[str] = mapped_column(String(255))
    district: Mapped[str] = mapped_column(String(100))
    consumer_phone_e164: Mapped[str | None] = mapped_column(String(PHONE_LEN))
    detected_on: Mapped[date]
    last_inspection_on: Mapped[date | None]
    account_opened_on: Mapped[date | None]
    violation_type: Mapped[str] = mapped_column(String(32))
    loads: Mapped[list[Any]]
    signed: Mapped[bool]
    inspectors: Mapped[list[Any]]
    rule_set: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal]
    calculation: Mapped[dict[str, Any]]
    issued_on: Mapped[date]
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default=ActStatus.OPEN, server_default="open")
    paid_amount: Mapped[Decimal | None]
    paid_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class ActStatusChange(StatusChangeRow, Base):
    """History of an act's status (one row per change, staff or payment)."""

    __tablename__ = "act_status_changes"
    __table_args__ = (Index("ix_act_status_changes_act_id", "act_id"),)

    act_id: Mapped[int] = mapped_column(ForeignKey("violation_acts.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))


class ActPayment(Base):
    """A payment against an act; the payment system's reference makes a repeat harmless."""

    __tablename__ = "act_payments"
    __table_args__ = (UniqueConstraint("act_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    act_id: Mapped[int] = mapped_column(ForeignKey("violation_acts.id", ondelete="CASCADE"))
    amount: Mapped[Decimal]
    paid_at: Mapped[datetime]
    reference: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created_at()


class GatewayPayment(Base):
    """A payment the payment gateway reported (``POST /payments/callback``); its payment id
    makes a replayed callback harmless."""

    __tablename__ = "gateway_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(64), unique=True)
    reference: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal]
    paid_at: Mapped[datetime]
    created_at: Mapped[datetime] = _created_at()


class Subscriber(Base):
    """An electricity account as the billing system knows it: whose phone it is on file.

    Filled by the acts API (each act carries the consumer's phone) and by
    ``PUT /api/subscribers/{code}`` from the billing system; a chat may follow a code only
    when this phone is the citizen's verified phone.
    """

    __tablename__ = "subscribers"
    __table_args__ = (Index("ix_subscribers_phone_e164", "phone_e164"),)

    code: Mapped[str] = mapped_column(String(SUBSCRIBER_CODE_LEN), primary_key=True)
    phone_e164: Mapped[str | None] = mapped_column(String(PHONE_LEN))
    address: Mapped[str | None] = mapped_column(String(255))
    district: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = _updated_at()


class ActObjection(Base):
    """A citizen's objection to an act, with the receipt number we gave them."""

    __tablename__ = "act_objections"
    __table_args__ = (
        Index("ix_act_objections_act_id", "act_id"),
        Index("ix_act_objections_citizen_id", "citizen_id"),
        one_of("outcome", Outcome),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    act_id: Mapped[int] = mapped_column(ForeignKey("violation_acts.id"))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"))
    receipt_number: Mapped[str] = mapped_column(String(32), unique=True)
    text: Mapped[str] = mapped_column(Text)
    photo_file_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = _created_at()
    # the answer (domain.objections): set once, by a conditional update
    outcome: Mapped[str | None] = mapped_column(String(16))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(64))
    staff_reminded_at: Mapped[datetime | None]


class JobRun(Base):
    """A daily job's run for one Baku day: a day missed while no process ran is caught up once."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    ran_at: Mapped[datetime] = _created_at()


# --------------------------------------------------------------------------- delivery


class Broadcast(Base):
    """A staff message to an audience of citizens over chosen channels."""

    __tablename__ = "broadcasts"
    __table_args__ = (
        Index("ix_broadcasts_status_scheduled_at", "status", "scheduled_at"),
        one_of("status", BroadcastStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by: Mapped[int] = mapped_column(BigInteger)
    staff_chat_id: Mapped[int] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    audience: Mapped[dict[str, Any]]
    channels: Mapped[list[Any]]
    texts: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(
        String(16), default=BroadcastStatus.DRAFT, server_default="draft"
    )
    scheduled_at: Mapped[datetime | None]
    total: Mapped[int] = mapped_column(default=0, server_default=ZERO)
    created_at: Mapped[datetime] = _created_at()
    finished_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """One message to send on one channel; the dispatcher claims, sends and retries it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_claim", "status", "priority", "next_attempt_at"),
        Index("ix_outbox_broadcast_id_status", "broadcast_id", "status"),
        one_of("channel", Channel),
        one_of("status", OutboxStatus),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(EMAIL_LEN))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id", ondelete="SET NULL"))
    priority: Mapped[int] = mapped_column(
        SmallInteger, default=Priority.NOTICE, server_default=text(str(Priority.NOTICE))
    )
    payload: Mapped[dict[str, Any]]
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(
        String(16), default=OutboxStatus.PENDING, server_default="pending"
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default=ZERO)
    next_attempt_at: Mapped[datetime] = _created_at()
    claimed_until: Mapped[datetime | None]
    # Set by each claim: only the claimer holding it may mark the row sent, retried or failed.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _created_at()
    sent_at: Mapped[datetime | None]


class BroadcastRecipient(Base):
    """A (broadcast, citizen, channel) to reach; ``outbox_id`` is set once queued."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (UniqueConstraint("broadcast_id", "citizen_id", "channel"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    outbox_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("outbox.id", ondelete="SET NULL")
    )


class SmsInbound(Base):
    """An SMS received from the gateway, deduplicated by the provider's message id.

    The rows of the last hour from one phone are its query limit; ``limited`` marks the one
    message that was told so (later ones in the hour get silence).
    """

    __tablename__ = "sms_inbound"
    __table_args__ = (Index("ix_sms_inbound_from_phone_received_at", "from_phone", "received_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    provider_message_id: Mapped[str] = mapped_column(String(128), unique=True)
    from_phone: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = _created_at()
    handled_at: Mapped[datetime | None]
    command: Mapped[str | None] = mapped_column(String(16))
    limited: Mapped[bool] = mapped_column(default=False, server_default=FALSE)


class TelegramBudget(Base):
    """The bot's overall Telegram send budget, shared by its processes on PostgreSQL.

    One token bucket per bot: each process leases a few tokens at a time with one atomic
    ``UPDATE ... RETURNING`` (see storage/telegram_budget.py); ``paused_until`` carries a 429's
    flood wait to every process. ``granted`` is the last lease's size (for ``RETURNING``).
    """

    __tablename__ = "telegram_budget"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tokens: Mapped[float] = mapped_column(Float)
    stamp: Mapped[datetime]
    paused_until: Mapped[datetime]
    granted: Mapped[int] = mapped_column(default=0, server_default=ZERO)


# --------------------------------------------------------------------------- python-telegram-bot


class PtbUserData(Base):
    """``context.user_data`` per Telegram user (JSON)."""

    __tablename__ = "ptb_user_data"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = _updated_at()


class PtbChatData(Base):
    """``context.chat_data`` per Telegram chat (JSON)."""

    __tablename__ = "ptb_chat_data"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = _updated_at()


class PtbBotData(Base):
    """``context.bot_data`` (a single row, ``id = 1``)."""

    __tablename__ = "ptb_bot_data"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = _updated_at()


class PtbCallbackData(Base):
    """The arbitrary-callback-data cache as ``[keyboards, queries]`` (a single row, ``id = 1``)."""

    __tablename__ = "ptb_callback_data"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    data: Mapped[list[Any]]
    updated_at: Mapped[datetime] = _updated_at()


class PtbConversation(Base):
    """A ConversationHandler state; ``key`` is the JSON list of the key tuple."""

    __tablename__ = "ptb_conversations"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[Any] = mapped_column(JSONType, nullable=False)
    updated_at: Mapped[datetime] = _updated_at()


# --------------------------------------------------------------------------- inbox


class InboxStatus(StrEnum):
    PENDING = "pending"
    HANDLED = "handled"
    QUARANTINED = "quarantined"


class InboxUpdate(Base):
    """A Telegram update as it arrived, stored before Telegram was told we have it.

    Pending rows are the bot's work queue after a crash or a take-over; handled rows stay for
    the retention period so that a redelivered ``update_id`` is recognised; quarantined rows
    (unparsable, or failing again and again) keep their error for staff to look at.
    """

    __tablename__ = "inbox_updates"
    __table_args__ = (
        one_of("status", InboxStatus),
        Index(
            "ix_inbox_updates_pending",
            "update_id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_inbox_updates_handled_at", "handled_at"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(
        String(12), default=InboxStatus.PENDING, server_default="pending"
    )
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=ZERO)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = _created_at()
    #: replies to it the Bot API accepted (for the eye: a replay holds back by the digests)
    replies_sent: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=ZERO)
    #: what those replies said, a digest each, space-separated (bot/replay.py)
    reply_digests: Mapped[str] = mapped_column(Text, default="", server_default="")
    handled_at: Mapped[datetime | None]
