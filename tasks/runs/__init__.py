"""One stage run: its parameters, load → decide → apply, and the round dashboard it publishes."""
