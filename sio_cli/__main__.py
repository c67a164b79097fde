"""``python -m sio_cli`` — the same as the ``sio`` console script."""

from sio_cli.main import app

app(prog_name="sio")
