// OpenBLAS' CBLAS interface, from the Debian packages libopenblas-dev / libopenblas-openmp-dev.
#if __has_include(<cblas.h>) && __has_include(</usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so>)
#include <cblas.h>
#else
#error "OpenBLAS (OpenMP build) not found: install the Debian package libopenblas-openmp-dev (apt-get install libopenblas-openmp-dev, or run: make setup)"
#endif
