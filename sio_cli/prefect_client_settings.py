"""Where Prefect's client is told to report, read without importing Prefect.

``sio run`` decides where its flow runs report before it imports Prefect (importing Prefect
costs seconds here), and an idle run is recorded over plain HTTP (``sio_cli.recorded_runs``).
Both must honour the same Prefect settings Prefect's own client would. Prefect reads them, in
order, from the environment, a ``.env`` file, ``prefect.toml``, ``pyproject.toml``'s
``[tool.prefect]`` and the active profile (``prefect profile use …``, ``prefect config set …``).

The environment and the profile are read here as Prefect reads them: the profiles file is
``PREFECT_PROFILES_PATH``, else ``$PREFECT_HOME/profiles.toml``, else ``~/.prefect/profiles.toml``;
the active profile is ``PREFECT_PROFILE`` or the file's ``active``. When settings may also come
from a file in the working directory (``.env``, ``prefect.toml``, ``[tool.prefect]``), nothing
here guesses how they combine: :func:`client_settings` answers None and ``sio run`` leaves the
whole run to Prefect's engine, which reads them itself.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

TRUE_WORDS = frozenset({"1", "true", "yes", "on", "t", "y"})


@dataclass(frozen=True)
class ClientSettings:
    """What Prefect's client uses to reach its API (``PREFECT_API_*``, ``PREFECT_CLIENT_*``).

    ``api_url`` is None when none is set: Prefect then uses a local or temporary server.
    """

    api_url: str | None = None
    auth_string: str | None = None
    api_key: str | None = None
    tls_insecure_skip_verify: bool = False
    ssl_cert_file: str | None = None
    csrf_support: bool = True
    custom_headers: dict[str, str] = field(default_factory=dict)
    ui_url: str | None = None


class UnreadableSettings(ValueError):
    """A Prefect setting sio must read has a value it cannot use; the message is one line."""


def client_settings(environ: Mapping[str, str], cwd: Path) -> ClientSettings | None:
    """The client's settings from the environment over the active profile, or None when a file
    in ``cwd`` may set them too (then only Prefect's own settings loader can say what wins)."""
    if _working_directory_settings(cwd):
        return None
    merged = {**active_profile(environ), **{k: v for k, v in environ.items() if v != ""}}
    headers_text = merged.get("PREFECT_CLIENT_CUSTOM_HEADERS")
    headers: dict[str, str] = {}
    if headers_text:
        try:
            parsed = json.loads(headers_text)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
            raise UnreadableSettings(
                f"PREFECT_CLIENT_CUSTOM_HEADERS: {headers_text!r} is not a JSON object of strings"
            )
        headers = {str(k): v for k, v in parsed.items()}
    return ClientSettings(
        api_url=merged.get("PREFECT_API_URL") or None,
        auth_string=merged.get("PREFECT_API_AUTH_STRING") or None,
        api_key=merged.get("PREFECT_API_KEY") or None,
        tls_insecure_skip_verify=_true(merged.get("PREFECT_API_TLS_INSECURE_SKIP_VERIFY")),
        ssl_cert_file=merged.get("PREFECT_API_SSL_CERT_FILE") or None,
        csrf_support=_true(merged.get("PREFECT_CLIENT_CSRF_SUPPORT_ENABLED", "true")),
        custom_headers=headers,
        ui_url=merged.get("PREFECT_UI_URL") or None,
    )


def active_profile(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings of Prefect's active profile, as strings (empty when there is no file)."""
    path = profiles_path(environ)
    try:
        with path.open("rb") as file:
            contents = tomllib.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UnreadableSettings(
            f"PREFECT_PROFILES_PATH: {str(path)!r} is unreadable: {error}"
        ) from None
    name = environ.get("PREFECT_PROFILE") or contents.get("active")
    profiles = contents.get("profiles")
    if not isinstance(profiles, dict) or not isinstance(name, str):
        return {}
    profile = profiles.get(name)
    if not isinstance(profile, dict):
        return {}
    return {str(key).upper(): str(value) for key, value in profile.items()}


def profiles_path(environ: Mapping[str, str]) -> Path:
    """Where Prefect keeps its profiles (``PREFECT_PROFILES_PATH``, else under ``PREFECT_HOME``)."""
    if environ.get("PREFECT_PROFILES_PATH"):
        return Path(environ["PREFECT_PROFILES_PATH"]).expanduser()
    home = environ.get("PREFECT_HOME") or "~/.prefect"
    return Path(home).expanduser() / "profiles.toml"


def api_url_in_working_directory(cwd: Path) -> bool:
    """True when a settings file in ``cwd`` names the API's address (Prefect then reports there,
    so no server need be looked for or started)."""
    dotenv = _dotenv_keys(cwd)
    if "PREFECT_API_URL" in dotenv:
        return True
    for name, path in (("prefect.toml", ()), ("pyproject.toml", ("tool", "prefect"))):
        table = _toml_table(cwd / name, path)
        api = table.get("api") if table is not None else None
        if isinstance(api, dict) and "url" in api:
            return True
    return False


def _working_directory_settings(cwd: Path) -> bool:
    """True when ``cwd`` holds a file Prefect reads settings from."""
    if (cwd / "prefect.toml").is_file() or _dotenv_keys(cwd):
        return True
    return _toml_table(cwd / "pyproject.toml", ("tool", "prefect")) is not None


def _dotenv_keys(cwd: Path) -> set[str]:
    """The ``PREFECT_…`` names a ``.env`` file in ``cwd`` sets."""
    try:
        text = (cwd / ".env").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    keys = set()
    for line in text.splitlines():
        name = line.strip().removeprefix("export ").split("=", 1)[0].strip().upper()
        if name.startswith("PREFECT_") and "=" in line:
            keys.add(name)
    return keys


def _toml_table(path: Path, keys: tuple[str, ...]) -> dict[str, object] | None:
    """The table at ``keys`` in the TOML file ``path``, or None (no file, unreadable, absent)."""
    try:
        with path.open("rb") as file:
            table: object = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError):
        return None  # Prefect skips a settings file it cannot read, too
    for key in keys:
        table = table.get(key) if isinstance(table, dict) else None
    return table if isinstance(table, dict) else None


def _true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in TRUE_WORDS
