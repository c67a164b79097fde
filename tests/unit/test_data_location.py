"""The quick database location for look-ups agrees with the settings in every case."""

import pytest

from deployments.data_location import database_url
from deployments.settings import Settings


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"SIO_HOME": "/srv/sio"},
        {"SIO_HOME": "~/sio-data"},
        {"SIO_HOME": "relative/home"},
        {"SIO_HOME": ""},
        {"sio_home": "/srv/lower"},
        {"SIO_HOME": "/srv/sio", "SIO_DATABASE_URL": "postgresql+psycopg://u@db/sio"},
        {"SIO_DATABASE_URL": ""},
        {"SIO_DATABASE_URL": "sqlite:////var/lib/sio/other.db"},
    ],
)
def test_database_url_is_the_one_the_settings_resolve(environ, monkeypatch):
    for name in ("SIO_HOME", "SIO_DATABASE_URL", "sio_home"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert database_url() == Settings().resolved_database_url
    assert database_url(environ) == Settings().resolved_database_url
