# Works on a fresh machine with only python3 and pip: everything installs into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test demo lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/finops-mcp-server demo

lint: $(STAMP)
	$(BIN)/ruff check finops_mcp tests bench
	$(BIN)/ruff format --check finops_mcp tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format finops_mcp tests bench
	$(BIN)/ruff check --fix finops_mcp tests bench

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
