# Sourced by scripts/mpi_check.sh and scripts/mpi_commands_check.sh (after they define `fail`): mpirun must exist
# after setup, and MPI's traffic stays on this machine.
command -v mpirun >/dev/null || fail "mpirun not found after setup; apt-get install openmpi-bin libopenmpi-dev (scripts/setup.sh)"
# Shared memory between the ranks of this machine only: no network interface but loopback is ever probed.
export OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_btl_tcp_if_include=lo
# Containers often forbid the cross-memory-attach syscalls vader uses for large messages; copy through shared memory.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMP_NUM_THREADS=1
