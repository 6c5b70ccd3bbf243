"""Settings: ini values, ``CONCORD_*`` environment overrides, conversion errors, defaults."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from concord.settings import Settings, default_database_url
from engine.compute.crash_restart import CrashRestartPolicy, RestartCrashed


def test_ini_values_are_converted_to_their_types() -> None:
    settings = Settings.from_mapping(
        {
            "concord.database_url": "sqlite:////tmp/x.sqlite",
            "concord.port": "9000",
            "concord.demo": "yes",
            "concord.embedded_worker": "off",
            "concord.max_body_bytes": "2048",
            "concord.log_format": "text",
            "unrelated.key": "ignored",
        },
        environ={},
    )
    assert settings.database_url == "sqlite:////tmp/x.sqlite"
    assert settings.port == 9000
    assert settings.demo is True
    assert settings.embedded_worker is False
    assert settings.max_body_bytes == 2048
    assert settings.log_format == "text"
    # Untouched settings keep their defaults.
    assert settings.signature_window == 300
    assert settings.host == "127.0.0.1"


def test_environment_overrides_ini_values() -> None:
    settings = Settings.from_mapping(
        {"concord.port": "9000", "concord.database_url": "sqlite:///ini.sqlite"},
        environ={
            "CONCORD_PORT": "9100",
            "CONCORD_DATABASE_URL": "mysql+pymysql://u@h/db",
            "CONCORD_DEMO": "true",
        },
    )
    assert settings.port == 9100
    assert settings.database_url == "mysql+pymysql://u@h/db"
    assert settings.demo is True


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCORD_SIGNATURE_WINDOW", "42")
    monkeypatch.setenv("CONCORD_NOT_A_SETTING", "whatever")
    assert Settings.from_mapping({}).signature_window == 42


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("true", True),
        (" Yes ", True),
        ("ON", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("Off", False),
        ("", False),
    ],
)
def test_booleans(raw: str, value: bool) -> None:
    assert Settings.from_mapping({"concord.demo": raw}, environ={}).demo is value


@pytest.mark.parametrize(
    ("values", "environ", "name"),
    [
        ({"concord.port": "eighty"}, {}, "port"),
        ({"concord.max_body_bytes": "1MB"}, {}, "max_body_bytes"),
        ({"concord.demo": "maybe"}, {}, "demo"),
        ({}, {"CONCORD_SIGNATURE_WINDOW": "5m"}, "signature_window"),
        ({"concord.port": "8000"}, {"CONCORD_PORT": ""}, "port"),  # the environment wins
    ],
)
def test_bad_values_raise_value_error_naming_the_setting(
    values: dict[str, str], environ: dict[str, str], name: str
) -> None:
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        Settings.from_mapping(values, environ=environ)


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("concord.port", "70000"),  # no TCP port has this number
        ("concord.max_body_bytes", "-1"),  # a negative size limit refuses nothing sensible
        ("concord.max_header_count", "0"),
        ("concord.signature_clock_skew", "-1"),
        ("concord.signature_clock_skew", "301"),  # beyond signature_window (300)
        ("concord.max_header_line_bytes", "0"),
        ("concord.max_document_depth", "0"),
        ("concord.max_document_elements", "-5"),
        ("concord.max_element_attributes", "0"),
        ("concord.metrics_token", "two words"),  # cannot be sent as one Bearer token
        ("concord.log_format", "xml"),  # documented: json or text
        ("concord.failed_sign_ins_per_source", "-1"),  # 0 turns throttling off
        ("concord.failed_sign_ins_per_user", "-5"),
        ("concord.failed_sign_in_window", "0"),
        ("concord.public_url", "javascript:alert(1)"),  # the base of every rendered URL
        ("concord.public_url", "ftp://cloud.example.org"),
        ("concord.public_url", "https://user@cloud.example.org"),
        ("concord.public_url", "https://cloud.example.org/?q=1"),
        ("concord.public_url", "https://cloud.example.org:99999"),
        ("concord.public_url", "https://"),
        ("concord.trusted_proxies", "10.0.0.1, proxy.example"),  # addresses, not names
        ("concord.federation_token_leeway", "-1"),
        ("concord.federation_jwks_cache_seconds", "0"),
        ("concord.federation_http_timeout", "0"),
        ("concord.federation_jwks_refresh_cooldown", "-1"),
        ("concord.keystone_token_lifetime", "0"),
        ("concord.site_name", "two words"),
        ("concord.site_name", ""),
        ("concord.glue_token", "two words"),
        ("concord.image_list_sync_interval", "-1"),  # 0 turns the schedule off
        ("concord.accounting_push_interval", "-1"),
        ("concord.federation_monitor_interval", "-1"),
        ("concord.accounting_push_url", "ftp://repository.example/records"),
        ("concord.accounting_push_token", "two words"),  # sent as one Bearer token
        ("concord.ha_check_interval", "0"),  # a monitor that never waits
        ("concord.ha_probe_timeout", "-1"),
        ("concord.ha_suspect_after", "10"),  # later than ha_down_after (6)
        ("concord.ha_storm_share", "1.5"),  # a share of the hosts: 0 to 1
        ("concord.ha_storm_window", "soon"),
        ("concord.ha_fence_timeout", "0"),
        ("concord.restart_crashed_guests", "some"),  # documented: ha, all or none
        ("concord.crash_restart_first_delay", "-1"),
        ("concord.crash_restart_first_delay", "301"),  # beyond the default max_delay
        ("concord.crash_restart_max_delay", "0"),
        ("concord.crash_restart_max_attempts", "-1"),
        ("concord.crash_restart_window", "0"),
    ],
)
def test_out_of_range_values_raise_value_error_naming_the_setting(key: str, raw: str) -> None:
    name = key.removeprefix("concord.")
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        Settings.from_mapping({key: raw}, environ={})


def test_default_database_is_sqlite_under_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    expected = f"sqlite:///{tmp_path / 'var' / 'concord.sqlite'}"
    assert default_database_url() == expected
    assert Settings.from_mapping({}, environ={}).database_url == expected
    # An empty value means "the default" too, wherever it comes from.
    assert Settings.from_mapping({}, environ={"CONCORD_DATABASE_URL": ""}).database_url == expected


def test_subscribed_images_go_under_var_unless_a_directory_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert Settings.from_mapping({}, environ={}).image_dir() == tmp_path / "var" / "images"
    relative = {"CONCORD_FEDERATION_IMAGE_DIR": "images"}
    assert Settings.from_mapping({}, environ=relative).image_dir() == tmp_path / "images"
    absolute = {"concord.federation_image_dir": "/srv/concord/images"}
    assert Settings.from_mapping(absolute, environ={}).image_dir() == Path("/srv/concord/images")


def test_the_demo_has_its_own_default_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A database the demo seeded (with its well-known password) is not the one
    # a later server without --demo opens by default.
    monkeypatch.chdir(tmp_path)
    expected = f"sqlite:///{tmp_path / 'var' / 'demo.sqlite'}"
    assert default_database_url(demo=True) == expected
    assert Settings.from_mapping({"concord.demo": "true"}, environ={}).database_url == expected
    assert Settings.from_mapping({}, environ={}, overrides={"demo": True}).database_url == expected
    # A database the settings name is used as it is, demo or not.
    named = {"concord.database_url": "sqlite:////srv/c.sqlite"}
    assert Settings.from_mapping(named, environ={}, overrides={"demo": True}).database_url == (
        "sqlite:////srv/c.sqlite"
    )


def test_overrides_win_over_the_environment() -> None:
    settings = Settings.from_mapping(
        {}, environ={"CONCORD_DEMO": "false"}, overrides={"demo": True}
    )
    assert settings.demo is True


def test_as_pyramid_round_trips() -> None:
    settings = Settings.from_mapping(
        {"concord.port": "9000", "concord.demo": "true", "concord.database_url": "sqlite://"},
        environ={},
    )
    flat = settings.as_pyramid()
    assert flat["concord.port"] == 9000
    assert set(flat) == {f"concord.{f.name}" for f in dataclasses.fields(Settings)}
    assert Settings.from_mapping(flat, environ={}) == settings


def test_public_url_and_trusted_proxies() -> None:
    settings = Settings.from_mapping(
        {
            "concord.public_url": "https://cloud.example.org:8443/api/",
            "concord.trusted_proxies": "10.0.0.0/8, 192.0.2.1 ,fd00::/8",
        },
        environ={},
    )
    assert settings.public_url == "https://cloud.example.org:8443/api/"
    assert settings.trusted_proxies == "10.0.0.0/8, 192.0.2.1 ,fd00::/8"
    for url in ("http://[::1]:8787", "https://127.0.0.1", "http://localhost"):
        assert Settings.from_mapping({"concord.public_url": url}, environ={}).public_url == url


def test_the_crash_restart_policy_comes_from_the_settings() -> None:
    default = Settings.from_mapping({}, environ={}).crash_restart_policy()
    assert default == CrashRestartPolicy(
        RestartCrashed.HA, first_delay=5, max_delay=300, max_attempts=5, window=3600
    )
    chosen = Settings.from_mapping(
        {"concord.restart_crashed_guests": "none", "concord.crash_restart_max_attempts": "2"},
        environ={"CONCORD_RESTART_CRASHED_GUESTS": "all", "CONCORD_CRASH_RESTART_WINDOW": "60"},
    ).crash_restart_policy()
    assert (chosen.which, chosen.max_attempts, chosen.window) == (RestartCrashed.ALL, 2, 60)
