# Two commands: `make run` serves the app with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-tools lint messages bench clean

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

# What the suite drives besides Python: Debian's Chromium (browser tests), poppler's pdftoppm (posters
# read back as images) and Noto fonts. Installed when this runs as root with apt; otherwise one line says
# what to install, before any test runs.
SYSTEM_TOOLS := chromium:chromium pdftoppm:poppler-utils
test-tools:
	@missing=""; for pair in $(SYSTEM_TOOLS); do command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing fonts-noto-core >/dev/null; \
	  else \
	    echo "make test needs:$$missing (Debian: sudo apt-get install$$missing fonts-noto-core)"; exit 1; \
	  fi; \
	fi

# Property tests draw the same examples on every run; HYPOTHESIS_PROFILE=dev make test explores.
test: $(VENV)/.installed-test test-tools
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
