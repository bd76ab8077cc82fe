# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test check lint format pytest screenshots clean

$(BIN)/python:
	@echo "Creating $(VENV) (a Python environment of the project's own)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps so that a changed pyproject.toml reinstalls, and an unchanged one costs nothing. pip
# prints each package as it comes, with a progress bar for downloads: the first install fetches
# about 500 MB (Qt is most of it) and takes minutes on a slow line.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "Installing ReviewDesk and its dependencies into $(VENV) (first time only)..."
	$(BIN)/python -m pip install --progress-bar on -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "Installing ReviewDesk with its development tools into $(VENV) (first time only)..."
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/reviewdesk gui

check: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Two processes (pytest-xdist), a file each at a time: the suite waits on PostgreSQL and
# subprocesses as much as it computes, and runs in about half the time.
pytest: $(VENV)/.installed-dev
	$(BIN)/pytest -n 2 --dist loadfile

test: check pytest

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
