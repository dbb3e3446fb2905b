# Two commands for a new machine with Python 3.11+:
#   make run    install into .venv and open the dashboard on the demo data
#   make test   install the test tools and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
APP    := $(VENV)/.installed-app
DEV    := $(VENV)/.installed-dev
HOST   ?= localhost
PORT   ?= 8501

.PHONY: run test check lint types schema clean browser postgres axe

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(APP): requirements.txt constraints.txt pyproject.toml | $(BIN)/python
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt -c constraints.txt
	$(PIP) install -q --no-deps -e .
	touch $@

$(DEV): $(APP) requirements-dev.txt
	$(PIP) install -q -r requirements-dev.txt -c constraints.txt
	touch $@

run: $(APP)
	$(BIN)/python -m tracker init
	$(BIN)/python -m tracker demo --if-empty
	$(BIN)/streamlit run app.py --server.address $(HOST) --server.port $(PORT)

# Debian's Chromium for the end-to-end browser tests (test tools cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: browser tests will be skipped"; \
	  else echo "chromium not found and not root: browser tests will be skipped"; fi; }

# PostgreSQL's server binaries for the shared-database tests (tests/pg_support.py starts its own
# server on a free localhost port, as the postgres user when run as root).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	      || echo "could not install postgresql: PostgreSQL tests will be skipped"; \
	  else echo "PostgreSQL not found and not root: PostgreSQL tests will be skipped"; fi; }

# axe-core, pinned, from the npm registry, for the accessibility browser test (tests/test_a11y_browser.py).
AXE_VERSION := 4.14.1
AXE_DIR := build/axe/node_modules/axe-core
axe:
	@grep -qs '"version": "$(AXE_VERSION)"' $(AXE_DIR)/package.json || { command -v npm >/dev/null 2>&1 \
	  && npm install --silent --prefix build/axe --no-save --no-package-lock --no-audit --no-fund \
	       axe-core@$(AXE_VERSION) \
	  || echo "could not install axe-core (npm missing or offline): accessibility tests will be skipped"; }

# pytest exits 5 when it collects no tests; that is not a failure of the code.
test: $(DEV) browser postgres axe
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

lint: $(DEV)
	$(BIN)/ruff check tracker tests pages benchmarks app.py
	$(BIN)/ruff format --check tracker tests pages benchmarks app.py

types: $(DEV)
	$(BIN)/mypy

schema: $(APP)
	$(BIN)/python -m tracker.schema

check: lint types test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
