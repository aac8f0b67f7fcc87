/* Elementwise ops: one input (exp, tanh, relu, ...) and two inputs with numpy
 * broadcasting (add, mul, pow, ...).
 *
 * Each op is one line of a table: its forward formula and its derivative side by side.
 * The tables expand into plain loops over contiguous memory, once for float and once
 * for double (tgmath.h picks expf or exp from the element type). */
#include "autodiff/graph_internal.h"
#include "autodiff/ops/activations.h"

#include <tgmath.h>

#define LN10 2.302585092994045684017991454684364208
#define LOG10_E 0.434294481903251827651128918916605082

/* d(x^s)/dx = s x^(s-1) = s y / x: one division instead of a second pow (the costliest
 * part of least-squares fits with power laws); pow again where y / x would lose accuracy. */
#define POW_DERIVATIVE(x, s, y) ((x) != 0 && isnormal(y) ? (s) * ((y) / (x)) : (s) * pow(x, (s) - 1))

/* One input x, output y, attribute s.
 *          name        forward y = f(x)                       dy/dx                   */
#define NB_UNARY_OPS(X)                                                                   \
    X(neg,        -x,                                  -1)                                \
    X(scale,      s * x,                               s)                                 \
    X(shift,      x + s,                               1)                                 \
    X(pow_scalar, pow(x, s),                           POW_DERIVATIVE(x, s, y))           \
    X(exp,        exp(x),                              y)                                 \
    X(log,        log(x),                              1 / x)                             \
    X(log10,      log10(x),                            (T)LOG10_E / x)                    \
    X(sqrt,       sqrt(x),                             (T)0.5 / y)                        \
    X(abs,        fabs(x),                             (x > 0) - (x < 0))                 \
    X(sin,        sin(x),                              cos(x))                            \
    X(cos,        cos(x),                              -sin(x))                           \
    X(tan,        tan(x),                              1 + y * y)                         \
    X(asin,       asin(x),                             1 / sqrt(1 - x * x))               \
    X(acos,       acos(x),                             -1 / sqrt(1 - x * x))              \
    X(atan,       atan(x),                             1 / (1 + x * x))                   \
    X(sinh,       sinh(x),                             cosh(x))                           \
    X(cosh,       cosh(x),                             sinh(x))                           \
    NB_FUSED_ACTIVATIONS(X) /* tanh, sigmoid, relu: activations.h */                     \
    X(leaky_relu, x > 0 ? x : s * x,                   x > 0 ? 1 : s)                     \
    X(softplus,   fmax(x, 0) + log1p(exp(-fabs(x))),   1 / (1 + exp(-x)))

/* Two inputs a, b, output y.
 *          name     forward y = f(a, b)      dy/da                  dy/db               */
#define NB_BINARY_OPS(X)                                                                  \
    X(add,     a + b,                  1,                     1)                          \
    X(sub,     a - b,                  1,                     -1)                         \
    X(mul,     a * b,                  b,                     a)                          \
    X(div,     a / b,                  1 / b,                 -y / b)                     \
    X(pow,     pow(a, b),              POW_DERIVATIVE(a, b, y), a > 0 ? y * log(a) : 0)   \
    X(atan2,   atan2(a, b),            b / (a * a + b * b),   -a / (a * a + b * b))       \
    X(minimum, a <= b ? a : b,         a <= b,                a > b)                      \
    X(maximum, a >= b ? a : b,         a >= b,                a < b)

/* ---- kernels, instantiated per dtype ----------------------------------------------- */

