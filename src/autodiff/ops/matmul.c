/* Matrix product through nabla's BLAS backend (src/blas.c), and the 2-D transpose. */
#include "autodiff/graph_internal.h"

#include "core/core.h"

#include <string.h>

/* C = op(A) · op(B) + beta·C with row-major storage; the dtype picks sgemm or dgemm. */
static void gemm(nb_dtype dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const void *a,
                 int64_t lda, const void *b, int64_t ldb, double beta, void *c, int64_t ldc)
{
    if (dtype == NB_F64)
        nb_gemm_f64(trans_a, trans_b, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc);
    else
        nb_gemm_f32(trans_a, trans_b, m, n, k, 1.0f, a, lda, b, ldb, (float)beta, c, ldc);
}

/* a [M, K] (or [K, M] transposed) · b [K, N] (or [N, K]) -> [M, N] */
static nb_status matmul_shape(nb_node *node)
{
    const nb_tensor *a = &node->inputs[0]->value, *b = &node->inputs[1]->value;
    char sa[96], sb[96];
    if (a->ndim != 2 || b->ndim != 2)
        return nb_fail(NB_ESHAPE, "matmul: needs 2-D operands, got %s and %s",
                       nb_shape_str(a->ndim, a->shape, sa, sizeof sa), nb_shape_str(b->ndim, b->shape, sb, sizeof sb));
    bool ta = node->attr.matmul.trans_a, tb = node->attr.matmul.trans_b;
    int64_t m = ta ? a->shape[1] : a->shape[0], k_a = ta ? a->shape[0] : a->shape[1];
    int64_t k_b = tb ? b->shape[1] : b->shape[0], n = tb ? b->shape[0] : b->shape[1];
    if (k_a != k_b)
        return nb_fail(NB_ESHAPE, "matmul: inner dimensions differ: %s%s · %s%s (%lld vs %lld)",
                       nb_shape_str(a->ndim, a->shape, sa, sizeof sa), ta ? "ᵀ" : "",
                       nb_shape_str(b->ndim, b->shape, sb, sizeof sb), tb ? "ᵀ" : "", (long long)k_a, (long long)k_b);
    nb_set_shape(&node->value, 2, (int64_t[]){m, n});
    return NB_OK;
}

static nb_status matmul_forward(nb_node *node)
{
    const nb_tensor *a = &node->inputs[0]->value, *b = &node->inputs[1]->value;
    bool ta = node->attr.matmul.trans_a, tb = node->attr.matmul.trans_b;
    int64_t m = node->value.shape[0], n = node->value.shape[1], k = ta ? a->shape[0] : a->shape[1];
    gemm(node->graph->dtype, ta, tb, m, n, k, a->data, a->shape[1], b->data, b->shape[1], 0.0, node->value.data, n);
    return NB_OK;
}

/* C = op(A)·op(B):  dA += dC·op(B)ᵀ (or its transpose),  dB += op(A)ᵀ·dC (or its transpose) */
static void matmul_backward(nb_node *node)
{
    nb_node *a = node->inputs[0], *b = node->inputs[1];
    bool ta = node->attr.matmul.trans_a, tb = node->attr.matmul.trans_b;
    nb_dtype dtype = node->graph->dtype;
    int64_t m = node->value.shape[0], n = node->value.shape[1], k = ta ? a->value.shape[0] : a->value.shape[1];
    int64_t lda = a->value.shape[1], ldb = b->value.shape[1];
    const void *grad = node->grad.data;
    if (a->requires_grad) {
        double beta = nb_grad_fresh(a) ? 0.0 : 1.0; /* store into a gradient that holds nothing yet */
        if (!ta) /* dA[M,K] += dC[M,N] · op(B)ᵀ */
            gemm(dtype, false, !tb, m, k, n, grad, n, b->value.data, ldb, beta, a->grad.data, k);
        else /* dA[K,M] += op(B)[K,N] · dCᵀ */
            gemm(dtype, tb, true, k, m, n, b->value.data, ldb, grad, n, beta, a->grad.data, m);
    }
    if (b->requires_grad) {
        double beta = nb_grad_fresh(b) ? 0.0 : 1.0;
        if (!tb) /* dB[K,N] += op(A)ᵀ · dC */
            gemm(dtype, !ta, false, k, n, m, a->value.data, lda, grad, n, beta, b->grad.data, n);
        else /* dB[N,K] += dCᵀ · op(A) */
            gemm(dtype, true, ta, n, k, m, grad, n, a->value.data, lda, beta, b->grad.data, k);
    }
}

