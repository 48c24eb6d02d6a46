#ifndef SHEARS_CSPARSE_KERNELS_H
#define SHEARS_CSPARSE_KERNELS_H
#include <stdint.h>

/// The inner loop of every sparse kernel in Shears (see Sources/ShearsTensor/Kernels/SparseKernels.swift):
///
///     y[r * ldy + t] = sum over j in rowPtr[r] ..< rowPtr[r + 1] of values[j] * x[offsets[j] + t]
///
/// for rows r in [rowBegin, rowEnd) and positions t in [tBegin, tEnd). Each nonzero j is one contiguous
/// multiply-add over a window of x that starts at offsets[j]; what x and the offsets are (a transposed batch,
/// im2col columns, or shifted input planes) is decided by the caller.
void shears_sparse_rows(const int32_t *rowPtr, const int64_t *offsets, const float *values,
                        const float *x, float *y, int64_t ldy,
                        int64_t rowBegin, int64_t rowEnd, int64_t tBegin, int64_t tEnd);

/// dst[c * dstStride + r] = src[r * srcStride + c] (+ rowBias[r] when rowBias is not NULL) for r < rows,
/// c < cols: the layout changes around the sparse product (NHWC input to channel planes or im2col rows, the
/// channel-major product back to NHWC), done in 8×8 tiles so that neither side is walked with a large stride.
void shears_transpose(const float *src, int64_t srcStride, float *dst, int64_t dstStride,
                      int64_t rows, int64_t cols, const float *rowBias);

/// 1 when the AVX2+FMA versions run on this CPU, 0 for the portable ones.
int shears_sparse_uses_avx2(void);

/// With on != 0, the portable versions run even where AVX2 is available (so that tests cover both builds).
void shears_sparse_force_portable(int on);

#include "CSparseTraining.h"

#endif
