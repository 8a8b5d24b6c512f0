"""Settings: read once from the environment into one typed object."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal

from realtime.channels import DEFAULT_REDIS_PREFIX

DEFAULT_SQLITE_FILE = "funnelgraph.sqlite3"
MIN_SECRET_LENGTH = 32
DEFAULT_POOL_SIZE = 20


LogFormat = Literal["json", "text"]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says what to set."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client may ask of the server; each field is read from the variable in
    LIMIT_VARIABLES, and the defaults suit a rich client with live boards."""

    max_body_bytes: int = 1_000_000
    max_query_tokens: int = 3_000
    max_query_depth: int = 12
    max_query_aliases: int = 30
    max_query_fields: int = 1_000
    max_query_cost: int = 20_000
    max_subscriptions_per_connection: int = 20
    max_connections_per_user: int = 20
    operations_per_second: int = 30
    login_failures_per_email: int = 5
    login_failures_per_address: int = 30
    login_cooldown_seconds: int = 900

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Limits:
        defaults = cls()
        return cls(
            **{
                name: _positive_int(env, variable, getattr(defaults, name))
                for name, variable in LIMIT_VARIABLES.items()
            }
        )


LIMIT_VARIABLES = {
    "max_body_bytes": "MAX_BODY_BYTES",
    "max_query_tokens": "MAX_QUERY_TOKENS",
    "max_query_depth": "MAX_QUERY_DEPTH",
    "max_query_aliases": "MAX_QUERY_ALIASES",
    "max_query_fields": "MAX_QUERY_FIELDS",
    "max_query_cost": "MAX_QUERY_COST",
    "max_subscriptions_per_connection": "MAX_SUBSCRIPTIONS_PER_CONNECTION",
    "max_connections_per_user": "MAX_CONNECTIONS_PER_USER",
    "operations_per_second": "OPERATIONS_PER_SECOND",
    "login_failures_per_email": "LOGIN_FAILURES_PER_EMAIL",
    "login_failures_per_address": "LOGIN_FAILURES_PER_ADDRESS",
    "login_cooldown_seconds": "LOGIN_COOLDOWN_SECONDS",
}


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Outbound webhooks (resolvers/webhook_delivery.py), each from its WEBHOOK_ variable."""

    retry_base_seconds: float = 1.0  # the first retry's wait, doubled each time (to an hour)
    failure_window_seconds: float = 86_400.0  # failing this long turns a webhook off
    allow_private: bool = False  # private, loopback and link-local receivers (and http)
    poll_seconds: float = 1.0  # how often each process looks for deliveries due
    timeout_seconds: float = 10.0  # one attempt's limit
    deliver: bool = True  # WEBHOOK_DELIVERIES=off: this process leaves deliveries to others

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebhookSettings:
        defaults = cls()
        return cls(
            **{
                name: _positive_float(env, variable, getattr(defaults, name))
                for name, variable in WEBHOOK_DURATIONS.items()
            },
            allow_private=_switch(env, "WEBHOOK_ALLOW_PRIVATE", default=False),
            deliver=_switch(env, "WEBHOOK_DELIVERIES"),
        )


WEBHOOK_DURATIONS = {
    "retry_base_seconds": "WEBHOOK_RETRY_BASE_SECONDS",
    "failure_window_seconds": "WEBHOOK_FAILURE_WINDOW_SECONDS",
    "poll_seconds": "WEBHOOK_POLL_SECONDS",
    "timeout_seconds": "WEBHOOK_TIMEOUT_SECONDS",
}
WEBHOOK_VARIABLES = (*WEBHOOK_DURATIONS.values(), "WEBHOOK_ALLOW_PRIVATE", "WEBHOOK_DELIVERIES")


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    redis_url: str | None
    secret_key: str
    environment: Environment
    token_ttl_seconds: int
    allowed_origins: tuple[str, ...]
    registration_check_seconds: int = 30
    rotting_check_seconds: int = 60
    event_retention_days: int = 30
    shutdown_timeout_seconds: int = 10
    websocket_ping_seconds: int = 60
    limits: Limits = Limits()
    redis_prefix: str = DEFAULT_REDIS_PREFIX
    # TRUSTED_DOCUMENTS' (id, document) pairs: only those run (server/persisted_queries.py)
    trusted_documents: tuple[tuple[str, str], ...] | None = None
    log_format: LogFormat = "text"  # LOG_FORMAT; production's default is json
    log_operations: bool = True  # LOG_OPERATIONS: a line per operation
    metrics: bool = True  # METRICS: recorded, and served at /metrics
    metrics_token: str | None = None  # METRICS_TOKEN: production serves /metrics only with it
    otlp_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT: traces go there (OTLP/HTTP)
    webhooks: WebhookSettings = WebhookSettings()

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build the settings from `environ` (default: the process environment)."""
        env = os.environ if environ is None else environ
        environment = _environment(env.get("FUNNELGRAPH_ENV", ""))
        database_url = _database_url(env.get("DATABASE_URL", ""))
        return cls(
            database_url=database_url,
            redis_url=env.get("REDIS_URL") or None,
            redis_prefix=_redis_prefix(env.get("REDIS_PREFIX", "")),
            log_format=_log_format(env.get("LOG_FORMAT", ""), environment),
            log_operations=_switch(env, "LOG_OPERATIONS"),
            metrics=_switch(env, "METRICS"),
            metrics_token=env.get("METRICS_TOKEN") or None,
            otlp_endpoint=env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
            trusted_documents=_trusted_documents(env.get("TRUSTED_DOCUMENTS", "")),
            secret_key=_secret_key(env.get("SECRET_KEY", ""), environment, database_url),
            environment=environment,
            token_ttl_seconds=_positive_int(env, "TOKEN_TTL_SECONDS", 12 * 3600),
            registration_check_seconds=_positive_int(env, "REGISTRATION_CHECK_SECONDS", 30),
            rotting_check_seconds=_positive_int(env, "ROTTING_CHECK_SECONDS", 60),
            event_retention_days=_positive_int(env, "EVENT_RETENTION_DAYS", 30),
            shutdown_timeout_seconds=_positive_int(env, "SHUTDOWN_TIMEOUT_SECONDS", 10),
            websocket_ping_seconds=_positive_int(env, "WEBSOCKET_PING_SECONDS", 60),
            limits=Limits.from_env(env),
            webhooks=WebhookSettings.from_env(env),
            allowed_origins=tuple(
                origin.strip()
                for origin in env.get("ALLOWED_ORIGINS", "").split(",")
                if origin.strip()
            ),
        )


