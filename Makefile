# Two entry points for a new user: `make demo` and `make test`. Both create .venv and install.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
DATASET_DIR ?= /usr/share/datasets/fashion-mnist

.PHONY: demo test verify install install-test system-deps reports clean fuzz

demo: install system-deps
	$(BIN)/accel demo

test: install-test system-deps
	$(BIN)/python -m pytest

# A co-simulation campaign: 1,000 random layers through the Verilog under Icarus (tens of minutes).
verify: install-test system-deps
	$(BIN)/accel verify --layers 1000 --record

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# constraints.txt pins every package to the version the tests last passed with (torch: the CPU build).
$(VENV)/.installed: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,synth,dask]'
	touch $(VENV)/.installed $@

# iverilog runs the cocotb tests; dataset-fashion-mnist is the default data set.
system-deps:
	@sh .ci/system-deps.sh

reports: install-test system-deps
	$(BIN)/accel report

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Fuzz campaign over every reader and the argument parsers (see reports/reliability/README.md); FUZZ_INPUTS per reader.
FUZZ_INPUTS ?= 100000
fuzz: install-test
	nice -n 19 $(BIN)/python -m accel.cli.fuzz --inputs $(FUZZ_INPUTS) --out reports/reliability
