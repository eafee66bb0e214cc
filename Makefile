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

.PHONY: all test test-lectures setup install data sandbox browser hub hub-setup hub-test-setup hub-stop release lectures check nbval-copies clean

## all: set up, provision data, generate the assignments, run the notebooks headless, autograde the examples, print grades
all: setup
	$(PY) -m mlpcourse all

## test: set up, provision data, run the whole test suite in parallel (release, autograde catalogue, nbval
## at the grading parameters' length)
test: setup nbval-copies browser hub-test-setup
	$(PY) -m pytest -n auto --dist loadscope -p no:cacheprovider --durations=30 \
	  --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  tests build/nbval

## setup: the virtualenv, data/names.txt, the grading sandbox, and a gradebook that knows every section
## (stock nbgrader works after it)
setup: data sandbox
	$(PY) -m mlpcourse gradebook

install: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --quiet --upgrade pip
	$(PY) -m pip install --quiet --quiet -r requirements.txt
	$(PY) -m pip install --quiet --quiet --no-deps -e .
	touch $@

data: install
	$(PY) -m mlpcourse provision $(if $(NAMES_SRC),--source $(NAMES_SRC))

# Every grading kernel runs under bubblewrap (mlpcourse/sandbox.py); grading refuses to run without it.
# Installed with apt when missing (as root).
sandbox:
	@command -v bwrap >/dev/null || { test "$$(id -u)" = 0 || { echo "install bubblewrap (apt-get install bubblewrap): grading kernels run under it"; exit 1; }; \
	  apt-get install -y -qq bubblewrap >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; }; }

# The browser test (tests/test_jupyterlab.py) drives Debian's chromium; Playwright's own browser
# download is not available on the course machines. Installed with apt when missing (as root).
browser:
	@command -v chromium >/dev/null || { test "$$(id -u)" = 0 || { echo "install Debian's chromium (apt-get install chromium) for the browser test"; exit 1; }; \
	  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; }

## hub: the course's JupyterHub on this machine, as root (README: On a JupyterHub): the class of
## ROSTER (default hub/users.csv) gets accounts and groups, then the hub runs in the foreground on
## 127.0.0.1:$(HUB_PORT) until Ctrl-C (or `make hub-stop` from another shell)
ROSTER     ?= hub/users.csv
HUB_PORT   ?= 8000
hub: setup hub-setup
	$(PY) -m mlpcourse hub roster $(ROSTER)
	$(PY) -m mlpcourse hub run --port $(HUB_PORT)

# The hub's browser test (tests/test_hub.py) runs as root only (it makes Unix accounts): as root,
# `make test` sets up what the hub needs; for anyone else that test skips
hub-test-setup:
	@if test "$$(id -u)" = 0; then $(MAKE) --no-print-directory hub-setup; fi

hub-stop:
	$(PY) -m mlpcourse hub stop

# JupyterHub's proxy (configurable-http-proxy, npm) in build/node; node and npm from Debian, and patchelf
# (mlpcourse/hub_python.py copies the course's Python where users cannot read it), installed with apt
# when missing (as root)
CHP_VERSION := 5.3.0
hub-setup: install
	@command -v npm >/dev/null || { test "$$(id -u)" = 0 || { echo "install Debian's nodejs and npm for JupyterHub's proxy"; exit 1; }; \
	  apt-get install -y -qq nodejs npm >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }; }
	@command -v patchelf >/dev/null || { test "$$(id -u)" = 0 || { echo "install patchelf (apt-get install patchelf) for the users' copy of the course's Python"; exit 1; }; \
	  apt-get install -y -qq patchelf >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq patchelf >/dev/null; }; }
	@test -x build/node/node_modules/.bin/configurable-http-proxy || \
	  npm install --silent --no-fund --no-audit --prefix build/node configurable-http-proxy@$(CHP_VERSION)

# nbval runs copies of the section folders (mlpcourse/testcopies.py), so that what a notebook writes
# (07's best_model.pt) never lands in source/. `make test`: every notebook at its grading parameters' length,
# the outputs that do not depend on a run's length compared bit for bit.
nbval-copies:
	$(PY) -m mlpcourse nbval-copies build/nbval

## test-lectures: nbval on every instructor notebook at the lecture's full length (every model trained in full):
## the stored outputs and the walk-throughs are reproduced, long runs within tests/nbval_tolerance.py
test-lectures: setup
	$(PY) -m mlpcourse nbval-copies --full build/nbval-full
	$(PY) -m pytest -n auto --dist loadscope -p no:cacheprovider --durations=30 \
	  --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  build/nbval-full

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
