# Shears — the two entry points a fresh machine needs (see README):
#   make demo   installs missing system packages, builds in release mode, runs the main job
#   make test   installs missing system packages, builds and runs the test suite (and the Slurm sweep test)
.PHONY: setup build demo test test-slurm bench clean

SWIFT ?= swift

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build -c release

# The main job: LeNet-300-100 on the MNIST embedded in Data/mnist (≈ 1 minute on 2 cores, ≥ 98% test accuracy).
# Re-running it resumes (or reports) the same run directory under runs/.
demo: build
	.build/release/shears train --model lenet300-100 --dataset mnist --epochs 20 --batch-size 60 \
		--lr 0.02 --momentum 0.9 --weight-decay 1e-4 --schedule cosine --threads 2

# The interoperability tests call ONNX's checker, ONNX Runtime and compressed-tensors from .venv-test
# (scripts/setup_pyenv.sh: created once from PyPI, ≈ 7 minutes on 2 cores; a no-op afterwards).
test: setup
	@bash scripts/setup_pyenv.sh
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing
	bash scripts/test_slurm_sweep.sh .build/debug/shears

# The sweep against a real one-node Slurm on localhost (installs slurm-wlm and munge; needs root, as CI has).
test-slurm:
	bash scripts/test_slurm_sweep.sh .build/debug/shears

# Swift and PyTorch measured in one run (see BENCHMARKS.md; needs bench/setup_torch.sh first).
bench: build
	bash bench/run.sh

clean:
	rm -rf .build