#define UNARY_KERNELS(name, forward, derivative)                                                    \
    /* y[n] = f(x[n]) */                                                                            \
    static void NB_KERNEL(name##_fwd)(int64_t n, const T *restrict xs, T *restrict ys, T s)         \
    {                                                                                               \
        (void)s;                                                                                    \
        for (int64_t i = 0; i < n; i++) {                                                           \
            T x = xs[i];                                                                            \
            ys[i] = (T)(forward);                                                                   \
        }                                                                                           \
    }                                                                                               \
    /* gx[n] += gy[n] * f'(x[n]) */                                                                 \
    static void NB_KERNEL(name##_bwd)(int64_t n, const T *restrict xs, const T *restrict ys,        \
                                      const T *restrict gys, T *restrict gxs, T s)                  \
    {                                                                                               \
        (void)s;                                                                                    \
        for (int64_t i = 0; i < n; i++) {                                                           \
            T x = xs[i], y = ys[i];                                                                 \
            (void)x;                                                                                \
            (void)y;                                                                                \
            gxs[i] += gys[i] * (T)(derivative);                                                     \
        }                                                                                           \
    }

/* Broadcast loops: the equal-shape and scalar cases are flat loops the compiler
 * vectorises; the general case walks the 4-D padded output with per-input strides. */
#define BINARY_KERNELS(name, forward, d_da, d_db)                                                   \
    /* y[out] = f(a[broadcast], b[broadcast]) */                                                   \
    static void NB_KERNEL(name##_fwd)(const nb_bcast *bc, int64_t n, const T *restrict as,          \
                                      const T *restrict bs, T *restrict ys)                         \
    {                                                                                               \
        if (n == 1) { /* scalar models (the tutorials) spend their time here */                     \
            T a = as[0], b = bs[0];                                                                 \
            ys[0] = (T)(forward);                                                                   \
            return;                                                                                 \
        }                                                                                           \
        switch (bc->kind) {                                                                         \
        case NB_BCAST_SAME:                                                                         \
            for (int64_t i = 0; i < n; i++) {                                                       \
                T a = as[i], b = bs[i];                                                             \
                ys[i] = (T)(forward);                                                               \
            }                                                                                       \
            break;                                                                                  \
        case NB_BCAST_A_SCALAR: {                                                                   \
            const T a = as[0];                                                                      \
            for (int64_t i = 0; i < n; i++) {                                                       \
                T b = bs[i];                                                                        \
                ys[i] = (T)(forward);                                                               \
            }                                                                                       \
            break;                                                                                  \
        }                                                                                           \
        case NB_BCAST_B_SCALAR: {                                                                   \
            const T b = bs[0];                                                                      \
            for (int64_t i = 0; i < n; i++) {                                                       \
                T a = as[i];                                                                        \
                ys[i] = (T)(forward);                                                               \
            }                                                                                       \
            break;                                                                                  \
        }                                                                                           \
        case NB_BCAST_GENERAL: {                                                                    \
            const int64_t *o = bc->out, *sa = bc->stride_a, *sb = bc->stride_b;                     \
            int64_t at = 0;                                                                         \
            for (int64_t i0 = 0; i0 < o[0]; i0++)                                                   \
                for (int64_t i1 = 0; i1 < o[1]; i1++)                                               \
                    for (int64_t i2 = 0; i2 < o[2]; i2++) {                                         \
                        const T *ap = as + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];                    \
                        const T *bp = bs + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];                    \
                        for (int64_t i3 = 0; i3 < o[3]; i3++) {                                     \
                            T a = ap[i3 * sa[3]], b = bp[i3 * sb[3]];                               \
                            ys[at++] = (T)(forward);                                                \
                        }                                                                           \
                    }                                                                               \
            break;                                                                                  \
        }                                                                                           \
        }                                                                                           \
    }                                                                                               \
    /* ga[broadcast] += gy * dy/da, gb[broadcast] += gy * dy/db (either may be NULL) */             \
    static void NB_KERNEL(name##_bwd)(const nb_bcast *bc, int64_t n, const T *restrict as,          \
                                      const T *restrict bs, const T *restrict ys, const T *restrict gys, \
                                      T *gas, T *gbs) /* may alias: x * x */                             \
    {                                                                                               \
        const int64_t *o = bc->out, *sa = bc->stride_a, *sb = bc->stride_b;                         \
        int64_t at = 0;                                                                             \
        if (bc->kind == NB_BCAST_SAME || n == 1) {                                                  \
            for (int64_t i = 0; i < n; i++) {                                                       \
                T a = as[i], b = bs[i], y = ys[i];                                                  \
                (void)a, (void)b, (void)y;                                                          \
                if (gas)                                                                            \
                    gas[i] += gys[i] * (T)(d_da);                                                   \
                if (gbs)                                                                            \
                    gbs[i] += gys[i] * (T)(d_db);                                                   \
            }                                                                                       \
            return;                                                                                 \
        }                                                                                           \
        for (int64_t i0 = 0; i0 < o[0]; i0++)                                                       \
            for (int64_t i1 = 0; i1 < o[1]; i1++)                                                   \
                for (int64_t i2 = 0; i2 < o[2]; i2++) {                                             \
                    int64_t a0 = i0 * sa[0] + i1 * sa[1] + i2 * sa[2];                              \
                    int64_t b0 = i0 * sb[0] + i1 * sb[1] + i2 * sb[2];                              \
                    for (int64_t i3 = 0; i3 < o[3]; i3++, at++) {                                   \
                        T a = as[a0 + i3 * sa[3]], b = bs[b0 + i3 * sb[3]], y = ys[at];             \
                        (void)a, (void)b, (void)y;                                                  \
                        if (gas)                                                                    \
                            gas[a0 + i3 * sa[3]] += gys[at] * (T)(d_da);                            \
                        if (gbs)                                                                    \
                            gbs[b0 + i3 * sb[3]] += gys[at] * (T)(d_db);                            \
                    }                                                                               \
                }                                                                                   \
    }

