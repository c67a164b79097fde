# sio: `make run` starts everything, `make test` is the whole gate (also what .ci/run calls).
.POSIX:

PYTHON = python3
VENV = .venv
PYTEST_ARGS =
# Two workers, each taking whole modules (module-scoped set-ups run once); 0 runs in one process.
PYTEST_WORKERS = 2
SIO_UP_ARGS =

run: install
	exec $(VENV)/bin/sio up $(SIO_UP_ARGS)

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy --strict sio_domain tasks
	bash .ci/services.sh
	$(VENV)/bin/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

install: $(VENV)/.installed

# Reinstalls only when pyproject.toml changed since the last install.
$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -e '.[dev]'
	touch $(VENV)/.installed

.PHONY: run test install
