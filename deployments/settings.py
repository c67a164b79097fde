"""sio's settings: the one place that reads the environment (`SIO_*` variables, the command
contract).

Everything else receives a `Settings` (or the values in it) as a parameter, so tests and
`sio simulate` can point the code at a temporary database and outbox without touching the
environment. Prefect's own settings (`PREFECT_*`) stay Prefect's business and are not read here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "SIO_"


class SettingsError(ValueError):
    """A `SIO_*` variable holds a value sio cannot use; the message names the variable and value."""


class Settings(BaseSettings):
    """Where sio keeps its data and how it sends mail."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,  # `SIO_SMTP_PORT=` means unset, as in the shell
        extra="ignore",
        frozen=True,
    )

    home: Path = Field(
        default=Path("~/.local/share/sio"),
        description="data folder: SQLite database, mail outbox, exports",
    )
    database_url: str | None = Field(
        default=None,
        description="any SQLAlchemy URL; unset means the SQLite file sio.db in home",
        repr=False,  # may hold a database password
    )
    smtp_host: str | None = Field(
        default=None, description="real SMTP server; unset means .eml files in the outbox"
    )
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(
        default=False, description="upgrade the SMTP connection with STARTTLS (port 587)"
    )
    smtp_tls: bool = Field(default=False, description="implicit TLS from the start (port 465)")
    smtp_timeout_seconds: float = Field(
        default=20.0, gt=0, le=300, description="how long to wait for the SMTP server's reply"
    )
    api_auth: SecretStr | None = Field(
        default=None,
        description="user:password for the Prefect API and UI of `sio up` (HTTP Basic)",
    )
    mail_from: str = "sio@helsedir.no"
    staff_email: str | None = Field(
        default=None, description="where staff alerts go; unset means the sender address"
    )
    dated_runs_refresh_minutes: float = Field(
        default=60.0,
        gt=0,
        le=24 * 60,
        description="how often a running `sio up` reads the calendar again for its dated runs",
    )
    outbox_fsync: bool = Field(
        default=True,
        description="flush each .eml file to disk before it counts as sent; off only for a "
        "throwaway outbox (sio simulate)",
    )

    @field_validator("api_auth")
    @classmethod
    def _user_colon_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            user, colon, password = value.get_secret_value().partition(":")
            if not (user and colon and password):
                raise ValueError("must be user:password (both non-empty)")
        return value

    @field_validator("home")
    @classmethod
    def _expand_home(cls, home: Path) -> Path:
        return home.expanduser().absolute()

    @property
    def resolved_database_url(self) -> str:
        """The database to use: `database_url`, or the SQLite file `sio.db` in `home`."""
        return self.database_url or f"sqlite:///{self.home / 'sio.db'}"

    @property
    def staff_address(self) -> str:
        """The trial's own mailbox (seed 001: «sio@helsedir.no») unless SIO_STAFF_EMAIL is set."""
        return self.staff_email or self.mail_from

    @property
    def outbox_dir(self) -> Path:
        """Where mail is written as `.eml` files when no SMTP server is configured."""
        return self.home / "outbox"

    @property
    def exports_dir(self) -> Path:
        """Where exported files (ledgers, calendars) go unless the user names a file."""
        return self.home / "exports"


def load_settings() -> Settings:
    """Read the settings from the environment now; raises SettingsError on a bad value."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    """One line naming each bad variable, its value (never a password's) and what is wrong."""
    problems = []
    for detail in error.errors(include_url=False):
        field = str(detail["loc"][0]) if detail["loc"] else "?"
        variable = f"{ENV_PREFIX}{field.upper()}"
        hidden = field in ("smtp_password", "api_auth", "database_url")
        shown = "(hidden)" if hidden else repr(detail.get("input"))
        problems.append(f"{variable}={shown} is not valid: {detail['msg']}")
    return "; ".join(problems)
