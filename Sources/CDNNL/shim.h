// oneDNN 2.6 C API, from the Debian package libdnnl-dev.
#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#else
#error "oneDNN headers not found: install the Debian package libdnnl-dev (apt-get install libdnnl-dev, or run: make setup)"
#endif

// The OpenMP runtime that oneDNN (and OpenBLAS' OpenMP build) run on; linked as libgomp.so.1.
int omp_get_max_threads(void);
void omp_set_num_threads(int num_threads);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
// libgomp's entry point for `#pragma omp parallel` (GCC ABI, stable since GCC 4.9): runs fn(data) on
// num_threads threads of the same pool oneDNN and OpenBLAS use (Kernels/SparseKernels.swift's parallel loop).
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
