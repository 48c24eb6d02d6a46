// The sparse training kernels (see CSparseTraining.h). Same reason for C as SparseRows.c: Swift cannot target one
// function at AVX2 or AVX-512, clang can. Each kernel body is written once as a macro over the vector type and
// instantiated for AVX-512F (16 floats), AVX2+FMA (8) and baseline x86-64 (8, lowered to SSE pairs).
#include "CSparseTraining.h"
#include <string.h>
#include <time.h>

typedef float v8f __attribute__((vector_size(32)));
typedef float v16f __attribute__((vector_size(64)));

// Unaligned vector loads and stores through memcpy (one vmovups each), as macros rather than helper functions:
// a helper returning a 64-byte vector would have a different ABI in each build, which clang refuses.
#define load_v8f(p) ({ v8f v_; memcpy(&v_, (p), sizeof v_); v_; })
#define load_v16f(p) ({ v16f v_; memcpy(&v_, (p), sizeof v_); v_; })
#define store_v8f(p, v) do { v8f s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)
#define store_v16f(p, v) do { v16f s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)

// ---- rows: y[r, t] = Σ_j values[j] · x[offsets[j] + t] ----
// Eight vector accumulators per block of positions while a row's nonzeros stream past, then four (a batch of 64
// is one such block on AVX-512), then single vectors, then single positions. Every position's sum is the same chain (0 + v0·x0 + v1·x1 + … in j order, each step one
// multiply-add), so block boundaries and the caller's thread split never change a result.
#define ROWS_BODY(VT, W)                                                                                          \
    int64_t t = t0;                                                                                               \
    for (; t + 8 * W <= t1; t += 8 * W) {                                                                         \
        for (int64_t r = r0; r < r1; r++) {                                                                       \
            VT a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};                    \
            for (int32_t j = rowPtr[r]; j < rowPtr[r + 1]; j++) {                                                 \
                const float *p = x + off[j] + t;                                                                  \
                VT v = (VT){0} + val[j];                                                                          \
                a0 += v * load_##VT(p);         a1 += v * load_##VT(p + W);                                       \
                a2 += v * load_##VT(p + 2 * W); a3 += v * load_##VT(p + 3 * W);                                   \
                a4 += v * load_##VT(p + 4 * W); a5 += v * load_##VT(p + 5 * W);                                   \
                a6 += v * load_##VT(p + 6 * W); a7 += v * load_##VT(p + 7 * W);                                   \
            }                                                                                                     \
            float *q = y + r * ldy + t;                                                                           \
            store_##VT(q, a0);         store_##VT(q + W, a1);     store_##VT(q + 2 * W, a2);                      \
            store_##VT(q + 3 * W, a3); store_##VT(q + 4 * W, a4); store_##VT(q + 5 * W, a5);                      \
            store_##VT(q + 6 * W, a6); store_##VT(q + 7 * W, a7);                                                 \
        }                                                                                                         \
    }                                                                                                             \
    for (; t + 4 * W <= t1; t += 4 * W) {                                                                         \
        for (int64_t r = r0; r < r1; r++) {                                                                       \
            VT a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                                            \
            for (int32_t j = rowPtr[r]; j < rowPtr[r + 1]; j++) {                                                 \
                const float *p = x + off[j] + t;                                                                  \
                VT v = (VT){0} + val[j];                                                                          \
                a0 += v * load_##VT(p);         a1 += v * load_##VT(p + W);                                       \
                a2 += v * load_##VT(p + 2 * W); a3 += v * load_##VT(p + 3 * W);                                   \
            }                                                                                                     \
            float *q = y + r * ldy + t;                                                                           \
            store_##VT(q, a0); store_##VT(q + W, a1); store_##VT(q + 2 * W, a2); store_##VT(q + 3 * W, a3);       \
        }                                                                                                         \
    }                                                                                                             \
    for (; t + W <= t1; t += W) {                                                                                 \
        for (int64_t r = r0; r < r1; r++) {                                                                       \
            VT a = {0};                                                                                           \
            for (int32_t j = rowPtr[r]; j < rowPtr[r + 1]; j++) a += ((VT){0} + val[j]) * load_##VT(x + off[j] + t); \
            store_##VT(y + r * ldy + t, a);                                                                       \
        }                                                                                                         \
    }                                                                                                             \
    for (; t < t1; t++) {                                                                                         \
        for (int64_t r = r0; r < r1; r++) {                                                                       \
            float s = 0;                                                                                          \
            for (int32_t j = rowPtr[r]; j < rowPtr[r + 1]; j++) s += val[j] * x[off[j] + t];                     \
            y[r * ldy + t] = s;                                                                                   \
        }                                                                                                         \
    }

