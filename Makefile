# ctkd-det: the README's two commands are `make test` and `make demo`.
# Each depends on `install`, so a fresh machine needs only one of them.
PY_SYS ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH_VERSION ?= 2.13.0
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install test demo experiment experiment-glyphs benchmark clean

install: $(STAMP)

$(STAMP): requirements.txt setup.py
	test -x $(PY) || $(PY_SYS) -m venv $(VENV)
	# torch first; SKIP_TORCH=1 keeps a torch you installed yourself (e.g. a CUDA build).
	if [ -z "$$SKIP_TORCH" ]; then $(PIP) install "torch==$(TORCH_VERSION)"; fi
	# torch pulls the newest setuptools, which has no pkg_resources: mmcv's setup.py and
	# mmengine's `mmdet::` config inheritance both import it.
	$(PIP) install "setuptools==81.0.0" "wheel==0.45.1"
	$(PIP) install -r requirements.txt
	# mmcv 2.1.0 has no wheel for recent torch: built from source (~15 min on 2 cores,
	# cached by pip afterwards; PIP_FIND_LINKS may point at a prebuilt wheel).
	MMCV_WITH_OPS=1 $(PIP) install --no-build-isolation "mmcv==2.1.0"
	$(PIP) install "mmdet==3.3.0"
	$(PIP) install --no-build-isolation --no-deps -e .
	$(PY) -c "import ctkd_det, mmdet, mmcv.ops; print('ctkd_det', ctkd_det.__version__, 'mmdet', mmdet.__version__)"
	touch $(STAMP)

test: install
	$(PY) -m pytest -q tests $(PYTEST_ARGS)

demo: install
	$(PY) tools/demo.py

experiment: install
	$(PY) tools/experiment.py --jobs 2

experiment-glyphs: install
	$(PY) tools/experiment.py --benchmark glyphs --jobs 2

benchmark: install
	$(PY) tools/benchmark.py

clean:
	rm -rf work_dirs data/shapes data/shapes_pretrain data/shapes_dev
