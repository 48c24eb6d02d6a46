# Shears — the two entry points a fresh machine needs (see README):
#   make demo   installs missing system packages, builds in release mode, runs the main job
#   make test   installs missing system packages, builds and runs the test suite (and the Slurm sweep test)
.PHONY: setup build demo test test-slurm bench clean

SWIFT ?= swift

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build -c release

# The main job: the whole journey on the MNIST embedded in Data/mnist — train, prune to ~5 % of the weights with
# rewinding, export, evaluate the export, time dense vs sparse inference, write the report — ending with one table
# (scripts/journey.sh). Re-running it resumes (or reports) the same run directories under runs/journey.
demo: build
	bash scripts/journey.sh runs/journey

# The interoperability tests call ONNX's checker, ONNX Runtime and compressed-tensors from .venv-test
# (scripts/setup_pyenv.sh: created once from PyPI, ≈ 7 minutes on 2 cores; a no-op afterwards).
test: setup
	@bash scripts/setup_pyenv.sh
	$(SWIFT) build --build-tests
	bash scripts/mpi_check.sh
	bash scripts/mpi_commands_check.sh .build/debug/shears
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
