# Two commands for a newcomer: `make run` and `make test`. Everything else is a building block.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Services the second test pass and the benchmarks use (the machine's PostgreSQL and Redis).
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# One pass of the suite: the in-process tests on two processes (pytest-xdist), then, alone, the
# tests that start Celery workers and beats on the shared broker or drive chromium.
PYTEST_WORKERS ?= 2
define run_suite
	$(1) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not integration and not browser"
	$(1) $(BIN)/python -m pytest -m "integration or browser"
endef

.PHONY: install run test test-embedded test-postgres lint bench services-check system messages

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	@echo ""
	@echo "  Admin:     http://127.0.0.1:$(PORT)/admin/"
	@echo "  API v4:    http://127.0.0.1:$(PORT)/api/v4/maintenances"
	@echo "  API v1:    http://127.0.0.1:$(PORT)/api/v1/maintenance/plans"
	@echo "  API docs:  http://127.0.0.1:$(PORT)/api/docs/"
	@echo "  Health:    http://127.0.0.1:$(PORT)/healthz"
	@echo ""
	@echo "  Admin user: $(BIN)/python manage.py createsuperuser"
	@echo "  API key:    $(BIN)/python manage.py create_api_key NAME [--read-only]"
	@echo ""
	PORT=$(PORT) $(BIN)/honcho start --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

# PostgreSQL and Redis running, Debian's chromium installed (starts/installs them when it can).
system:
	@bash scripts/ensure_system.sh

test-embedded: install system
	$(call run_suite,)

services-check: install system
	@$(BIN)/python scripts/wait_for_services.py "$(TEST_POSTGRES_URL)" "$(TEST_REDIS_URL)"

test-postgres: services-check
	$(call run_suite,DATABASE_URL=$(TEST_POSTGRES_URL) CELERY_BROKER_URL=$(TEST_REDIS_URL))

# The whole gate: lint, then the suite on the embedded default, then on PostgreSQL + Redis.
test: lint test-embedded test-postgres

bench: services-check
	$(BIN)/python -m benchmarks

# The Spanish catalogues (locale/es): list the names Django makes up for our models (core/
# model_names.py), collect every marked string of the Python code, the templates (django) and
# our admin scripts (djangojs), keep the translations already there,
# then compile the .mo files the server reads (committed, so `make run` needs no gettext).
# New strings come out with an empty msgstr; translate them in the .po files, then run this
# again (tests/test_translations.py fails while any is left). Needs GNU gettext (`make system`).
MESSAGES_LANGUAGES ?= es
MESSAGES_OPTIONS = --no-obsolete --add-location=file --ignore=var --ignore=tests \
	--ignore=benchmarks --ignore=node_modules --ignore=staticfiles
messages:
	$(BIN)/python manage.py model_names
	$(BIN)/python manage.py makemessages $(addprefix -l ,$(MESSAGES_LANGUAGES)) $(MESSAGES_OPTIONS)
	$(BIN)/python manage.py makemessages -d djangojs $(addprefix -l ,$(MESSAGES_LANGUAGES)) $(MESSAGES_OPTIONS)
	$(BIN)/python manage.py compilemessages $(addprefix -l ,$(MESSAGES_LANGUAGES)) --ignore=.venv --ignore=var
