// oneDNN's v2 C API (Debian's libdnnl-dev 2.6) and the few helpers the bf16 matmul needs: one matmul
// primitive per shape, created once and run with new data pointers on every call.
//
// One error path: every helper returns the first failing dnnl_status_t and sets *failed to the name
// of the call that returned it; Swift turns the pair into one thrown error (Kernels/OneDNN.swift).
#ifndef CDNNL_SHIM_H
#define CDNNL_SHIM_H
#include <stdint.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>

// libgomp's thread count for parallel regions started by the calling thread (oneDNN's CPU runtime is
// OpenMP in Debian's build); a per-thread setting, so it is set before each run.
extern void omp_set_num_threads(int);

#define PRETRAIN_DNNL_CHECK(call, name) do { dnnl_status_t s_ = (call); if (s_ != dnnl_success) { *failed = name; return s_; } } while (0)

/// A matmul primitive C (M,N) [+]= op(A) (M,K) · op(B) (K,N), row-major with leading dimensions, and
/// the memory objects whose data pointers each run sets.
typedef struct {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t primitive;
    dnnl_memory_t a, b, c;
} pretrain_dnnl_matmul;

/// Creates the CPU engine and an in-order stream on it.
static inline dnnl_status_t pretrain_dnnl_engine(dnnl_engine_t *engine, dnnl_stream_t *stream, const char **failed) {
    PRETRAIN_DNNL_CHECK(dnnl_engine_create(engine, dnnl_cpu, 0), "dnnl_engine_create");
    PRETRAIN_DNNL_CHECK(dnnl_stream_create(stream, *engine, dnnl_stream_default_flags), "dnnl_stream_create");
    return dnnl_success;
}

/// Creates the matmul for one shape of `ndims` (2, or 3-4 with leading batch dimensions, broadcast
/// nowhere): A dims (…, M, K), B (…, K, N), C (…, M, N), each with its own strides in elements (a
/// transposed operand is a stride swap). `bf16` != 0: A and B are bf16, else f32; C is always f32.
/// C = alpha·A·B, or with `accumulate` != 0 C = alpha·A·B + C (output scale, then a sum post-op).
static inline dnnl_status_t pretrain_dnnl_matmul_create_strided(pretrain_dnnl_matmul *mm, dnnl_engine_t engine, int ndims,
        const int64_t *aDims, const int64_t *aStrides, const int64_t *bDims, const int64_t *bStrides,
        const int64_t *cDims, const int64_t *cStrides, float alpha, int accumulate, int bf16, const char **failed) {
    memset(mm, 0, sizeof *mm);
    dnnl_data_type_t in = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t a, b, c;
    PRETRAIN_DNNL_CHECK(dnnl_memory_desc_init_by_strides(&a, ndims, aDims, in, aStrides), "dnnl_memory_desc_init_by_strides");
    PRETRAIN_DNNL_CHECK(dnnl_memory_desc_init_by_strides(&b, ndims, bDims, in, bStrides), "dnnl_memory_desc_init_by_strides");
    PRETRAIN_DNNL_CHECK(dnnl_memory_desc_init_by_strides(&c, ndims, cDims, dnnl_f32, cStrides), "dnnl_memory_desc_init_by_strides");
    dnnl_matmul_desc_t desc;
    PRETRAIN_DNNL_CHECK(dnnl_matmul_desc_init(&desc, &a, &b, NULL, &c), "dnnl_matmul_desc_init");
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_status_t s = dnnl_primitive_attr_create(&attr);
    if (s != dnnl_success) { *failed = "dnnl_primitive_attr_create"; return s; }
    if (alpha != 1.0f) {
        s = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha);
        if (s != dnnl_success) *failed = "dnnl_primitive_attr_set_output_scales";
    }
    if (s == dnnl_success && accumulate) {
        s = dnnl_post_ops_create(&ops);
        if (s == dnnl_success) s = dnnl_post_ops_append_sum(ops, 1.0f);
        if (s == dnnl_success) s = dnnl_primitive_attr_set_post_ops(attr, ops);
        if (s != dnnl_success) *failed = "dnnl_post_ops_append_sum";
    }
    if (s == dnnl_success) {
        s = dnnl_primitive_desc_create(&mm->pd, &desc, attr, engine, NULL);
        if (s != dnnl_success) *failed = "dnnl_primitive_desc_create";
    }
    if (ops) dnnl_post_ops_destroy(ops);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) return s;
    PRETRAIN_DNNL_CHECK(dnnl_primitive_create(&mm->primitive, mm->pd), "dnnl_primitive_create");
    PRETRAIN_DNNL_CHECK(dnnl_memory_create(&mm->a, &a, engine, DNNL_MEMORY_NONE), "dnnl_memory_create");
    PRETRAIN_DNNL_CHECK(dnnl_memory_create(&mm->b, &b, engine, DNNL_MEMORY_NONE), "dnnl_memory_create");
    PRETRAIN_DNNL_CHECK(dnnl_memory_create(&mm->c, &c, engine, DNNL_MEMORY_NONE), "dnnl_memory_create");
    return dnnl_success;
}

