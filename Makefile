# The two commands of the README: `make run` starts the app, `make test` passes the tests.
# Both create .venv on first use and (re)install the project when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench bench-quick clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bundle,fleet]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/workbench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy  # files and strictness: [tool.mypy] in pyproject.toml; cache in .mypy_cache

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

# Every benchmark (bench/benchlib.py is their shared code, not one of them), each printing the machine, its load
# and its peer's figures from the same run; about 15 minutes on 2 cores. bench-quick: each once with tiny loads
# (a smoke run, figures not to quote), as tests/test_bench_quick.py does.
BENCHMARKS := $(filter-out bench/benchlib.py,$(sort $(wildcard bench/*.py)))

bench: $(STAMP)
	status=0; for b in $(BENCHMARKS); do echo "== $$b"; QT_QPA_PLATFORM=offscreen $(BIN)/python $$b || status=1; \
	done; exit $$status  # a goal not met fails the target, after every benchmark ran

bench-quick: $(STAMP)
	for b in $(BENCHMARKS); do echo "== $$b"; QT_QPA_PLATFORM=offscreen $(BIN)/python $$b --quick || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info
