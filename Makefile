# facesearch — the two commands of the README, and the steps they bootstrap.
#   make demo   set up, fetch models and samples, build, then search the sample photos
#   make test   set up, fetch models and samples, build, then run the whole test suite
# Each step is idempotent and quick when already done.

BUILD    ?= build
ASAN     ?= build-asan
JOBS     ?= $(shell nproc)
DATA_DIR  = $(or $(FACESEARCH_DATA_DIR),$(if $(XDG_DATA_HOME),$(XDG_DATA_HOME)/facesearch,$(HOME)/.local/share/facesearch))
SAMPLES   = $(DATA_DIR)/samples

.PHONY: demo test test-asan setup models oracle playwright build build-asan clean

# The demo indexes the sample photos (into the default index; a second run reuses it) and finds
# the person of the largest face in sample1.jpg in all of them.
demo: setup models build
	./$(BUILD)/facesearch search -q $(SAMPLES)/sample1.jpg -t $(SAMPLES)

test: setup models oracle playwright build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan: setup models oracle playwright build-asan
	cd $(ASAN) && ctest --output-on-failure -j$(JOBS)

setup:
	@bash scripts/setup.sh

models:
	@bash scripts/fetch-models.sh

# onnxruntime-node: the reference our runtime is tested and benchmarked against (never used at run time).
oracle:
	@bash scripts/fetch-oracle.sh

# playwright-core: drives Debian's chromium in the server page's browser test (tests/web).
playwright:
	@bash scripts/fetch-playwright.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

build-asan:
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DFACESEARCH_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j$(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN)
