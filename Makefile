# onewindow — `make demo` runs the platform on SQLite with the demo city; `make test` runs every gate.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-16)
DEMO_ARGS ?= --weeks 8 --seed 42

.PHONY: install browser pdftools graphviz demo test lint typecheck importlint pytest bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

$(STAMP): pyproject.toml | $(BIN)/python
	# Bytecode compiled at install, as pip does: start-up then does not re-compile every module.
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# Browser tests drive Debian's Chromium (never a downloaded browser). Installed when we may;
# otherwise the browser tests skip and say why.
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto sans cjk"; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else \
	    echo "chromium not installed and cannot install it here: browser tests will be skipped"; \
	  fi; }

# The official-document tests read PDFs back with poppler (pdftotext, pdftoppm; poppler-data
# for the Chinese CID font's CMaps) and decode their QR codes with zbarimg. Installed when we
# may; otherwise those checks skip and say why (pypdf still reads every document).
pdftools:
	@{ command -v pdftoppm >/dev/null 2>&1 && command -v zbarimg >/dev/null 2>&1 && [ -d /usr/share/poppler/cMap ]; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian poppler-utils, poppler-data and zbar-tools for the document tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils poppler-data zbar-tools >/dev/null; \
	  else \
	    echo "poppler-utils/zbar-tools not installed and cannot install them here: those document checks will be skipped"; \
	  fi; }

# The process-analysis page lays its maps out with Graphviz dot (Debian's graphviz). Installed
# when we may (waiting for a dpkg lock another job holds); otherwise the page says dot is
# missing and the layout tests skip and say why.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian graphviz for the process maps"; \
	    apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get -o DPkg::Lock::Timeout=600 install -y -qq graphviz >/dev/null; \
	  else \
	    echo "graphviz not installed and cannot install it here: process maps will say so"; \
	  fi; }

demo: install graphviz
	$(BIN)/onewindow demo $(DEMO_ARGS)

lint: install
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: install
	$(BIN)/mypy

importlint: install
	$(BIN)/lint-imports

pytest: install browser pdftools graphviz
	$(BIN)/pytest -q

test: lint typecheck importlint pytest

bench: install
	$(BIN)/python benchmarks/engine.py

clean:
	rm -rf $(VENV) .onewindow .mypy_cache .ruff_cache .pytest_cache
