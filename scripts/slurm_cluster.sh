#!/usr/bin/env bash
# A one-node Slurm cluster on localhost for the sweep tests (see ../shared/recipes/slurm-one-node.md):
#   scripts/slurm_cluster.sh start   starts munged, slurmctld and slurmd; prints `export SLURM_CONF=…`
#   scripts/slurm_cluster.sh stop    stops them by the pids they wrote
# Everything lives under $SHEARS_SLURM_DIR (default /tmp/shears-slurm): a generated slurm.conf, its own munge key
# and socket, spool and logs, and non-default ports ($SHEARS_SLURM_PORT, +1), so it touches no system Slurm.
# Needs root (the daemons run as root, as on a CI machine) and Debian's slurm-wlm and munge (scripts/setup_slurm.sh).
set -euo pipefail

DIR=${SHEARS_SLURM_DIR:-/tmp/shears-slurm}
PORT=${SHEARS_SLURM_PORT:-16817}
CONF=$DIR/slurm.conf

fail() { echo "slurm_cluster: $*" >&2; exit 1; }

stop_pidfile() {
    local f=$1
    [ -f "$f" ] || return 0
    local pid; pid=$(cat "$f")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$f"
}

stop() {
    stop_pidfile "$DIR/slurmd.pid"
    stop_pidfile "$DIR/slurmctld.pid"
    stop_pidfile "$DIR/munged.pid"
    echo "slurm_cluster: stopped (state kept in $DIR)"
}

write_conf() {
    local host mem
    host=$(hostname -s)
    mem=$(( $(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 - 1024 ))
    cat > "$CONF" <<CONF
ClusterName=shears-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/spool/ctld
SlurmdSpoolDir=$DIR/spool/d
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
    [ "$(id -u)" -eq 0 ] || fail "needs root to start munged, slurmctld and slurmd (CI runs as root)"
    for c in munged slurmctld slurmd sbatch sinfo; do
        command -v "$c" >/dev/null || [ -x "/usr/sbin/$c" ] || fail "$c not found: run scripts/setup_slurm.sh (apt-get install slurm-wlm munge)"
    done
    stop >/dev/null 2>&1 || true
    mkdir -p "$DIR/spool/ctld" "$DIR/spool/d" "$DIR/log"
    [ -f "$DIR/munge.key" ] || dd if=/dev/urandom bs=1 count=1024 of="$DIR/munge.key" 2>/dev/null
    chmod 700 "$DIR"; chmod 400 "$DIR/munge.key"
    /usr/sbin/munged --force --socket="$DIR/munge.socket" --key-file="$DIR/munge.key" --pid-file="$DIR/munged.pid" \
        --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge.seed" \
        || fail "munged did not start; see $DIR/log/munged.log"
    write_conf
    export SLURM_CONF=$CONF
    /usr/sbin/slurmctld -f "$CONF" || fail "slurmctld did not start; see $DIR/log/slurmctld.log"
    /usr/sbin/slurmd -f "$CONF" || fail "slurmd did not start; see $DIR/log/slurmd.log"
    for _ in $(seq 1 60); do
        state=$(sinfo -h -o %T 2>/dev/null | head -1 || true)
        if [ "$state" = "idle" ]; then
            echo "slurm_cluster: one-node cluster up ($(hostname -s), $(nproc) CPUs, port $PORT); export SLURM_CONF=$CONF"
            return 0
        fi
        sleep 0.5
    done
    echo "slurm_cluster: the node did not become idle (sinfo says '${state:-nothing}'); last log lines:" >&2
    tail -n 5 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" "$DIR/log/munged.log" >&2 || true
    exit 1
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