#define ROWS_FN(NAME, ATTR, VT, W)                                                                               \
    ATTR static void NAME(const int32_t *rowPtr, const int64_t *off, const float *val, const float *x, float *y, \
                          int64_t ldy, int64_t r0, int64_t r1, int64_t t0, int64_t t1) { ROWS_BODY(VT, W) }

// ---- sddmm: out[j] = Σ_t dy[r, t] · x[offsets[j] + t], 32 lanes per nonzero ----
// Lane l holds the partial sum over t ≡ l (mod 32), whichever vector width carries it (two 16-wide or four
// 8-wide registers), so the AVX-512 and AVX2 builds compute identical partial sums. Nonzeros of one row go in
// groups (G at a time) so that one load of dy feeds G multiply-adds.
#define SDDMM_CHUNK 2048

#define SDDMM_GROUP(VT, W, G)                                                                                     \
    for (; j + G <= end; j += G) {                                                                                \
        VT acc[G][32 / W];                                                                                        \
        const float *xs[G];                                                                                       \
        for (int g = 0; g < G; g++) {                                                                             \
            xs[g] = x + off[j + g];                                                                               \
            for (int k = 0; k < 32 / W; k++)                                                                      \
                acc[g][k] = first ? (VT){0} : load_##VT(scratch + (int64_t)(j + g) * 32 + k * W);                 \
        }                                                                                                         \
        for (int64_t t = c0; t < c1; t += 32) {                                                                   \
            VT d[32 / W];                                                                                         \
            for (int k = 0; k < 32 / W; k++) d[k] = load_##VT(dyr + t + k * W);                                   \
            for (int g = 0; g < G; g++)                                                                           \
                for (int k = 0; k < 32 / W; k++) acc[g][k] += d[k] * load_##VT(xs[g] + t + k * W);               \
        }                                                                                                         \
        for (int g = 0; g < G; g++) {                                                                             \
            if (last) out[j + g] = REDUCE_##VT(acc[g]);                                                           \
            else for (int k = 0; k < 32 / W; k++) store_##VT(scratch + (int64_t)(j + g) * 32 + k * W, acc[g][k]); \
        }                                                                                                         \
    }

// The 32 lanes of a sum reduced by halves — lane i += lane i + 16, then i + 8, 4, 2, 1 — in registers: the same
// additions as reduce32 below, so every build and both paths give the same bits.
typedef float v4f __attribute__((vector_size(16)));
#define REDUCE8(v8) ({ v8f r8_ = (v8); v4f r4_ = __builtin_shufflevector(r8_, r8_, 0, 1, 2, 3)                       \
                                              + __builtin_shufflevector(r8_, r8_, 4, 5, 6, 7);                     \
                       float r2a_ = r4_[0] + r4_[2], r2b_ = r4_[1] + r4_[3]; r2a_ + r2b_; })
#define REDUCE_v16f(a) ({ v16f h_ = (a)[0] + (a)[1];                                                               \
                          REDUCE8(__builtin_shufflevector(h_, h_, 0, 1, 2, 3, 4, 5, 6, 7)                          \
                                  + __builtin_shufflevector(h_, h_, 8, 9, 10, 11, 12, 13, 14, 15)); })