#define T float
#define SFX f32
NB_UNARY_OPS(UNARY_KERNELS)
NB_BINARY_OPS(BINARY_KERNELS)
#undef T
#undef SFX
#define T double
#define SFX f64
NB_UNARY_OPS(UNARY_KERNELS)
NB_BINARY_OPS(BINARY_KERNELS)
#undef T
#undef SFX

/* ---- op definitions ------------------------------------------------------------------ */

static nb_status same_shape(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value;
    nb_set_shape(&node->value, x->ndim, x->shape);
    return NB_OK;
}

static void *grad_of(nb_node *input) { return input->requires_grad ? input->grad.data : NULL; }

#define UNARY_OP(name, forward, derivative)                                                          \
    static nb_status name##_forward(nb_node *node)                                                   \
    {                                                                                                \
        const nb_tensor *x = &node->inputs[0]->value;                                                \
        if (node->graph->dtype == NB_F64)                                                            \
            name##_fwd_f64(x->size, x->data, node->value.data, node->attr.scalar);                   \
        else                                                                                         \
            name##_fwd_f32(x->size, x->data, node->value.data, (float)node->attr.scalar);            \
        return NB_OK;                                                                                \
    }                                                                                                \
    static void name##_backward(nb_node *node)                                                       \
    {                                                                                                \
        nb_node *in = node->inputs[0];                                                               \
        if (!in->requires_grad)                                                                      \
            return;                                                                                  \
        if (node->graph->dtype == NB_F64)                                                            \
            name##_bwd_f64(in->value.size, in->value.data, node->value.data, node->grad.data,         \
                           in->grad.data, node->attr.scalar);                                        \
        else                                                                                         \
            name##_bwd_f32(in->value.size, in->value.data, node->value.data, node->grad.data,         \
                           in->grad.data, (float)node->attr.scalar);                                 \
    }                                                                                                \
    static const nb_opdef name##_op = {#name, same_shape, name##_forward, name##_backward, false};

NB_UNARY_OPS(UNARY_OP)

static nb_status broadcast_shape(nb_node *node)
{
    return nb_broadcast_plan(node->op->name, &node->inputs[0]->value, &node->inputs[1]->value, &node->bcast,
                             &node->value);
}

#define BINARY_OP(name, forward, d_da, d_db)                                                         \
    static nb_status name##_forward(nb_node *node)                                                   \
    {                                                                                                \
        const nb_tensor *a = &node->inputs[0]->value, *b = &node->inputs[1]->value;                  \
        if (node->graph->dtype == NB_F64)                                                            \
            name##_fwd_f64(&node->bcast, node->value.size, a->data, b->data, node->value.data);      \
        else                                                                                         \
            name##_fwd_f32(&node->bcast, node->value.size, a->data, b->data, node->value.data);      \
        return NB_OK;                                                                                \
    }                                                                                                \
    static void name##_backward(nb_node *node)                                                       \
    {                                                                                                \
        nb_node *a = node->inputs[0], *b = node->inputs[1];                                          \
        if (node->graph->dtype == NB_F64)                                                            \
            name##_bwd_f64(&node->bcast, node->value.size, a->value.data, b->value.data,              \
                           node->value.data, node->grad.data, grad_of(a), grad_of(b));               \
        else                                                                                         \
            name##_bwd_f32(&node->bcast, node->value.size, a->value.data, b->value.data,              \
                           node->value.data, node->grad.data, grad_of(a), grad_of(b));               \
    }                                                                                                \
    static const nb_opdef name##_op = {#name, broadcast_shape, name##_forward, name##_backward, false};

NB_BINARY_OPS(BINARY_OP)

