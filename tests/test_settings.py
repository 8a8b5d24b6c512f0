"""Settings read from the environment, and start-up refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import (
    LIMIT_VARIABLES,
    WEBHOOK_DURATIONS,
    Environment,
    Limits,
    Settings,
    SettingsError,
)

LONG_KEY = "k" * 40


def test_defaults_use_a_sqlite_file_in_the_working_directory(tmp_path, monkeypatch):
    # given an empty environment
    monkeypatch.chdir(tmp_path)
    # when
    settings = Settings.from_env({})
    # then
    assert settings.database_url == f"sqlite://{tmp_path / 'funnelgraph.sqlite3'}"
    assert settings.redis_url is None
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.token_ttl_seconds > 0
    assert settings.allowed_origins == ()
    assert settings.redis_prefix == "funnelgraph:"


def test_development_key_is_generated_once_and_kept_beside_the_sqlite_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = Settings.from_env({})
    second = Settings.from_env({})
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    assert (tmp_path / "funnelgraph.sqlite3.secret").read_text() == first.secret_key


@pytest.mark.parametrize("key", ["", "too-short"])
def test_production_refuses_a_missing_or_short_secret_key(key):
    with pytest.raises(SettingsError, match="SECRET_KEY must be set to at least 32"):
        Settings.from_env({"FUNNELGRAPH_ENV": "production", "SECRET_KEY": key})


def test_production_accepts_a_long_secret_key():
    settings = Settings.from_env(
        {"FUNNELGRAPH_ENV": "production", "SECRET_KEY": LONG_KEY, "DATABASE_URL": "sqlite://x"}
    )
    assert settings.is_production and settings.secret_key == LONG_KEY


def test_postgresql_scheme_is_accepted_and_normalised():
    settings = Settings.from_env(
        {"DATABASE_URL": "postgresql://app@db:5432/crm", "SECRET_KEY": LONG_KEY}
    )
    assert settings.database_url == "postgres://app@db:5432/crm?maxsize=20"
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL scheme 'mysql'"),
        ({"FUNNELGRAPH_ENV": "staging"}, "FUNNELGRAPH_ENV='staging'"),
        ({"TOKEN_TTL_SECONDS": "soon"}, "TOKEN_TTL_SECONDS='soon'"),
        ({"TOKEN_TTL_SECONDS": "0"}, "TOKEN_TTL_SECONDS must be positive"),
        ({"REDIS_PREFIX": "crm a:"}, "REDIS_PREFIX='crm a:' may not contain white space"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT='xml' is not known"),
        ({"METRICS": "maybe"}, "METRICS='maybe' is not known"),
        ({"LOG_OPERATIONS": "sometimes"}, "LOG_OPERATIONS='sometimes' is not known"),
    ],
)
def test_malformed_settings_are_refused_with_a_message_naming_them(environ, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"SECRET_KEY": LONG_KEY, **environ})


def test_all_settings_are_read(tmp_path: Path):
    settings = Settings.from_env(
        {
            "DATABASE_URL": f"sqlite://{tmp_path / 'x.db'}",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
            "SECRET_KEY": LONG_KEY,
            "TOKEN_TTL_SECONDS": "600",
            "ALLOWED_ORIGINS": "https://a.example, https://b.example",
            "REDIS_PREFIX": "crm-eu:",
        }
    )
    assert settings.redis_url == "redis://127.0.0.1:6379/3"
    assert settings.redis_prefix == "crm-eu:"
    assert settings.token_ttl_seconds == 600
    assert settings.allowed_origins == ("https://a.example", "https://b.example")


def test_logs_are_json_in_production_and_text_in_development_unless_set(tmp_path: Path):
    url = f"sqlite://{tmp_path / 'x.db'}"
    production = {"DATABASE_URL": url, "SECRET_KEY": LONG_KEY, "FUNNELGRAPH_ENV": "production"}
    assert Settings.from_env(production).log_format == "json"
    assert Settings.from_env({"DATABASE_URL": url}).log_format == "text"
    assert Settings.from_env({**production, "LOG_FORMAT": "TEXT"}).log_format == "text"
    switched = Settings.from_env(
        {"DATABASE_URL": url, "METRICS": "off", "LOG_OPERATIONS": "false", "METRICS_TOKEN": "t"}
    )
    assert (switched.metrics, switched.log_operations, switched.metrics_token) == (
        False,
        False,
        "t",
    )
    defaults = Settings.from_env({"DATABASE_URL": url})
    assert (defaults.metrics, defaults.log_operations, defaults.metrics_token) == (True, True, None)


def test_an_explicit_pool_size_in_the_url_is_kept():
    settings = Settings.from_env(
        {"DATABASE_URL": "postgres://app@db/crm?minsize=2&maxsize=50", "SECRET_KEY": LONG_KEY}
    )
    assert settings.database_url == "postgres://app@db/crm?minsize=2&maxsize=50"


def test_every_limit_is_read_from_its_variable(tmp_path: Path):
    environ = {
        "DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}",
        **{variable: str(1000 + index) for index, variable in enumerate(LIMIT_VARIABLES.values())},
    }
    limits = Settings.from_env(environ).limits

    assert [getattr(limits, name) for name in LIMIT_VARIABLES] == [
        1000 + index for index in range(len(LIMIT_VARIABLES))
    ]
    assert set(LIMIT_VARIABLES) == set(Limits.__dataclass_fields__)


def test_limits_have_the_defaults_the_readme_documents(tmp_path: Path, repo_root: Path):
    limits = Settings.from_env({"DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}"}).limits
    readme = (repo_root / "README.md").read_text()
    for name, variable in LIMIT_VARIABLES.items():
        assert f"| `{variable}` | `{getattr(limits, name)}` |" in readme, variable


@pytest.mark.parametrize("raw", ["0", "-5", "many"])
def test_a_malformed_limit_is_refused_naming_its_variable(tmp_path: Path, raw: str):
    environ = {"DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}", "MAX_QUERY_DEPTH": raw}
    with pytest.raises(SettingsError, match="MAX_QUERY_DEPTH"):
        Settings.from_env(environ)


def test_shutdown_timeout_is_read_and_its_default_documented(tmp_path: Path, repo_root: Path):
    database = {"DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}"}
    default = Settings.from_env(database).shutdown_timeout_seconds
    readme = (repo_root / "README.md").read_text()
    assert f"| `SHUTDOWN_TIMEOUT_SECONDS` | `{default}` |" in readme
    assert (
        Settings.from_env({**database, "SHUTDOWN_TIMEOUT_SECONDS": "3"}).shutdown_timeout_seconds
        == 3
    )


def test_websocket_ping_interval_is_read_and_its_default_documented(
    tmp_path: Path, repo_root: Path
):
    database = {"DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}"}
    default = Settings.from_env(database).websocket_ping_seconds
    readme = (repo_root / "README.md").read_text()
    assert f"| `WEBSOCKET_PING_SECONDS` | `{default}` |" in readme
    environ = {**database, "WEBSOCKET_PING_SECONDS": "5"}
    assert Settings.from_env(environ).websocket_ping_seconds == 5
    with pytest.raises(SettingsError, match="WEBSOCKET_PING_SECONDS"):
        Settings.from_env({**database, "WEBSOCKET_PING_SECONDS": "0"})


def test_webhook_settings_are_read_and_their_defaults_documented(tmp_path: Path, repo_root: Path):
    database = {"DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}"}
    defaults = Settings.from_env(database).webhooks
    assert (defaults.allow_private, defaults.deliver) == (False, True)
    readme = (repo_root / "README.md").read_text()
    for name, variable in WEBHOOK_DURATIONS.items():
        assert f"| `{variable}` | `{getattr(defaults, name):g}` |" in readme, variable
    for variable, default in (("WEBHOOK_ALLOW_PRIVATE", "off"), ("WEBHOOK_DELIVERIES", "on")):
        assert f"| `{variable}` | `{default}` |" in readme, variable

    read = Settings.from_env(
        {
            **database,
            **{
                variable: f"0.{index + 1}"
                for index, variable in enumerate(WEBHOOK_DURATIONS.values())
            },
            "WEBHOOK_ALLOW_PRIVATE": "on",
            "WEBHOOK_DELIVERIES": "off",
        }
    ).webhooks
    assert [getattr(read, name) for name in WEBHOOK_DURATIONS] == [0.1, 0.2, 0.3, 0.4]
    assert (read.allow_private, read.deliver) == (True, False)


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "inf", "nan"])
def test_a_malformed_webhook_duration_is_refused_naming_its_variable(tmp_path: Path, raw: str):
    environ = {"DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}", "WEBHOOK_POLL_SECONDS": raw}
    with pytest.raises(SettingsError, match="WEBHOOK_POLL_SECONDS"):
        Settings.from_env(environ)