#define REDUCE_v8f(a) REDUCE8(((a)[0] + (a)[2]) + ((a)[1] + (a)[3]))

#define SDDMM_FN(NAME, ATTR, VT, W, G)                                                                           \
    ATTR static void NAME(const int32_t *rowPtr, const int64_t *off, const float *x, const float *dy,             \
                          int64_t lddy, int64_t T, float *out, float *scratch, int64_t r0, int64_t r1) {          \
        for (int64_t c0 = 0; c0 < T; c0 += SDDMM_CHUNK) {                                                         \
            int64_t c1 = c0 + SDDMM_CHUNK < T ? c0 + SDDMM_CHUNK : T;                                             \
            int first = c0 == 0, last = c1 == T;                                                                  \
            for (int64_t r = r0; r < r1; r++) {                                                                   \
                const float *dyr = dy + r * lddy;                                                                 \
                int32_t j = rowPtr[r], end = rowPtr[r + 1];                                                       \
                SDDMM_GROUP(VT, W, G)                                                                             \
                SDDMM_GROUP(VT, W, 1)                                                                             \
            }                                                                                                     \
        }                                                                                                         \
    }

// ---- row sums, in the sddmm's lane order ----
#define ROWSUM_FN(NAME, ATTR, VT, W)                                                                             \
    ATTR static void NAME(const float *x, int64_t ldx, int64_t rows, int64_t T, float *lanes) {                   \
        for (int64_t r = 0; r < rows; r++) {                                                                      \
            VT a[32 / W];                                                                                         \
            for (int k = 0; k < 32 / W; k++) a[k] = (VT){0};                                                      \
            for (int64_t t = 0; t < T; t += 32)                                                                   \
                for (int k = 0; k < 32 / W; k++) a[k] += load_##VT(x + r * ldx + t + k * W);                      \
            for (int k = 0; k < 32 / W; k++) store_##VT(lanes + r * 32 + k * W, a[k]);                            \
        }                                                                                                         \
    }

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define AVX2 __attribute__((target("avx2,fma")))
ROWS_FN(rows_avx512, AVX512, v16f, 16)
ROWS_FN(rows_avx2, AVX2, v8f, 8)
SDDMM_FN(sddmm_avx512, AVX512, v16f, 16, 4)
SDDMM_FN(sddmm_avx2, AVX2, v8f, 8, 2)
ROWSUM_FN(rowsum_avx512, AVX512, v16f, 16)
ROWSUM_FN(rowsum_avx2, AVX2, v8f, 8)
#endif
ROWS_FN(rows_portable, , v8f, 8)
SDDMM_FN(sddmm_portable, , v8f, 8, 2)
ROWSUM_FN(rowsum_portable, , v8f, 8)

// ---- run-time choice ----
static int isa_cap = -1;

void shears_train_limit_isa(int level) { isa_cap = level; }

int shears_train_isa(void) {
    int level = 0;
#if defined(__x86_64__)
    static int detected = -1;
    if (detected < 0) {
        __builtin_cpu_init();
        detected = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 2
                 : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    }
    level = detected;
#endif
    return isa_cap >= 0 && isa_cap < level ? isa_cap : level;
}

void shears_train_rows(const int32_t *rowPtr, const int64_t *offsets, const float *values,
                       const float *x, float *y, int64_t ldy, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
    switch (shears_train_isa()) {
#if defined(__x86_64__)
    case 2: rows_avx512(rowPtr, offsets, values, x, y, ldy, r0, r1, t0, t1); return;
    case 1: rows_avx2(rowPtr, offsets, values, x, y, ldy, r0, r1, t0, t1); return;
#endif
    default: rows_portable(rowPtr, offsets, values, x, y, ldy, r0, r1, t0, t1);
    }
}

