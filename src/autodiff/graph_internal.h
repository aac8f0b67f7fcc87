/* The graph's private layout, shared by graph.c and the ops_*.c files.
 *
 * A node knows its op, its inputs, its value and its gradient; an op knows how to infer
 * its output shape, compute its value, and push its gradient back to its inputs. */
#ifndef NABLA_GRAPH_INTERNAL_H
#define NABLA_GRAPH_INTERNAL_H

#include "autodiff/autodiff.h"

#define NB_MAX_INPUTS 3

typedef enum nb_node_kind { NB_NODE_INPUT, NB_NODE_PARAM, NB_NODE_CONST, NB_NODE_OP } nb_node_kind;

/* How a binary op lines up its operands, decided at shape inference. */
typedef enum nb_bcast_kind {
    NB_BCAST_SAME,     /* equal shapes: one flat loop */
    NB_BCAST_A_SCALAR, /* a has one element */
    NB_BCAST_B_SCALAR, /* b has one element */
    NB_BCAST_GENERAL   /* strided loops over the 4-D padded output */
} nb_bcast_kind;

typedef struct nb_bcast {
    nb_bcast_kind kind;
    int64_t out[NB_MAX_DIMS];      /* output shape, left-padded to 4 dims */
    int64_t stride_a[NB_MAX_DIMS]; /* element strides in a (0 where broadcast) */
    int64_t stride_b[NB_MAX_DIMS];
} nb_bcast;

/* Attributes of an op beyond its inputs. */
typedef union nb_attr {
    double scalar;                                  /* scale, shift, pow_scalar, leaky_relu */
    struct { bool trans_a, trans_b; } matmul;
    struct { int axis; bool keepdim; } axis;        /* reductions, softmax */
    struct { int ndim; int64_t shape[NB_MAX_DIMS]; } reshape;
    int64_t n_classes;                              /* one_hot */
    int64_t column;                                 /* column */
    int activation;                                 /* linear: an nb_activation */
    struct { int stride, pad; bool relu; } conv;    /* conv2d */
    struct { int kernel, stride, pad; } pool;       /* max_pool2d, avg_pool2d */
    struct { double p; uint64_t seed; } dropout;
    /* batch_norm: the running statistics are parameters kept out of training */
    struct { double momentum, eps; nb_node *mean, *var; } norm;
} nb_attr;

typedef struct nb_opdef {
    const char *name;
    /* Infer node->value's shape from the inputs (and attributes); may also set
     * node->aux_bytes. Returns a status with a message naming the shapes. */
    nb_status (*shape)(nb_node *node);
    /* value = f(inputs). May fail only on data it cannot accept (a label out of range). */
    nb_status (*forward)(nb_node *node);
    /* inputs' grads += vector-Jacobian product of node->grad; only into inputs whose
     * requires_grad is set. */
    void (*backward)(nb_node *node);
    /* Backward asks nb_grad_fresh(input) before it writes an input's gradient and, when
     * true, stores its product there instead of adding it (a matrix product with beta
     * 0). Ops without it get their inputs' gradients zeroed before their backward. */
    bool writes_fresh_grads;
} nb_opdef;

struct nb_node {
    nb_graph *graph;
    nb_node_kind kind;
    const nb_opdef *op; /* NULL for leaves */
    int index;          /* position in the graph: creation order is topological order */
    int n_inputs;
    nb_node *inputs[NB_MAX_INPUTS];
    nb_tensor value;
    nb_tensor grad; /* grad.data is NULL when the node needs no gradient */
    bool requires_grad;
    /* grad holds no value and stands for zeros: the first op to write it stores instead
     * of adding, and anything else that reads it zeroes it first (nb_grad_settle). Op
     * nodes start every backward pass so; parameters after nb_grads_mark_zero, until
     * the end of the next backward, which writes the zeros of those it did not reach.
     * Spares the passes that would write zeros only to have them added to. */
    bool grad_unset;
    char *name;

