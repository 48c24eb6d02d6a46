// The few MPI calls Shears makes, behind plain C types, so that Swift never sees <mpi.h> and the `shears`
// binary never links libmpi: MPIShim.c loads Open MPI's libmpi.so.40 with dlopen, and only when the process
// was started by mpirun (OMPI_COMM_WORLD_SIZE is set). A single-process run needs no MPI at all.
#ifndef SHEARS_MPI_SHIM_H
#define SHEARS_MPI_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum shears_mpi_type { SHEARS_MPI_FLOAT = 0, SHEARS_MPI_DOUBLE = 1, SHEARS_MPI_INT64 = 2 };
enum shears_mpi_op { SHEARS_MPI_SUM = 0, SHEARS_MPI_MIN = 1, SHEARS_MPI_MAX = 2 };

/// 0: not started by mpirun (a single process; nothing was loaded). 1: MPI is initialised (also on later calls).
/// -1: started by mpirun but libmpi could not be loaded or initialised; `shears_mpi_error()` says why.
int shears_mpi_init(void);
/// The last failure's message ("" when none).
const char *shears_mpi_error(void);
/// Whether libmpi is loaded and initialised in this process.
int shears_mpi_active(void);
int shears_mpi_rank(void);
int shears_mpi_size(void);

// Every call below returns 0 on success, or an MPI error code (then `shears_mpi_error()` names the call).
int shears_mpi_barrier(void);
/// Broadcasts `bytes` bytes at `buffer` from `root` to every rank (in chunks below 2^31 bytes).
int shears_mpi_bcast(void *buffer, int64_t bytes, int root);
/// In-place allreduce of `count` elements of `type` with `op`.
int shears_mpi_allreduce(void *buffer, int64_t count, int type, int op);
/// Starts an in-place non-blocking allreduce (MPI_Iallreduce); `*request` receives its handle.
int shears_mpi_iallreduce(void *buffer, int64_t count, int type, int op, void **request);
/// Progresses the request; `*done` becomes 1 once it completed (the handle is then released).
int shears_mpi_test(void **request, int *done);
/// Waits for the request to complete and releases its handle.
int shears_mpi_wait(void **request);
/// Aborts every rank of the job with `code` (after a rank found an error the others cannot see).
void shears_mpi_abort(int code);

#ifdef __cplusplus
}
#endif
#endif
