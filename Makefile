# Between: `make run` serves the app, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test install lint typecheck bench migrate demo node clean messages screenshots lock

# Dependencies come from the lock files, pinned with hashes (`make lock` re-resolves them
# from pyproject.toml); Between itself is installed on top, editable, without dependencies.
$(BIN)/between: pyproject.toml requirements.lock requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(BIN)/between

install: $(BIN)/between

# After changing dependencies in pyproject.toml: resolve them again (the newest versions that
# fit). The runtime lock is resolved first and constrains the development one, so both agree.
PIP_COMPILE = $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --no-emit-trusted-host
lock: install
	$(BIN)/pip install --quiet pip-tools
	$(PIP_COMPILE) --upgrade --output-file requirements.lock pyproject.toml
	$(PIP_COMPILE) --upgrade --extra dev --constraint requirements.lock --output-file requirements-dev.lock pyproject.toml

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	@touch node_modules/.installed

node: node_modules/.installed

run: install
	$(BIN)/between migrate
	$(BIN)/between demo --if-empty
	$(BIN)/between serve --host $(HOST) --port $(PORT)

migrate: install
	$(BIN)/between migrate

demo: install
	$(BIN)/between demo

test: install node
	$(BIN)/ruff check .
	$(BIN)/mypy app
	$(BIN)/pytest -q -n 2 --dist loadgroup

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy app

# Every page the browser journeys reach, at phone and desktop size, in English and Spanish:
# PNGs under docs/screenshots/<size>/<lang>/ (not in git) and one contact sheet per size (in git).
screenshots: install node
	rm -rf docs/screenshots/phone docs/screenshots/desktop
	BETWEEN_SCREENSHOTS=1 $(BIN)/pytest -q -p no:randomly tests/browser/journeys; status=$$?; \
	$(BIN)/python -m tools.contact_sheet && exit $$status

bench: install node
	$(BIN)/python -m bench

messages: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k ngettext:1,2 --no-location --sort-output --project=Between -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching
	@echo "catalogs are read from the .po files at start-up; no compile step"

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
