"""Prefect's client settings read as Prefect reads them, before Prefect is imported: the
environment over the active profile; a settings file in the working directory leaves the run to
Prefect's own loader."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from sio_cli.prefect_client_settings import (
    ClientSettings,
    UnreadableSettings,
    active_profile,
    api_url_in_working_directory,
    client_settings,
)
from sio_cli.recorded_runs import PrefectApiError, _tls_context

PROFILES = """
active = "ops"

[profiles.ops]
PREFECT_API_URL = "http://ops.example:4200/api"
PREFECT_API_AUTH_STRING = "ops:secret"
PREFECT_API_TLS_INSECURE_SKIP_VERIFY = true

[profiles.other]
PREFECT_API_URL = "http://other.example:4200/api"
"""


def _profiles(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "prefect-home"
    home.mkdir()
    (home / "profiles.toml").write_text(PROFILES, encoding="utf-8")
    return {"PREFECT_HOME": str(home)}


def test_the_active_profile_under_prefect_home_gives_the_api_address(tmp_path: Path):
    settings = client_settings(_profiles(tmp_path), tmp_path)
    assert settings == ClientSettings(
        api_url="http://ops.example:4200/api",
        auth_string="ops:secret",
        tls_insecure_skip_verify=True,
    )


def test_the_environment_wins_over_the_profile(tmp_path: Path):
    environ = _profiles(tmp_path) | {
        "PREFECT_API_URL": "http://127.0.0.1:9/api",
        "PREFECT_API_TLS_INSECURE_SKIP_VERIFY": "false",
    }
    settings = client_settings(environ, tmp_path)
    assert settings is not None
    assert settings.api_url == "http://127.0.0.1:9/api"
    assert settings.auth_string == "ops:secret"  # not in the environment: the profile's
    assert settings.tls_insecure_skip_verify is False


def test_prefect_profile_chooses_another_profile_and_profiles_path_another_file(tmp_path: Path):
    home = _profiles(tmp_path)
    environ = home | {"PREFECT_PROFILE": "other"}
    assert active_profile(environ) == {"PREFECT_API_URL": "http://other.example:4200/api"}
    moved = tmp_path / "elsewhere.toml"
    moved.write_text('active = "x"\n[profiles.x]\nPREFECT_API_KEY = "k"\n', encoding="utf-8")
    environ = home | {"PREFECT_PROFILES_PATH": str(moved)}
    assert active_profile(environ) == {"PREFECT_API_KEY": "k"}


def test_no_profiles_file_or_an_unknown_active_profile_sets_nothing(tmp_path: Path):
    assert active_profile({"PREFECT_HOME": str(tmp_path / "none")}) == {}
    environ = _profiles(tmp_path) | {"PREFECT_PROFILE": "missing"}
    assert active_profile(environ) == {}
    assert client_settings({"PREFECT_HOME": str(tmp_path)}, tmp_path) == ClientSettings()


def test_an_unreadable_profiles_file_is_one_line_naming_the_setting(tmp_path: Path):
    broken = tmp_path / "profiles.toml"
    broken.write_text("active = \n", encoding="utf-8")
    with pytest.raises(UnreadableSettings, match=r"^PREFECT_PROFILES_PATH: '.*profiles.toml'"):
        client_settings({"PREFECT_PROFILES_PATH": str(broken)}, tmp_path)


def test_custom_headers_are_read_and_garbage_is_one_line(tmp_path: Path):
    environ = {"PREFECT_HOME": str(tmp_path), "PREFECT_CLIENT_CUSTOM_HEADERS": '{"X-Team": "sio"}'}
    settings = client_settings(environ, tmp_path)
    assert settings is not None and settings.custom_headers == {"X-Team": "sio"}
    environ["PREFECT_CLIENT_CUSTOM_HEADERS"] = "[1, 2]"
    with pytest.raises(UnreadableSettings, match=r"^PREFECT_CLIENT_CUSTOM_HEADERS: '\[1, 2\]'"):
        client_settings(environ, tmp_path)


@pytest.mark.parametrize(
    ("name", "text", "names_url"),
    [
        (".env", "PREFECT_API_URL=http://127.0.0.1:4200/api\n", True),
        (".env", "export PREFECT_LOGGING_LEVEL=DEBUG\n", False),
        ("prefect.toml", '[api]\nurl = "http://127.0.0.1:4200/api"\n', True),
        ("prefect.toml", '[logging]\nlevel = "DEBUG"\n', False),
        ("pyproject.toml", '[tool.prefect.api]\nurl = "http://127.0.0.1:4200/api"\n', True),
        ("pyproject.toml", '[tool.prefect]\nhome = "/tmp/p"\n', False),
    ],
)
def test_a_settings_file_in_the_working_directory_leaves_the_reading_to_prefect(
    tmp_path: Path, name: str, text: str, names_url: bool
):
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert client_settings({"PREFECT_HOME": str(tmp_path / "h")}, tmp_path) is None
    assert api_url_in_working_directory(tmp_path) is names_url


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".env", "SIO_HOME=/tmp/sio\n"),
        ("pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 100\n'),
    ],
)
def test_files_that_set_nothing_of_prefects_are_not_settings(tmp_path: Path, name: str, text: str):
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert client_settings({"PREFECT_HOME": str(tmp_path / "h")}, tmp_path) == ClientSettings()


def test_tls_is_checked_against_the_given_bundle_or_not_at_all_when_told(tmp_path: Path):
    insecure = _tls_context(ClientSettings(tls_insecure_skip_verify=True))
    assert insecure.verify_mode == ssl.CERT_NONE and not insecure.check_hostname
    checked = _tls_context(ClientSettings())
    assert checked.verify_mode == ssl.CERT_REQUIRED and checked.check_hostname
    missing = str(tmp_path / "none.pem")
    with pytest.raises(PrefectApiError, match=r"^PREFECT_API_SSL_CERT_FILE: '.*none.pem'"):
        _tls_context(ClientSettings(ssl_cert_file=missing))
