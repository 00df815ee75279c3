"""The one settings object, read from the environment and an optional `.env` file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from storage.phone_verifications import SmsCaps

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/bot.db"

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class Settings(BaseSettings):
    """Every knob an operator can turn; names match ARCHITECTURE.md."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    database_url: str = DEFAULT_DATABASE_URL
    staff_telegram_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    staff_api_token: SecretStr | None = None
    sms_webhook_secret: SecretStr | None = None
    sms_webhook_public_url: str | None = None
    # the secret of a Twilio SharedKey, for X-Twilio-Webhooks-Signature-Settings signatures
    sms_webhook_shared_key: SecretStr | None = None
    sms_queries_per_hour: int = Field(default=10, ge=1)
    sms_transliterate: bool = True
    # caps on verification codes by SMS, against SMS pumping (see storage/phone_verifications.py)
    sms_code_numbers_per_account: int = Field(default=3, ge=1)
    sms_codes_per_account: int = Field(default=5, ge=1)
    sms_codes_per_phone: int = Field(default=5, ge=1)
    sms_codes_daily_budget: int = Field(default=1000, ge=1)
    sms_codes_budget_alarm_percent: int = Field(default=80, ge=1, le=100)
    sms_provider_url: str | None = None
    smtp_url: str | None = None
    webhook_url: str | None = None
    webhook_secret_token: SecretStr | None = None
    # GET /metrics wants "Authorization: Bearer <token>" when set; open when not (local use)
    metrics_token: SecretStr | None = None
    power_centres_file: Path | None = None
    gis_url: str | None = None
    citizen_registry_url: str | None = None
    billing_url: str | None = None
    # a hosted-checkout payment gateway (integrations/payments.py); without it, channels only
    payments_url: str | None = None
    payments_token: SecretStr | None = None
    payments_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    # the gateway signs POST /payments/callback with it (HMAC-SHA256); the route is off without
    payments_callback_secret: SecretStr | None = None
    # the update inbox (see bot/inbox.py)
    inbox_retention_hours: float = Field(default=48.0, gt=0)
    inbox_max_attempts: int = Field(default=3, ge=1, le=100)
    # outbox delivery (see delivery/dispatcher.py)
    run_dispatcher_in_serve: bool = True
    sms_provider_auth: SecretStr | None = None
    sms_rate_per_second: float = Field(default=10.0, gt=0)
    email_rate_per_second: float = Field(default=5.0, gt=0)
    # the Telegram governor (see delivery/governor.py): for the whole bot, all processes
    telegram_global_rate: float = Field(default=30.0, gt=0)
    telegram_per_chat_rate: float = Field(default=1.0, gt=0)
    telegram_per_chat_burst: int = Field(default=1, ge=1, le=20)
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_batch_size: int = Field(default=100, ge=1, le=1000)
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    outbox_lease_seconds: float = Field(default=120.0, gt=0)
    outbox_retry_base_seconds: float = Field(default=5.0, gt=0)
    outbox_retry_cap_seconds: float = Field(default=900.0, gt=0)
    # stopping and standby (see bot/shutdown.py and bot/leader.py)
    stop_timeout_seconds: float = Field(default=8.0, gt=0, le=300)
    leader_check_seconds: float = Field(default=1.0, gt=0, le=60)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        driver = _DRIVERS.get(scheme.lower())
        if not sep or driver is None:
            raise ValueError(
                "use sqlite+aiosqlite:///path/to/bot.db or "
                "postgresql+asyncpg://user@host:5432/dbname"
            )
        return f"{driver}://{rest}"

    @field_validator("staff_telegram_ids", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",")]
            try:
                return frozenset(int(part) for part in parts if part)
            except ValueError:
                raise ValueError("a comma-separated list of Telegram user ids") from None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value:
            from delivery.providers import parse_smtp_url

            parse_smtp_url(value)
        return value or None

    @field_validator(
        "telegram_api_base_url",
        "webhook_url",
        "gis_url",
        "citizen_registry_url",
        "billing_url",
        "payments_url",
        "sms_webhook_public_url",
        "sms_provider_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    def sms_caps(self) -> SmsCaps:
        from storage.phone_verifications import SmsCaps

        return SmsCaps(
            numbers_per_account=self.sms_code_numbers_per_account,
            codes_per_account=self.sms_codes_per_account,
            codes_per_phone=self.sms_codes_per_phone,
            daily_budget=self.sms_codes_daily_budget,
            alarm_percent=self.sms_codes_budget_alarm_percent,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The database file, or None for PostgreSQL and in-memory SQLite."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[-1]
        return None if path in ("", ":memory:") else Path(path)


def describe_error(error: Exception) -> str:
    """One line naming the bad setting, for the command line (never a traceback)."""
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        parts = []
        for item in error.errors():
            name = ".".join(str(loc) for loc in item["loc"]).upper() or "settings"
            message = str(item["msg"]).removeprefix("Value error, ")
            parts.append(f"{name}: {message}")
        return "invalid setting " + "; ".join(parts)
    return f"invalid settings: {error}"
