"""``python -m sio_cli`` — the same as the ``sio`` console script."""

from sio_cli.errors import main

main()