static const nb_opdef matmul_op = {"matmul", matmul_shape, matmul_forward, matmul_backward, true};

nb_node *nb_matmul(nb_node *a, nb_node *b, bool transpose_a, bool transpose_b)
{
    nb_node *inputs[2] = {a, b};
    nb_attr attr = {.matmul = {transpose_a, transpose_b}};
    return nb_op_node(&matmul_op, 2, inputs, &attr);
}

/* x [..., R, C] -> [..., C, R] */
static nb_status transpose_shape(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value;
    if (x->ndim < 2) {
        char buf[96];
        return nb_fail(NB_ESHAPE, "transpose: needs at least 2 dimensions, got %s",
                       nb_shape_str(x->ndim, x->shape, buf, sizeof buf));
    }
    int64_t shape[NB_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 2] = x->shape[x->ndim - 1];
    shape[x->ndim - 1] = x->shape[x->ndim - 2];
    nb_set_shape(&node->value, x->ndim, shape);
    return NB_OK;
}

/* The same index walk moves values forward and gradients back. */
#define TRANSPOSE_LOOP(T, src, dst, op)                                                             \
    do {                                                                                            \
        const T *s_ = (const T *)(src);                                                             \
        T *d_ = (T *)(dst);                                                                         \
        for (int64_t b_ = 0; b_ < batch; b_++, s_ += rows * cols, d_ += rows * cols)                \
            for (int64_t r_ = 0; r_ < rows; r_++)                                                   \
                for (int64_t c_ = 0; c_ < cols; c_++)                                               \
                    d_[c_ * rows + r_] op s_[r_ * cols + c_];                                       \
    } while (0)

static void transpose_dims(const nb_tensor *x, int64_t *batch, int64_t *rows, int64_t *cols)
{
    *rows = x->shape[x->ndim - 2];
    *cols = x->shape[x->ndim - 1];
    int64_t matrix = *rows * *cols;
    *batch = matrix > 0 ? x->size / matrix : 0;
}

static nb_status transpose_forward(nb_node *node)
{
    int64_t batch, rows, cols;
    transpose_dims(&node->inputs[0]->value, &batch, &rows, &cols);
    if (node->graph->dtype == NB_F64)
        TRANSPOSE_LOOP(double, node->inputs[0]->value.data, node->value.data, =);
    else
        TRANSPOSE_LOOP(float, node->inputs[0]->value.data, node->value.data, =);
    return NB_OK;
}

static void transpose_backward(nb_node *node)
{
    nb_node *x = node->inputs[0];
    if (!x->requires_grad)
        return;
    /* the output is [cols, rows]: walk it as rows x cols swapped */
    int64_t batch, rows, cols;
    transpose_dims(&node->value, &batch, &rows, &cols);
    if (node->graph->dtype == NB_F64)
        TRANSPOSE_LOOP(double, node->grad.data, x->grad.data, +=);
    else
        TRANSPOSE_LOOP(float, node->grad.data, x->grad.data, +=);
}

static const nb_opdef transpose_op = {"transpose", transpose_shape, transpose_forward, transpose_backward, false};

nb_node *nb_transpose(nb_node *x) { return nb_op_node(&transpose_op, 1, &x, NULL); }