nb_status nb_broadcast_plan(const char *op_name, const nb_tensor *a, const nb_tensor *b, nb_bcast *plan,
                            nb_tensor *out)
{
    int ndim = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t da[NB_MAX_DIMS], db[NB_MAX_DIMS];
    /* Left-pad both shapes with ones to 4 dims, numpy style. */
    for (int d = 0; d < NB_MAX_DIMS; d++) {
        int ia = d - (NB_MAX_DIMS - a->ndim), ib = d - (NB_MAX_DIMS - b->ndim);
        da[d] = ia >= 0 ? a->shape[ia] : 1;
        db[d] = ib >= 0 ? b->shape[ib] : 1;
    }
    int64_t out_shape[NB_MAX_DIMS];
    for (int d = 0; d < NB_MAX_DIMS; d++) {
        if (da[d] != db[d] && da[d] != 1 && db[d] != 1) {
            char sa[96], sb[96];
            return nb_fail(NB_ESHAPE, "%s: shapes %s and %s do not broadcast (dimension %d: %lld vs %lld)", op_name,
                           nb_shape_str(a->ndim, a->shape, sa, sizeof sa),
                           nb_shape_str(b->ndim, b->shape, sb, sizeof sb), d - (NB_MAX_DIMS - ndim),
                           (long long)da[d], (long long)db[d]);
        }
        plan->out[d] = da[d] == 1 ? db[d] : da[d];
    }
    int64_t stride_a = 1, stride_b = 1;
    for (int d = NB_MAX_DIMS - 1; d >= 0; d--) {
        plan->stride_a[d] = da[d] == 1 ? 0 : stride_a;
        plan->stride_b[d] = db[d] == 1 ? 0 : stride_b;
        stride_a *= da[d];
        stride_b *= db[d];
    }
    for (int d = 0; d < ndim; d++)
        out_shape[d] = plan->out[NB_MAX_DIMS - ndim + d];
    nb_set_shape(out, ndim, out_shape);
    if (nb_shape_equal(a->ndim, a->shape, b->ndim, b->shape))
        plan->kind = NB_BCAST_SAME;
    else if (a->size == 1)
        plan->kind = NB_BCAST_A_SCALAR;
    else if (b->size == 1)
        plan->kind = NB_BCAST_B_SCALAR;
    else
        plan->kind = NB_BCAST_GENERAL;
    /* The scalar backward loops below assume the other operand spans the output. */
    if ((plan->kind == NB_BCAST_A_SCALAR && b->size != out->size) ||
        (plan->kind == NB_BCAST_B_SCALAR && a->size != out->size))
        plan->kind = NB_BCAST_GENERAL;
    return NB_OK;
}

/* ---- builders ---------------------------------------------------------------------- */

static nb_node *unary(const nb_opdef *op, nb_node *x, double attribute)
{
    nb_attr attr = {.scalar = attribute};
    return nb_op_node(op, 1, &x, &attr);
}

static nb_node *binary(const nb_opdef *op, nb_node *a, nb_node *b)
{
    nb_node *inputs[2] = {a, b};
    return nb_op_node(op, 2, inputs, NULL);
}

nb_node *nb_add(nb_node *a, nb_node *b) { return binary(&add_op, a, b); }
nb_node *nb_sub(nb_node *a, nb_node *b) { return binary(&sub_op, a, b); }
nb_node *nb_mul(nb_node *a, nb_node *b) { return binary(&mul_op, a, b); }
nb_node *nb_div(nb_node *a, nb_node *b) { return binary(&div_op, a, b); }
nb_node *nb_pow(nb_node *a, nb_node *b) { return binary(&pow_op, a, b); }
nb_node *nb_atan2(nb_node *a, nb_node *b) { return binary(&atan2_op, a, b); }
nb_node *nb_minimum(nb_node *a, nb_node *b) { return binary(&minimum_op, a, b); }
nb_node *nb_maximum(nb_node *a, nb_node *b) { return binary(&maximum_op, a, b); }

nb_node *nb_neg(nb_node *x) { return unary(&neg_op, x, 0); }
nb_node *nb_scale(nb_node *x, double factor) { return unary(&scale_op, x, factor); }
nb_node *nb_shift(nb_node *x, double offset) { return unary(&shift_op, x, offset); }
nb_node *nb_pow_scalar(nb_node *x, double power) { return unary(&pow_scalar_op, x, power); }
nb_node *nb_exp(nb_node *x) { return unary(&exp_op, x, 0); }
nb_node *nb_log(nb_node *x) { return unary(&log_op, x, 0); }
nb_node *nb_log10(nb_node *x) { return unary(&log10_op, x, 0); }
nb_node *nb_sqrt(nb_node *x) { return unary(&sqrt_op, x, 0); }
nb_node *nb_abs(nb_node *x) { return unary(&abs_op, x, 0); }
nb_node *nb_sin(nb_node *x) { return unary(&sin_op, x, 0); }
nb_node *nb_cos(nb_node *x) { return unary(&cos_op, x, 0); }
nb_node *nb_tan(nb_node *x) { return unary(&tan_op, x, 0); }
nb_node *nb_asin(nb_node *x) { return unary(&asin_op, x, 0); }
nb_node *nb_acos(nb_node *x) { return unary(&acos_op, x, 0); }
nb_node *nb_atan(nb_node *x) { return unary(&atan_op, x, 0); }
nb_node *nb_sinh(nb_node *x) { return unary(&sinh_op, x, 0); }
nb_node *nb_cosh(nb_node *x) { return unary(&cosh_op, x, 0); }
nb_node *nb_tanh(nb_node *x) { return unary(&tanh_op, x, 0); }
nb_node *nb_sigmoid(nb_node *x) { return unary(&sigmoid_op, x, 0); }
nb_node *nb_relu(nb_node *x) { return unary(&relu_op, x, 0); }
nb_node *nb_leaky_relu(nb_node *x, double slope) { return unary(&leaky_relu_op, x, slope); }
nb_node *nb_softplus(nb_node *x) { return unary(&softplus_op, x, 0); }
