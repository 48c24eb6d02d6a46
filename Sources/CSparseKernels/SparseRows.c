// Why C: Swift compiles for baseline x86-64 (SSE2, no FMA) and cannot enable AVX2 for one function, so a
// Swift loop here would run at half the width of oneDNN's kernels it is compared against. Clang can: the same
// plain loop body is compiled twice, for AVX2+FMA and for any x86-64, and the CPU picks one at run time.
#include "CSparseKernels.h"
#include <string.h>

// Eight floats, loaded and stored unaligned through memcpy (one vmovups each). The helpers are always inlined,
// so the vector-ABI difference between the two builds that -Wpsabi warns about never reaches a call (hence
// -Wno-psabi in Package.swift).
typedef float v8f __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) v8f load8(const float *p) { v8f v; memcpy(&v, p, sizeof v); return v; }
static inline __attribute__((always_inline)) void store8(float *p, v8f v) { memcpy(p, &v, sizeof v); }

// Blocks of 64 positions keep eight 8-wide accumulators in registers while a row's nonzeros stream past: one
// load and one fused multiply-add per 8 products, and the output is written once. Then 8-wide blocks, then
// single positions (batch 1 is all single positions: a sparse matrix-vector product).
static inline __attribute__((always_inline)) void rows_body(
    const int32_t *rowPtr, const int64_t *off, const float *val, const float *x, float *y, int64_t ldy,
    int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
    int64_t t = t0;
    for (; t + 64 <= t1; t += 64) {
        for (int64_t r = r0; r < r1; r++) {
            v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
            for (int32_t j = rowPtr[r]; j < rowPtr[r + 1]; j++) {
                const float *p = x + off[j] + t;
                v8f v = (v8f){0} + val[j];
                a0 += v * load8(p);      a1 += v * load8(p + 8);
                a2 += v * load8(p + 16); a3 += v * load8(p + 24);
                a4 += v * load8(p + 32); a5 += v * load8(p + 40);
                a6 += v * load8(p + 48); a7 += v * load8(p + 56);
            }
            float *q = y + r * ldy + t;
            store8(q, a0);      store8(q + 8, a1);  store8(q + 16, a2); store8(q + 24, a3);
            store8(q + 32, a4); store8(q + 40, a5); store8(q + 48, a6); store8(q + 56, a7);
        }
    }
    for (; t + 8 <= t1; t += 8) {
        for (int64_t r = r0; r < r1; r++) {
            v8f a = {0};
            for (int32_t j = rowPtr[r]; j < rowPtr[r + 1]; j++) a += ((v8f){0} + val[j]) * load8(x + off[j] + t);
            store8(y + r * ldy + t, a);
        }
    }
    for (; t < t1; t++) {
        for (int64_t r = r0; r < r1; r++) {
            // Four partial sums so that consecutive multiply-adds do not wait on each other.
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            int32_t j = rowPtr[r], end = rowPtr[r + 1];
            for (; j + 4 <= end; j += 4) {
                s0 += val[j] * x[off[j] + t];         s1 += val[j + 1] * x[off[j + 1] + t];
                s2 += val[j + 2] * x[off[j + 2] + t]; s3 += val[j + 3] * x[off[j + 3] + t];
            }
            for (; j < end; j++) s0 += val[j] * x[off[j] + t];
            y[r * ldy + t] = (s0 + s1) + (s2 + s3);
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void rows_avx2(const int32_t *rowPtr, const int64_t *off, const float *val, const float *x, float *y,
                      int64_t ldy, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
    rows_body(rowPtr, off, val, x, y, ldy, r0, r1, t0, t1);
}
#endif

static void rows_portable(const int32_t *rowPtr, const int64_t *off, const float *val, const float *x, float *y,
                          int64_t ldy, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
    rows_body(rowPtr, off, val, x, y, ldy, r0, r1, t0, t1);
}

// Full 8×8 tiles are transposed in registers (the usual unpack / shuffle / lane-swap network, here written
// with __builtin_shufflevector: out_j[k] = in_k[j]); ragged edges element by element.
static inline __attribute__((always_inline)) void transpose8x8(
    const float *src, int64_t ss, float *dst, int64_t ds, const float *bias) {
    v8f r0 = load8(src), r1 = load8(src + ss), r2 = load8(src + 2 * ss), r3 = load8(src + 3 * ss);
    v8f r4 = load8(src + 4 * ss), r5 = load8(src + 5 * ss), r6 = load8(src + 6 * ss), r7 = load8(src + 7 * ss);
    v8f t0 = __builtin_shufflevector(r0, r1, 0, 8, 1, 9, 4, 12, 5, 13), t1 = __builtin_shufflevector(r0, r1, 2, 10, 3, 11, 6, 14, 7, 15);
    v8f t2 = __builtin_shufflevector(r2, r3, 0, 8, 1, 9, 4, 12, 5, 13), t3 = __builtin_shufflevector(r2, r3, 2, 10, 3, 11, 6, 14, 7, 15);
    v8f t4 = __builtin_shufflevector(r4, r5, 0, 8, 1, 9, 4, 12, 5, 13), t5 = __builtin_shufflevector(r4, r5, 2, 10, 3, 11, 6, 14, 7, 15);
    v8f t6 = __builtin_shufflevector(r6, r7, 0, 8, 1, 9, 4, 12, 5, 13), t7 = __builtin_shufflevector(r6, r7, 2, 10, 3, 11, 6, 14, 7, 15);
    v8f u0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13), u1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
    v8f u2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13), u3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
    v8f u4 = __builtin_shufflevector(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13), u5 = __builtin_shufflevector(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);
    v8f u6 = __builtin_shufflevector(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13), u7 = __builtin_shufflevector(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
    v8f b = bias ? load8(bias) : (v8f){0};
    store8(dst,          __builtin_shufflevector(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11) + b);
    store8(dst + ds,     __builtin_shufflevector(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11) + b);
    store8(dst + 2 * ds, __builtin_shufflevector(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11) + b);
    store8(dst + 3 * ds, __builtin_shufflevector(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11) + b);
    store8(dst + 4 * ds, __builtin_shufflevector(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15) + b);
    store8(dst + 5 * ds, __builtin_shufflevector(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15) + b);
    store8(dst + 6 * ds, __builtin_shufflevector(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15) + b);
    store8(dst + 7 * ds, __builtin_shufflevector(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15) + b);
}

static inline __attribute__((always_inline)) void transpose_body(
    const float *src, int64_t ss, float *dst, int64_t ds, int64_t rows, int64_t cols, const float *bias) {
    for (int64_t r0 = 0; r0 < rows; r0 += 8) {
        int64_t r1 = r0 + 8 < rows ? r0 + 8 : rows;
        for (int64_t c0 = 0; c0 < cols; c0 += 8) {
            int64_t c1 = c0 + 8 < cols ? c0 + 8 : cols;
            if (r1 - r0 == 8 && c1 - c0 == 8) {
                transpose8x8(src + r0 * ss + c0, ss, dst + c0 * ds + r0, ds, bias ? bias + r0 : 0);
            } else {
                for (int64_t c = c0; c < c1; c++)
                    for (int64_t r = r0; r < r1; r++) dst[c * ds + r] = src[r * ss + c] + (bias ? bias[r] : 0.0f);
            }
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void transpose_avx2(const float *src, int64_t ss, float *dst, int64_t ds, int64_t rows, int64_t cols, const float *bias) {
    transpose_body(src, ss, dst, ds, rows, cols, bias);
}
#endif

void shears_transpose(const float *src, int64_t srcStride, float *dst, int64_t dstStride,
                      int64_t rows, int64_t cols, const float *rowBias) {
#if defined(__x86_64__)
    if (shears_sparse_uses_avx2()) { transpose_avx2(src, srcStride, dst, dstStride, rows, cols, rowBias); return; }
#endif
    transpose_body(src, srcStride, dst, dstStride, rows, cols, rowBias);
}

static int force_portable = 0;

void shears_sparse_force_portable(int on) { force_portable = on != 0; }

int shears_sparse_uses_avx2(void) {
#if defined(__x86_64__)
    static int cached = -1;
    if (force_portable) return 0;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
#else
    return 0;
#endif
}

void shears_sparse_rows(const int32_t *rowPtr, const int64_t *offsets, const float *values,
                        const float *x, float *y, int64_t ldy,
                        int64_t rowBegin, int64_t rowEnd, int64_t tBegin, int64_t tEnd) {
#if defined(__x86_64__)
    if (shears_sparse_uses_avx2()) { rows_avx2(rowPtr, offsets, values, x, y, ldy, rowBegin, rowEnd, tBegin, tEnd); return; }
#endif
    rows_portable(rowPtr, offsets, values, x, y, ldy, rowBegin, rowEnd, tBegin, tEnd);
}