def _log_format(raw: str, environment: Environment) -> LogFormat:
    value = raw.strip().lower()
    if not value:
        return "json" if environment is Environment.PRODUCTION else "text"
    if value not in ("json", "text"):
        raise SettingsError(f"LOG_FORMAT={raw!r} is not known: set it to 'json' or 'text'")
    return "json" if value == "json" else "text"


def _switch(env: Mapping[str, str], name: str, *, default: bool = True) -> bool:
    """A setting that is on (on, true, 1, yes) or off (off, false, 0, no); unset: `default`."""
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("on", "true", "1", "yes"):
        return True
    if value in ("off", "false", "0", "no"):
        return False
    raise SettingsError(f"{name}={env[name]!r} is not known: set it to 'on' or 'off'")


def _redis_prefix(raw: str) -> str:
    """REDIS_PREFIX, or the default when unset; a prefix with white space is refused."""
    if not raw:
        return DEFAULT_REDIS_PREFIX
    if raw != raw.strip() or any(character.isspace() for character in raw):
        raise SettingsError(f"REDIS_PREFIX={raw!r} may not contain white space")
    return raw


def _trusted_documents(path: str) -> tuple[tuple[str, str], ...] | None:
    """The manifest TRUSTED_DOCUMENTS names (a JSON object of id -> document text)."""
    if not path:
        return None
    try:
        manifest = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise SettingsError(f"TRUSTED_DOCUMENTS={path!r} cannot be read: {error}") from None
    if not isinstance(manifest, dict) or not all(
        isinstance(key, str) and isinstance(text, str) for key, text in manifest.items()
    ):
        raise SettingsError(f"TRUSTED_DOCUMENTS={path!r} must be a JSON object of id -> document")
    return tuple(manifest.items())


def _environment(raw: str) -> Environment:
    value = raw.strip().lower() or Environment.DEVELOPMENT.value
    try:
        return Environment(value)
    except ValueError:
        raise SettingsError(
            f"FUNNELGRAPH_ENV={raw!r} is not known: set it to 'development' or 'production'"
        ) from None


def _database_url(raw: str) -> str:
    url = raw.strip() or f"sqlite://{Path.cwd() / DEFAULT_SQLITE_FILE}"
    scheme = url.split("://", 1)[0]
    if scheme in ("postgresql", "postgres", "asyncpg"):
        # Tortoise names PostgreSQL "postgres"; accept the spelling libpq users write.
        url = "postgres://" + url.split("://", 1)[1]
        if "maxsize=" not in url:
            # Tortoise's default pool of 5 makes writes queue behind live streams' reads.
            url += ("&" if "?" in url else "?") + f"maxsize={DEFAULT_POOL_SIZE}"
        return url
    if scheme == "sqlite":
        return url
    raise SettingsError(
        f"DATABASE_URL scheme {scheme!r} is not supported: use postgres://... or sqlite://PATH"
    )


def _secret_key(raw: str, environment: Environment, database_url: str) -> str:
    key = raw.strip()
    if environment is Environment.PRODUCTION:
        if len(key) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"SECRET_KEY must be set to at least {MIN_SECRET_LENGTH} random characters "
                "in production (for example: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        return key
    return key or _development_key(database_url)


def _development_key(database_url: str) -> str:
    """A random key kept beside the SQLite file, so tokens survive a restart."""
    if database_url.startswith("sqlite://") and database_url != "sqlite://:memory:":
        path = Path(database_url.removeprefix("sqlite://") + ".secret")
    else:
        path = Path.cwd() / ".funnelgraph.secret"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise SettingsError(f"{name} must be a positive number, got {raw}")
    return value
