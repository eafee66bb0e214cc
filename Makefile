# The course's two commands (see README.md):  make all   and   make test
VENV       ?= .venv
PYTHON     ?= python3
PY         := $(VENV)/bin/python
# Where names.txt comes from: $MAKEMORE_NAMES, else a copy beside the repository, else the upstream download.
NAMES_SRC  ?= $(firstword $(MAKEMORE_NAMES) $(wildcard ../shared/data/names.txt))
ASSIGNMENT := mlp_language_model
export PATH := $(abspath $(VENV))/bin:$(PATH)
export OMP_NUM_THREADS ?= 1
# Stored outputs are compared bit for bit (nbval): pin the CPU code paths of PyTorch's kernels
# and of MKL's matrix products, so that an AVX-512 machine computes what an AVX2 machine does.
export ATEN_CPU_CAPABILITY ?= avx2
export MKL_CBWR ?= AVX2
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: all test install data release lectures check nbval clean

## all: set up, provision data, generate the release, run the notebooks headless, autograde the examples, print grades
all: data
	$(PY) -m mlpcourse all

## test: set up, provision data, run the whole test suite in parallel (release, autograde catalogue, nbval)
test: data
	$(PY) -m pytest -n auto --dist loadscope -p no:cacheprovider \
	  --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  tests source/$(ASSIGNMENT)

install: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

data: install
	$(PY) -m mlpcourse provision $(if $(NAMES_SRC),--source $(NAMES_SRC))

## release: regenerate release/ from source/ (commit the result)
release: data
	$(PY) -c "from mlpcourse.pipeline import forget_examples; forget_examples()"
	nbgrader generate_assignment $(ASSIGNMENT) --force

## lectures: re-execute the instructor notebooks in place to refresh their stored outputs
lectures: data
	for nb in source/$(ASSIGNMENT)/[0-9][0-9]_*.ipynb; do \
	  $(PY) -c "import sys; from mlpcourse.notebooks import execute; execute(sys.argv[1])" $$nb || exit 1; done

## check NB=03_training: grade one notebook's catalogue of answers in a scratch course
check: data
	$(PY) -m mlpcourse check $(NB)

clean:
	rm -rf build submitted feedback autograded/*/ gradebook.db
