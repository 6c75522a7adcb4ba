# Two commands: `make run` serves the app with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/onboard db upgrade
	$(BIN)/onboard seed-demo --if-empty
	$(BIN)/onboard serve

# Property tests draw the same examples on every run; HYPOTHESIS_PROFILE=dev make test explores.
test: $(VENV)/.installed-test
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks print figures (and ratios against a baseline measured in the same run).
bench: $(VENV)/.installed-test
	for script in bench/*.py; do $(BIN)/python -m bench.$$(basename $$script .py) || exit 1; done

lint: $(VENV)/.installed-test
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench

# Extract message ids into the English catalog after changing user-facing text.
messages: $(VENV)/.installed
	mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg -k N_ -o var/messages.pot --no-location --sort-output --omit-header service templates
	$(BIN)/pybabel update -i var/messages.pot -d service/i18n -l en --no-fuzzy-matching --ignore-obsolete --no-location

clean:
	rm -rf $(VENV) var/test-*
