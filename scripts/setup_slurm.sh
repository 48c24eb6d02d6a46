#!/usr/bin/env bash
# Installs Debian's Slurm and munge for the sweep test (scripts/test_slurm_sweep.sh), only when missing.
# Needs root (or sudo) for apt. Idempotent, like scripts/setup.sh.
set -euo pipefail

PACKAGES=(slurm-wlm munge)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup_slurm: installing missing system packages: ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "setup_slurm: need root or sudo to run: apt-get install ${missing[*]}" >&2; exit 1; }
        SUDO="sudo"
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
for c in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch /usr/bin/squeue; do
    [ -x "$c" ] || { echo "setup_slurm: $c is missing after installing ${PACKAGES[*]}" >&2; exit 1; }
done
echo "setup_slurm: slurm-wlm $(dpkg-query -W -f='${Version}' slurm-wlm) and munge $(dpkg-query -W -f='${Version}' munge) present"
