# jupyter_guard: `make demo` opens JupyterLab on the demo notebook; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test browser bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

# Headless Chromium for the sidebar's browser test (Debian's package; test tools cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: sudo apt-get install chromium (the browser test will be skipped)"; fi; }

demo: setup
	cd notebooks && JUPYTER_GUARD_AUDIT=$(CURDIR)/notebooks/.guard/audit.duckdb \
	  $(CURDIR)/$(VENV)/bin/jupyter lab --ServerApp.root_dir=$(CURDIR)/notebooks demo.ipynb

test: setup browser
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) notebooks/warehouse.duckdb* notebooks/.guard
