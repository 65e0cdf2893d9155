# jupyter_guard: `make demo` opens JupyterLab on the demo notebook; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo lint test browser postgres hubproxy labext-test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench,lint]'
	touch $(STAMP)

# Headless Chromium for the sidebar's browser test (Debian's package; test tools cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: sudo apt-get install chromium (the browser test will be skipped)"; fi; }

# PostgreSQL for the tests of PostgreSQL and its drivers (Debian's package; the tests start and stop
# a throwaway cluster of their own and fail when it cannot start).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "postgresql missing: sudo apt-get install postgresql (the PostgreSQL tests will fail)"; fi; }
	@ls /usr/lib/*/odbc/psqlodbcw.so >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq odbc-postgresql unixodbc >/dev/null; \
	  else echo "psqlODBC missing: sudo apt-get install odbc-postgresql unixodbc (tests/pg/test_odbc.py will fail)"; fi; }

# configurable-http-proxy (npm) for the test that runs a real JupyterHub (tests/hub; it also needs
# root, to start each user's server under their own OS account, and is skipped with the reason).
hubproxy:
	@command -v configurable-http-proxy >/dev/null 2>&1 || { \
	  if command -v npm >/dev/null 2>&1; then npm install -g --silent configurable-http-proxy >/dev/null \
	    || echo "npm install -g configurable-http-proxy failed (the JupyterHub test will be skipped)"; \
	  else echo "npm missing: install Node.js, then npm i -g configurable-http-proxy (the JupyterHub test will be skipped)"; fi; }

# The DuckDB demo (demo.ipynb) always; postgres.ipynb gets a throwaway PostgreSQL server when
# PostgreSQL is installed (notebooks/pg_demo.py starts it, and stops it when JupyterLab exits).
demo: setup
	cd notebooks && \
	if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then PG="$(CURDIR)/$(PY) pg_demo.py"; \
	else echo "PostgreSQL is not installed: postgres.ipynb is skipped (apt-get install postgresql)"; PG=""; fi; \
	JUPYTER_GUARD_AUDIT=$(CURDIR)/notebooks/.guard/audit.duckdb \
	  $$PG $(CURDIR)/$(VENV)/bin/jupyter lab --ServerApp.root_dir=$(CURDIR)/notebooks \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root) demo.ipynb $${PG:+postgres.ipynb}

# The sidebar's TypeScript: lint (stylelint, prettier, eslint), unit tests, and a rebuild that must
# give the committed jupyter_guard/labextension byte for byte (needs Node.js).
labext-test: setup
	@if command -v node >/dev/null 2>&1; then \
	  cd labextension && export PATH="$(CURDIR)/$(VENV)/bin:$$PATH" && \
	  jlpm install --immutable >/dev/null && \
	  jlpm lint && jlpm test --silent && jlpm check:build; \
	else echo "node missing: skipping the labextension's lint and unit tests"; fi

# Static checks and the docstring examples, before any kernel starts (mypy keeps a cache in
# .mypy_cache, so a second run takes seconds). `make lint VENV=path/to/venv` runs them alone.
lint:
	$(PY) -m ruff check jupyter_guard tests benchmarks
	$(PY) -m mypy
	$(PY) -m pytest -q tests/test_doctests.py

test: setup lint browser postgres hubproxy labext-test
	$(PY) -m compileall -q jupyter_guard   # every test kernel imports the guard: compiled once, not per kernel
	$(PY) -m pytest -q --durations=30 --ignore=tests/test_doctests.py

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) notebooks/warehouse.duckdb* notebooks/.guard
