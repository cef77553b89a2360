# Two commands set up a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export QT_QPA_PLATFORM ?= $(if $(DISPLAY)$(WAYLAND_DISPLAY),,offscreen)

.PHONY: install run test lint bench package screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/agent-desktop --demo

test: install
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider
	$(MAKE) lint

lint: install
	$(BIN)/ruff check agent_desktop server_stub tests bench
	$(BIN)/mypy agent_desktop server_stub
	$(BIN)/lint-imports --no-cache

bench: install
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/run_all.py

package: install
	$(BIN)/pyinstaller --noconfirm --clean build.spec

screenshots: install
	QT_QPA_PLATFORM=offscreen AGENT_DESKTOP_HOME=$(CURDIR)/.cache/screenshot-home \
		$(BIN)/agent-desktop --demo --screenshot docs/screenshots

clean:
	rm -rf build dist $(VENV)
