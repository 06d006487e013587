# The two commands of the README, and a few more for developers.
#   make demo   installs dependencies (Debian packages), builds, runs the default scenario
#   make test   builds and runs every test through ctest
BUILD ?= build
JOBS ?= $(shell nproc)
DEFAULT_SCENARIO ?= scenarios/agent-partition.yaml

.PHONY: demo test deps build sanitize bench clean

demo: deps build
	$(BUILD)/cli/stampede run $(DEFAULT_SCENARIO)

deps:
	bash scripts/install-deps.sh

build:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize:
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTAMPEDE_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan --output-on-failure -j $(JOBS)

bench: build
	bash bench/run.sh

clean:
	rm -rf $(BUILD) build-asan
