// Open MPI, bound at run time. The header gives the types and function signatures (checked by the compiler
// through typeof); the symbols come from dlsym, so the object has no link-time reference to libmpi. Open MPI's
// predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are addresses of global objects in libmpi
// (`ompi_mpi_comm_world`, ...), so they are looked up by those names too: this binds to Open MPI's ABI, which is
// the MPI Debian ships (libopenmpi3, soname libmpi.so.40, the same soname in Open MPI 4 and 5).
#if !__has_include(<mpi.h>)
#error "Open MPI's <mpi.h> not found: apt-get install libopenmpi-dev (scripts/setup.sh installs it)"
#endif
#include <mpi.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "CMPIShim.h"

static int state = 0;          // 0 untried, 1 active, -1 failed, 2 not under mpirun
static char message[512] = "";
static void *library = NULL;
static int world_rank = 0, world_size = 1;

static MPI_Comm world;
static MPI_Datatype types[3];
static MPI_Op ops[3];
static MPI_Datatype byte_type;

static __typeof__(&MPI_Init_thread) p_init_thread;
static __typeof__(&MPI_Finalize) p_finalize;
static __typeof__(&MPI_Finalized) p_finalized;
static __typeof__(&MPI_Comm_rank) p_comm_rank;
static __typeof__(&MPI_Comm_size) p_comm_size;
static __typeof__(&MPI_Barrier) p_barrier;
static __typeof__(&MPI_Bcast) p_bcast;
static __typeof__(&MPI_Allreduce) p_allreduce;
static __typeof__(&MPI_Iallreduce) p_iallreduce;
static __typeof__(&MPI_Test) p_test;
static __typeof__(&MPI_Wait) p_wait;
static __typeof__(&MPI_Abort) p_abort;

static int fail(const char *what) {
    snprintf(message, sizeof message, "%s", what);
    state = -1;
    return -1;
}

static void *symbol(const char *name) {
    void *s = dlsym(library, name);
    if (!s) snprintf(message, sizeof message, "libmpi.so.40 has no symbol %s (not Open MPI 4/5?): %s", name, dlerror());
    return s;
}

static void finalize_at_exit(void) {
    int done = 1;
    if (state == 1 && p_finalized(&done) == MPI_SUCCESS && !done) p_finalize();
}

#define BIND(var, name) if (!(var = (__typeof__(var))symbol(name))) { state = -1; return -1; }

static int bind_all(void) {
    BIND(p_init_thread, "MPI_Init_thread"); BIND(p_finalize, "MPI_Finalize"); BIND(p_finalized, "MPI_Finalized");
    BIND(p_comm_rank, "MPI_Comm_rank"); BIND(p_comm_size, "MPI_Comm_size"); BIND(p_barrier, "MPI_Barrier");
    BIND(p_bcast, "MPI_Bcast"); BIND(p_allreduce, "MPI_Allreduce"); BIND(p_iallreduce, "MPI_Iallreduce");
    BIND(p_test, "MPI_Test"); BIND(p_wait, "MPI_Wait"); BIND(p_abort, "MPI_Abort");
    void *w; BIND(w, "ompi_mpi_comm_world"); world = (MPI_Comm)w;
    void *t; BIND(t, "ompi_mpi_float"); types[SHEARS_MPI_FLOAT] = (MPI_Datatype)t;
    BIND(t, "ompi_mpi_double"); types[SHEARS_MPI_DOUBLE] = (MPI_Datatype)t;
    BIND(t, "ompi_mpi_int64_t"); types[SHEARS_MPI_INT64] = (MPI_Datatype)t;
    BIND(t, "ompi_mpi_byte"); byte_type = (MPI_Datatype)t;
    void *o; BIND(o, "ompi_mpi_op_sum"); ops[SHEARS_MPI_SUM] = (MPI_Op)o;
    BIND(o, "ompi_mpi_op_min"); ops[SHEARS_MPI_MIN] = (MPI_Op)o;
    BIND(o, "ompi_mpi_op_max"); ops[SHEARS_MPI_MAX] = (MPI_Op)o;
    return 0;
}