/// Creates the matmul for one 2-D shape: C (M,N) [+]= op(A)·op(B), row-major with leading dimensions
/// (see `pretrain_dnnl_matmul_create_strided`).
static inline dnnl_status_t pretrain_dnnl_matmul_create(pretrain_dnnl_matmul *mm, dnnl_engine_t engine,
        int64_t M, int64_t N, int64_t K, int transA, int transB, int64_t lda, int64_t ldb, int64_t ldc,
        int accumulate, int bf16, const char **failed) {
    int64_t aDims[2] = {M, K}, aStrides[2] = {transA ? 1 : lda, transA ? lda : 1};
    int64_t bDims[2] = {K, N}, bStrides[2] = {transB ? 1 : ldb, transB ? ldb : 1};
    int64_t cDims[2] = {M, N}, cStrides[2] = {ldc, 1};
    return pretrain_dnnl_matmul_create_strided(mm, engine, 2, aDims, aStrides, bDims, bStrides, cDims, cStrides, 1.0f,
                                               accumulate, bf16, failed);
}

/// The implementation oneDNN picked, e.g. "brg:avx512_core_bf16" (owned by the primitive descriptor).
static inline const char *pretrain_dnnl_matmul_impl(const pretrain_dnnl_matmul *mm) {
    const char *name = NULL;
    if (dnnl_primitive_desc_query(mm->pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success) return "unknown";
    return name;
}

/// Runs the matmul on these operands with `threads` OpenMP threads and waits for it.
static inline dnnl_status_t pretrain_dnnl_matmul_run(const pretrain_dnnl_matmul *mm, dnnl_stream_t stream, int threads,
        const void *A, const void *B, float *C, const char **failed) {
    PRETRAIN_DNNL_CHECK(dnnl_memory_set_data_handle(mm->a, (void *)A), "dnnl_memory_set_data_handle");
    PRETRAIN_DNNL_CHECK(dnnl_memory_set_data_handle(mm->b, (void *)B), "dnnl_memory_set_data_handle");
    PRETRAIN_DNNL_CHECK(dnnl_memory_set_data_handle(mm->c, C), "dnnl_memory_set_data_handle");
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, mm->a}, {DNNL_ARG_WEIGHTS, mm->b}, {DNNL_ARG_DST, mm->c}};
    omp_set_num_threads(threads);
    PRETRAIN_DNNL_CHECK(dnnl_primitive_execute(mm->primitive, stream, 3, args), "dnnl_primitive_execute");
    PRETRAIN_DNNL_CHECK(dnnl_stream_wait(stream), "dnnl_stream_wait");
    return dnnl_success;
}

/// Frees what `pretrain_dnnl_matmul_create` made (any part may be missing after a failed create).
static inline void pretrain_dnnl_matmul_destroy(pretrain_dnnl_matmul *mm) {
    if (mm->a) dnnl_memory_destroy(mm->a);
    if (mm->b) dnnl_memory_destroy(mm->b);
    if (mm->c) dnnl_memory_destroy(mm->c);
    if (mm->primitive) dnnl_primitive_destroy(mm->primitive);
    if (mm->pd) dnnl_primitive_desc_destroy(mm->pd);
    memset(mm, 0, sizeof *mm);
}
#endif
