#!/usr/bin/env bash
# Installs what Shears needs on a fresh Debian 12 machine, and nothing else. Idempotent: it only calls
# apt-get when a package is missing. Needs root (or sudo) for apt.
set -euo pipefail

# libopenmpi-dev/openmpi-bin: data-parallel training under mpirun (the binaries load libmpi only there).
# python3-venv: the interoperability tests' venv (scripts/setup_pyenv.sh).
PACKAGES=(libdnnl-dev libopenblas-dev libopenblas-openmp-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev libopenmpi-dev openmpi-bin python3-venv)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "setup: installing missing system packages: ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "setup: need root or sudo to run: apt-get install ${missing[*]}" >&2; exit 1; }
        SUDO="sudo"
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
        echo "setup: package $p is still missing; install it with: apt-get install $p" >&2; exit 1; }
done
[ -f /usr/include/oneapi/dnnl/dnnl.h ] || { echo "setup: oneDNN header missing; apt-get install libdnnl-dev" >&2; exit 1; }
[ -f /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so ] || {
    echo "setup: OpenBLAS (OpenMP build) missing; apt-get install libopenblas-openmp-dev" >&2; exit 1; }
[ -f /usr/include/png.h ] || { echo "setup: libpng header missing; apt-get install libpng-dev" >&2; exit 1; }
[ -f /usr/include/jpeglib.h ] || { echo "setup: libjpeg-turbo header missing; apt-get install libjpeg62-turbo-dev" >&2; exit 1; }
[ -f /usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h ] || { echo "setup: Open MPI header missing; apt-get install libopenmpi-dev" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "setup: mpirun missing; apt-get install openmpi-bin" >&2; exit 1; }
command -v swift >/dev/null || { echo "setup: no 'swift' on PATH; install a Swift 6 toolchain from swift.org" >&2; exit 1; }
echo "setup: system packages present (${PACKAGES[*]}); $(swift --version 2>/dev/null | head -1)"
