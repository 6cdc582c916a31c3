# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
TS_STAMP := tests/ts/node_modules/.installed-stamp
# pytest-xdist workers for `make test` (`auto`: one per CPU; `0`: serial, one process).
TEST_WORKERS ?= auto

.PHONY: run test install lint format migrate seed-demo bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# tests/test_openapi_clients.py's TypeScript client check (openapi-typescript, tsc): Node.js
# and npm, for `make test` only.
$(TS_STAMP): tests/ts/package-lock.json
	npm ci --prefix tests/ts --no-audit --no-fund --silent
	@touch $(TS_STAMP)

install: $(STAMP)

## Start PostgreSQL (embedded unless DATABASE_URL is set), migrate, load the demo, serve.
run: $(STAMP)
	$(BIN)/consulta serve --migrate --seed-demo

## Lint, type-check, check migrations against the models, run the whole test suite.
test: $(STAMP) $(TS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m tests.check_migrations
	$(BIN)/pytest -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)
	$(BIN)/consulta migrate

seed-demo: $(STAMP)
	$(BIN)/consulta seed-demo

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache tests/ts/node_modules