    nb_attr attr;   /* op attributes */
    nb_bcast bcast; /* binary ops */

    /* Storage bookkeeping. For op nodes value/grad live in the graph's arenas; inputs
     * own their buffers; parameters point into the flat parameter buffers. */
    int64_t value_capacity; /* elements the current storage can hold */
    int64_t grad_capacity;
    size_t aux_bytes;       /* scratch an op keeps between forward and backward */
    size_t aux_capacity;
    void *aux;
    bool bound;             /* input reading caller memory */
    int64_t param_offset;   /* parameters: offset into the flat buffers */

    /* Plan cache: the op nodes this node depends on, in order. Built on first use. */
    int *plan;
    int n_plan;
    uint64_t shape_stamp;   /* graph stamp at the last shape inference */
    uint64_t forwarded_at;  /* graph epoch of this node's last evaluation */
    uint64_t prepared_stamp; /* as a target: shapes and storage checked at this stamp */
    uint64_t prepared_epoch; /* ... and this epoch */
};

struct nb_graph {
    nb_dtype dtype;
    nb_node **nodes;
    int n_nodes;
    int nodes_capacity;

    /* The parameter nodes in creation order, and all their values and gradients, each
     * one flat array in that order. */
    nb_node **params;
    int n_params;
    int params_capacity;
    void *param_values;
    void *param_grads;
    int64_t n_param_values;
    int64_t param_capacity;

    /* Transient storage of op nodes: values + aux, and gradients. */
    void *value_arena;
    size_t value_arena_size;
    void *grad_arena;
    size_t grad_arena_size;

    uint64_t shape_stamp; /* bumped whenever an input's shape changes */
    uint64_t epoch;       /* bumped when shapes or storage change: old values are gone */
    int n_input_grads;    /* inputs that require a gradient (zero_grad skips the scan if none) */
    bool grads_marked;    /* the last backward marked op gradients unset instead of zeroing them */
    bool params_marked;   /* parameter gradients were marked unset (nb_grads_mark_zero) */
    bool training;        /* dropout drops and batch norm uses batch statistics (nb_graph_set_training) */
    /* Bumped when gradients are zeroed (a training step ends): dropout draws its mask
     * from (seed, noise_step), so a step's forward and backward share one mask, and a
     * gradient check, which zeroes once, sees the same mask in every forward. */
    uint64_t noise_step;
};

/* For an op's backward about to write into input's gradient: true when that gradient
 * holds nothing yet in this backward pass (store, do not add), and from then on false.
 * Parameters' and inputs' gradients accumulate across passes: for them it is true only
 * after nb_grads_mark_zero (nb_optim_step_zero_grad), until the next backward ends. */
bool nb_grad_fresh(nb_node *input);
/* Write the zeros an unset gradient stands for (see grad_unset), before reading it.
 * Inline: backward asks it of every input of every elementwise op, and scalar models
 * (the tutorials) must not pay a call for each. */
void nb_grad_zero_unset(nb_node *node);
static inline void nb_grad_settle(nb_node *node)
{
    if (node->grad_unset)
        nb_grad_zero_unset(node);
}
/* The same for every parameter of the graph. */
void nb_grads_settle(nb_graph *graph);

/* Create an op node with the given inputs (already checked non-NULL and of one graph)
 * and run its shape inference. On failure nothing is left behind. */
nb_node *nb_op_node(const nb_opdef *op, int n_inputs, nb_node *const *inputs, const nb_attr *attr);
/* Labels are data an op indexes with: every one a whole number in [0, n_classes), checked
 * before any row is computed; else NB_EARG naming the op, the label and its row. */
nb_status nb_check_labels(const char *op_name, const nb_tensor *labels, int64_t n_classes);

/* Shape helpers for ops. */
void nb_set_shape(nb_tensor *t, int ndim, const int64_t *shape);
nb_status nb_broadcast_plan(const char *op_name, const nb_tensor *a, const nb_tensor *b, nb_bcast *plan,
                            nb_tensor *out);

#endif