// The 32 lanes of a sum, reduced by halves: the tree REDUCE_v16f / REDUCE_v8f compute in registers (plain adds,
// nothing to fuse), here for the row sums.
static float reduce32(const float *lanes) {
    float a[32];
    memcpy(a, lanes, sizeof a);
    for (int h = 16; h >= 1; h /= 2)
        for (int i = 0; i < h; i++) a[i] += a[i + h];
    return a[0];
}

void shears_train_sddmm(const int32_t *rowPtr, const int64_t *offsets, const float *x, const float *dy,
                        int64_t lddy, int64_t T, float *out, float *scratch, int64_t r0, int64_t r1) {
    if (r0 >= r1) return;
    int32_t j0 = rowPtr[r0], j1 = rowPtr[r1];
    if (T <= 0) {
        for (int32_t j = j0; j < j1; j++) out[j] = 0;
        return;
    }
    switch (shears_train_isa()) {
#if defined(__x86_64__)
    case 2: sddmm_avx512(rowPtr, offsets, x, dy, lddy, T, out, scratch, r0, r1); break;
    case 1: sddmm_avx2(rowPtr, offsets, x, dy, lddy, T, out, scratch, r0, r1); break;
#endif
    default: sddmm_portable(rowPtr, offsets, x, dy, lddy, T, out, scratch, r0, r1);
    }
}

void shears_train_row_sums(const float *x, int64_t ldx, int64_t rows, int64_t T, float *out) {
    float lanes[32 * 64];
    for (int64_t r0 = 0; r0 < rows; r0 += 64) {
        int64_t n = rows - r0 < 64 ? rows - r0 : 64;
        switch (shears_train_isa()) {
#if defined(__x86_64__)
        case 2: rowsum_avx512(x + r0 * ldx, ldx, n, T, lanes); break;
        case 1: rowsum_avx2(x + r0 * ldx, ldx, n, T, lanes); break;
#endif
        default: rowsum_portable(x + r0 * ldx, ldx, n, T, lanes);
        }
        for (int64_t r = 0; r < n; r++) out[r0 + r] = reduce32(lanes + r * 32);
    }
}

// ---- the FMA peak: twelve independent multiply-add chains, enough to cover the latency on every x86 core ----
#define PEAK_FN(NAME, ATTR, VT, W)                                                                               \
    ATTR static double NAME(int64_t iterations, float seed) {                                                     \
        VT a[12], m = (VT){0} + 0.999999f, c = (VT){0} + seed;                                                    \
        for (int k = 0; k < 12; k++) a[k] = (VT){0} + (float)k;                                                   \
        for (int64_t i = 0; i < iterations; i++) {                                                                \
            for (int k = 0; k < 12; k++) a[k] = a[k] * m + c;                                                     \
        }                                                                                                         \
        VT s = {0};                                                                                               \
        for (int k = 0; k < 12; k++) s += a[k];                                                                   \
        return (double)s[0] + (double)s[W - 1];                                                                   \
    }
#if defined(__x86_64__)
PEAK_FN(peak_avx512, AVX512, v16f, 16)
PEAK_FN(peak_avx2, AVX2, v8f, 8)
#endif
PEAK_FN(peak_portable, , v8f, 8)

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

volatile double shears_fma_peak_sink;

double shears_fma_peak_flops(int64_t iterations) {
    int level = shears_train_isa();
    double width = level == 2 ? 16 : 8;
    double t0 = now_seconds();
    double s;
    switch (level) {
#if defined(__x86_64__)
    case 2: s = peak_avx512(iterations, 1e-7f); break;
    case 1: s = peak_avx2(iterations, 1e-7f); break;
#endif
    default: s = peak_portable(iterations, 1e-7f);
    }
    double elapsed = now_seconds() - t0;
    shears_fma_peak_sink = s;
    // Twelve chains of `width` lanes, two floating-point operations (multiply and add) each per iteration.
    return elapsed > 0 ? (double)iterations * 12 * width * 2 / elapsed : 0;
}
