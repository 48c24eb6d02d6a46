# Shears — the two entry points a fresh machine needs (see README):
#   make demo   installs missing system packages, builds in release mode, runs the main job
#   make test   installs missing system packages, builds and runs the test suite
.PHONY: setup build demo test bench clean

SWIFT ?= swift

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build -c release

# Until the training CLI lands (issue #3) the main job is the training-step benchmark of issue #2.
demo: build
	.build/release/shears bench train --model mlp --batch-size 60 --steps 500 --warmup 20 --threads 2
	.build/release/shears bench train --model resnet20 --batch-size 128 --steps 10 --warmup 2 --threads 2 --conv-stats

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing

# Swift and PyTorch measured in one run (see BENCHMARKS.md; needs bench/setup_torch.sh first).
bench: build
	bash bench/run.sh

clean:
	rm -rf .build