int shears_mpi_init(void) {
    if (state == 1) return 1;
    if (state == -1) return -1;
    if (state == 2) return 0;
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    if (!size || !*size) { state = 2; return 0; }
    // RTLD_GLOBAL: Open MPI's own plugins (mca components) resolve libmpi's symbols through the global scope.
    library = dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL);
    if (!library) {
        char why[400];
        snprintf(why, sizeof why, "started by mpirun (OMPI_COMM_WORLD_SIZE=%s) but Open MPI's libmpi.so.40 could not be "
                 "loaded: %s; apt-get install openmpi-bin libopenmpi-dev", size, dlerror());
        return fail(why);
    }
    if (bind_all() != 0) return -1;
    // FUNNELED: only the training thread calls MPI (the data loader's prefetch thread never does).
    int provided = 0;
    if (p_init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return fail("MPI_Init_thread failed");
    if (p_comm_rank(world, &world_rank) != MPI_SUCCESS || p_comm_size(world, &world_size) != MPI_SUCCESS)
        return fail("MPI_Comm_rank/MPI_Comm_size failed");
    state = 1;
    atexit(finalize_at_exit);
    return 1;
}

const char *shears_mpi_error(void) { return message; }
int shears_mpi_active(void) { return state == 1; }
int shears_mpi_rank(void) { return world_rank; }
int shears_mpi_size(void) { return world_size; }

static int checked(int rc, const char *call) {
    if (rc != MPI_SUCCESS) snprintf(message, sizeof message, "%s failed with MPI error %d", call, rc);
    return rc;
}

static int valid(int type, int op, int64_t count) {
    if (state != 1) { snprintf(message, sizeof message, "MPI is not initialised"); return 0; }
    if (type < 0 || type > 2 || op < 0 || op > 2) { snprintf(message, sizeof message, "bad type %d or op %d", type, op); return 0; }
    if (count < 0 || count > 0x7fffffff) { snprintf(message, sizeof message, "count %lld outside 0...2^31-1", (long long)count); return 0; }
    return 1;
}

int shears_mpi_barrier(void) {
    if (state != 1) return 0;
    return checked(p_barrier(world), "MPI_Barrier");
}

int shears_mpi_bcast(void *buffer, int64_t bytes, int root) {
    if (state != 1) return 0;
    const int64_t chunk = (int64_t)1 << 30;
    for (int64_t at = 0; at < bytes; at += chunk) {
        int n = (int)(bytes - at < chunk ? bytes - at : chunk);
        int rc = checked(p_bcast((char *)buffer + at, n, byte_type, root, world), "MPI_Bcast");
        if (rc != MPI_SUCCESS) return rc;
    }
    return 0;
}

int shears_mpi_allreduce(void *buffer, int64_t count, int type, int op) {
    if (!valid(type, op, count)) return -1;
    return checked(p_allreduce(MPI_IN_PLACE, buffer, (int)count, types[type], ops[op], world), "MPI_Allreduce");
}

int shears_mpi_iallreduce(void *buffer, int64_t count, int type, int op, void **request) {
    if (!valid(type, op, count)) return -1;
    MPI_Request r;
    int rc = checked(p_iallreduce(MPI_IN_PLACE, buffer, (int)count, types[type], ops[op], world, &r), "MPI_Iallreduce");
    *request = (void *)r;
    return rc;
}

int shears_mpi_test(void **request, int *done) {
    MPI_Request r = (MPI_Request)*request;
    int rc = checked(p_test(&r, done, MPI_STATUS_IGNORE), "MPI_Test");
    *request = (void *)r;
    return rc;
}

int shears_mpi_wait(void **request) {
    MPI_Request r = (MPI_Request)*request;
    int rc = checked(p_wait(&r, MPI_STATUS_IGNORE), "MPI_Wait");
    *request = (void *)r;
    return rc;
}

void shears_mpi_abort(int code) {
    if (state == 1) p_abort(world, code);
    exit(code);
}
