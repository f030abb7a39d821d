# Two commands do everything on a fresh machine:
#   make run   install, migrate an SQLite file under instance/, load demo data, serve on :$(PORT) (default 5000) + the scheduler
#              and the background job worker
#   make test  install and run the whole suite (also on PostgreSQL when TEST_DATABASE_URL is set)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app core:create_app
STAMP  := $(VENV)/.installed
PORT   ?= 5000

.PHONY: install run test translations vendor clean

# requirements.lock pins every package, so two installs a month apart get the same versions.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,redis]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(FLASK) db upgrade
	$(FLASK) demo init
	@echo "Serving on http://127.0.0.1:$(PORT) with the scheduler and the job worker beside it (Ctrl-C stops all three)"
	$(FLASK) scheduler run & SCHEDULER=$$!; $(FLASK) worker run & WORKER=$$!; \
	trap "kill $$SCHEDULER $$WORKER 2>/dev/null" EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Re-extract the user-visible strings, merge them into the Chinese catalog, compile it.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-output --project emreserve -o core/translations/messages.pot .
	$(BIN)/pybabel update -i core/translations/messages.pot -d core/translations -l zh_Hans_CN --width 100 --no-fuzzy-matching
	$(BIN)/pybabel compile -d core/translations --statistics
	$(BIN)/pybabel compile -D flask_security -d core/translations --statistics

# Re-create core/static/vendor from the npm registry (pinned versions inside the script).
vendor:
	./scripts/vendor_assets.sh

clean:
	rm -rf $(VENV) instance .pytest_cache

# Rerun the commands of docs/reliability.md and rewrite its "latest result" column
# (ROWS=word: only the rows whose test name contains it; set TEST_DATABASE_URL for PostgreSQL).
.PHONY: reliability
reliability: install
	$(BIN)/python scripts/reliability.py "$(ROWS)"
