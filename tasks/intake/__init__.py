"""Reading what staff give sio: round files and CSV imports, validated all-or-nothing."""
