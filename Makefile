# Caseport: `make demo` serves the portal with demo data; `make test` runs the whole suite.
# manage.py defaults to production settings; every target here names the settings it wants.
# With no DATABASE_URL an embedded PostgreSQL is started under var/ (bin/services.py).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: install system-deps demo test test-embedded bench bench-batch bench-fees messages check format clean

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

system-deps:
	bin/system-deps.sh

install: $(STAMP) system-deps

demo: install
	$(BIN)/python bin/services.py demo

test: install
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python bin/services.py run -- $(BIN)/pytest $(PYTEST_ARGS)

# The embedded path alone (no DATABASE_URL, no broker): smoke tests and a real worker.
test-embedded: install
	env -u DATABASE_URL -u CELERY_BROKER_URL -u REDIS_URL DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python bin/services.py run -- $(BIN)/pytest -m embedded $(PYTEST_ARGS)

# Every benchmark, each printing a ratio against a baseline measured in the same run
# (foundation: provisioning, migrate_schemas, request overhead; outsourcing: import,
# allocation, collector queue with 1,000,000 cases, scorecards; litigation: one filing packet; the queue takes
# several minutes). The 1,000-packet batch is its own target, bench-batch.
bench: install
	$(BIN)/python bin/services.py run -- sh -c '$(BIN)/python bench/run.py $(BENCH_ARGS) && $(BIN)/python bench/bench_import.py && $(BIN)/python bench/bench_allocation.py && $(BIN)/python bench/bench_queue.py && $(BIN)/python bench/bench_scorecards.py && $(BIN)/python bench/bench_packet.py'

# 1,000 filing packets on two worker processes (about half an hour on a 2-core machine; BENCH_ARGS="--count 100" for a quick one).
bench-batch: install
	$(BIN)/python bin/services.py run -- $(BIN)/python bench/bench_batch.py $(BENCH_ARGS)

# Fees: the net-recovery dashboard over 1,000,000 ledger legs (the load takes ten to twenty minutes) and 1,000 signed
# Stripe webhook events through a real worker against localstripe, then concurrent postings into the ledger totals.
bench-fees: install
	$(BIN)/python bin/services.py run -- sh -c '$(BIN)/python bench/bench_net_recovery.py && $(BIN)/python bench/bench_webhooks.py && $(BIN)/python bench/bench_ledger_contention.py'

messages: install
	DJANGO_SETTINGS_MODULE=config.settings.dev $(BIN)/python manage.py makemessages -l zh_Hans -l en --ignore='.venv/*' --ignore='var/*' --ignore='tests/*' --ignore='bench/*' --ignore='test-artifacts/*'
	DJANGO_SETTINGS_MODULE=config.settings.dev $(BIN)/python manage.py compilemessages --ignore='.venv/*'

check: install
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=check-only-$$(date +%s)-0123456789abcdefghijklmnopqrstuvwxyz DJANGO_ALLOWED_HOSTS=caseport.example \
	FIELD_ENCRYPTION_KEYS=$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') BLIND_INDEX_KEY=x \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/1} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0} \
	AXES_PROXY_COUNT=$${AXES_PROXY_COUNT:-1} STRIPE_SECRET_KEY=sk_live_check STRIPE_WEBHOOK_SECRET=whsec_live_check STRIPE_API_BASE= \
	$(BIN)/python manage.py check --deploy --fail-level WARNING --settings=config.settings.base
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Format the code and apply ruff's safe fixes (ruff.toml: the rules, line length, first-party packages).
format: install
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf var/celery var/test-media test-artifacts
