# The portal's everyday commands. `make run` is all a newcomer needs; see docs/operations.md
# for the scaled-out processes (`make web`, `make worker`, one `make beat`).

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install: requirements are installed again only when they change.
INSTALLED := $(VENV)/.installed
ADDRPORT ?= 127.0.0.1:8000
# Two workers for the two cores; `make test PYTEST_ARGS=` runs the suite serially.
PYTEST_ARGS ?= -n 2
LOG_LEVEL ?= info

.DEFAULT_GOAL := help
.PHONY: help install run test lint format bench migrate collectstatic web worker beat clean clean-local

help:
	@echo "make run      set up .venv, migrate, seed demo data, serve on $(ADDRPORT) with a worker and beat"
	@echo "make test     the test suite (pytest $(PYTEST_ARGS))"
	@echo "make lint     ruff check and ruff format --check"
	@echo "make format   ruff format and the safe ruff fixes"
	@echo "make bench    the benchmarks (python -m bench.run)"
	@echo "make migrate  apply database migrations"
	@echo "make web      gunicorn web processes (gunicorn.conf.py)"
	@echo "make worker   one Celery worker"
	@echo "make beat     the Celery beat scheduler: run exactly one per deployment"
	@echo "make clean    remove .venv, collected static files and caches (keeps .local/)"
	@echo "make clean-local  remove .local/: the SQLite database, broker and cache of 'make run'"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check --no-input --quiet -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py run_portal $(ADDRPORT)

test: $(INSTALLED)
	@status=0; $(BIN)/pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -ne 0 ]; then echo "pytest exited with status $$status" >&2; fi; \
	exit $$status

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(INSTALLED)
	$(BIN)/python -m bench.run

migrate: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput

collectstatic: $(INSTALLED)
	$(BIN)/python manage.py collectstatic --noinput

web: collectstatic
	$(BIN)/gunicorn -c gunicorn.conf.py

worker: $(INSTALLED)
	$(BIN)/celery -A portal worker --loglevel $(LOG_LEVEL)

beat: $(INSTALLED)
	$(BIN)/celery -A portal beat --loglevel $(LOG_LEVEL)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

clean-local:
	rm -rf .local
