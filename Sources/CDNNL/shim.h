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
