#ifndef SHEARS_CSPARSE_TRAINING_H
#define SHEARS_CSPARSE_TRAINING_H
#include <stdint.h>

/// The sparse *training* kernels (Sources/ShearsTensor/Kernels/SparseTrainingKernels.swift), compiled three
/// times — AVX-512F, AVX2+FMA and portable — and chosen at run time. Every output element is computed by one
/// call in a fixed order that does not depend on how the caller splits the work over threads, so a run is
/// bit-identical whatever its thread count; the AVX-512 and AVX2 builds also agree bit for bit with each other
/// (same lane layout, both fused multiply-adds), the portable build differs only by the rounding of unfused
/// multiply-adds.

/// y[r * ldy + t] = Σ_{j in rowPtr[r] ..< rowPtr[r+1]} values[j] * x[offsets[j] + t] for r in [r0, r1),
/// t in [t0, t1): the forward product, and with the transposed structure the backward to the input. Each
/// position's sum runs over j in order (one multiply-add chain), wherever the position falls in a block.
void shears_train_rows(const int32_t *rowPtr, const int64_t *offsets, const float *values,
                       const float *x, float *y, int64_t ldy, int64_t r0, int64_t r1, int64_t t0, int64_t t1);

/// The weight gradient at the nonzeros only (a sampled dense–dense product):
///     out[j] = Σ_{t < T} dy[r * lddy + t] * x[offsets[j] + t]   for every j of rows r in [r0, r1).
/// T must be a multiple of 32. Each sum is kept in 32 lanes (lane t mod 32), walked over t in chunks that keep
/// the windows of x and dy in L2, with the lanes parked in `scratch` (32 floats per nonzero, indexed by j)
/// between chunks, and reduced at the end by a fixed pairwise tree.
void shears_train_sddmm(const int32_t *rowPtr, const int64_t *offsets, const float *x, const float *dy,
                        int64_t lddy, int64_t T, float *out, float *scratch, int64_t r0, int64_t r1);

/// out[r] = Σ_{t < T} x[r * ldx + t] for r < rows, T a multiple of 32, in the same 32-lane order (bias gradients).
void shears_train_row_sums(const float *x, int64_t ldx, int64_t rows, int64_t T, float *out);

/// Multiply-adds issued per second by one thread running independent fused multiply-add chains at the widest
/// vector width this CPU has (the FMA peak the benchmark compares its kernels against), over `iterations` loops.
double shears_fma_peak_flops(int64_t iterations);

/// 2 = AVX-512F, 1 = AVX2+FMA, 0 = portable: the build the training kernels run.
int shears_train_isa(void);

/// Caps the build the training kernels may run (2, 1 or 0; tests use it to compare the builds); -1 lifts the cap.
void shears_train_limit_isa(int level);

#endif
