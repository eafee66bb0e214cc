# The course's two commands (see README.md):  make all   and   make test
VENV       ?= .venv
PYTHON     ?= python3
PY         := $(VENV)/bin/python
# Where names.txt comes from: $MAKEMORE_NAMES, else a copy beside the repository, else the upstream download.
NAMES_SRC  ?= $(firstword $(MAKEMORE_NAMES) $(wildcard ../shared/data/names.txt))
export PATH := $(abspath $(VENV))/bin:$(PATH)
# The numeric pins (one thread, PyTorch's and MKL's CPU code paths) are set by mlpcourse.notebooks.NUMERIC_PINS
# wherever notebooks run: the tests (conftest.py), the headless runs, the grading kernels.
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: all test setup install data release lectures check nbval-copies clean

## all: set up, provision data, generate the assignments, run the notebooks headless, autograde the examples, print grades
all: setup
	$(PY) -m mlpcourse all

## test: set up, provision data, run the whole test suite in parallel (release, autograde catalogue, nbval)
test: setup nbval-copies
	$(PY) -m pytest -n auto --dist loadscope -p no:cacheprovider \
	  --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  tests build/nbval

## setup: the virtualenv, data/names.txt, and a gradebook that knows every section (stock nbgrader works after it)
setup: data
	$(PY) -m mlpcourse gradebook

install: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

data: install
	$(PY) -m mlpcourse provision $(if $(NAMES_SRC),--source $(NAMES_SRC))

# nbval runs copies of the section folders, so that what a notebook writes (07's best_model.pt)
# never lands in source/ (nbgrader would hand it out with the release)
nbval-copies:
	rm -rf build/nbval && mkdir -p build/nbval
	for s in source/[0-9][0-9]_*/; do n=$$(basename $$s); mkdir -p build/nbval/$$n && cp $$s/$$n.ipynb $$s/makemore.py build/nbval/$$n/ || exit 1; done

## release: regenerate every section's makemore.py and release/ from source/ (commit the result)
release: data
	$(PY) -m mlpcourse release

## lectures: re-execute the instructor notebooks at full length: stored outputs and notebooks/ walk-throughs
lectures: data
	$(PY) -m mlpcourse lectures

## check NB=03_training: grade one notebook's catalogue of answers in a scratch course
check: data
	$(PY) -m mlpcourse check $(NB)

clean:
	rm -rf build submitted feedback autograded/*/ gradebook.db
