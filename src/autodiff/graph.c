/* The autodiff engine: nodes, plans (topological order), forward, backward, storage.
 *
 * Nodes are created in topological order (an op's inputs exist before it), so a plan
 * is just the sorted list of op nodes a target depends on. Op values and gradients live
 * in two arenas that grow only when a shape grows past every earlier one; parameters
 * live in two flat buffers; inputs own (or borrow) their data. */
#include "autodiff/graph_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NB_ALIGN 64
/* Below this many bytes of op gradients, backward zeroes them all at once. */
#define NB_SMALL_GRADS 4096

static size_t align_up(size_t n) { return (n + NB_ALIGN - 1) & ~(size_t)(NB_ALIGN - 1); }

nb_graph *nb_graph_new(nb_dtype dtype)
{
    if (dtype != NB_F32 && dtype != NB_F64) {
        nb_fail(NB_EDTYPE, "nb_graph_new: unknown dtype %d", (int)dtype);
        return NULL;
    }
    nb_graph *graph = nb_calloc(1, sizeof *graph);
    if (!graph) {
        nb_fail(NB_ENOMEM, "nb_graph_new: out of memory");
        return NULL;
    }
    graph->dtype = dtype;
    graph->shape_stamp = 1;
    graph->epoch = 1;
    return graph;
}

static void node_free(nb_node *node)
{
    if (!node)
        return;
    if (node->kind == NB_NODE_INPUT || node->kind == NB_NODE_CONST) {
        nb_free(node->aux); /* the input's own storage */
        nb_free(node->grad.data);
    }
    nb_free(node->plan);
    nb_free(node->name);
    nb_free(node);
}

void nb_graph_free(nb_graph *graph)
{
    if (!graph)
        return;
    for (int i = 0; i < graph->n_nodes; i++)
        node_free(graph->nodes[i]);
    nb_free(graph->nodes);
    nb_free(graph->params);
    nb_free(graph->param_values);
    nb_free(graph->param_grads);
    nb_free(graph->value_arena);
    nb_free(graph->grad_arena);
    nb_free(graph);
}

nb_dtype nb_graph_dtype(const nb_graph *graph) { return graph->dtype; }
int nb_graph_size(const nb_graph *graph) { return graph->n_nodes; }

void nb_graph_set_training(nb_graph *graph, bool training)
{
    if (graph)
        graph->training = training;
}

bool nb_graph_training(const nb_graph *graph) { return graph && graph->training; }

void nb_set_shape(nb_tensor *t, int ndim, const int64_t *shape)
{
    t->ndim = ndim;
    t->size = 1;
    for (int d = 0; d < ndim; d++) {
        t->shape[d] = shape[d];
        t->size *= shape[d];
    }
    for (int d = ndim; d < NB_MAX_DIMS; d++)
        t->shape[d] = 0;
}

/* Make room for one more node, then append it. */
static nb_status graph_append(nb_graph *graph, nb_node *node)
{
    if (graph->n_nodes == graph->nodes_capacity) {
        int capacity = graph->nodes_capacity ? 2 * graph->nodes_capacity : 32;
        nb_node **nodes = nb_realloc(graph->nodes, (size_t)capacity * sizeof *nodes);
        if (!nodes)
            return nb_fail(NB_ENOMEM, "out of memory growing the graph to %d nodes", capacity);
        graph->nodes = nodes;
        graph->nodes_capacity = capacity;
    }
    node->index = graph->n_nodes;
    graph->nodes[graph->n_nodes++] = node;
    return NB_OK;
}

/* A leaf with a validated shape and a copied name; not yet in the graph. */
static nb_node *leaf_new(nb_graph *graph, nb_node_kind kind, const char *name, int ndim, const int64_t *shape,
                         const char *what)
{
    if (!graph) {
        nb_fail(NB_EARG, "%s: graph is NULL", what);
        return nb_builder_failed();
    }
    if (ndim < 0 || ndim > NB_MAX_DIMS || (ndim > 0 && !shape)) {
        nb_fail(NB_EARG, "%s '%s': ndim must be 0..%d with a shape, got %d", what, name ? name : "", NB_MAX_DIMS,
                ndim);
        return nb_builder_failed();
    }
    int64_t size = nb_shape_size(ndim, shape);
    if (size < 0) {
        char buf[96];
        nb_fail(NB_ESHAPE, "%s '%s': invalid shape %s", what, name ? name : "",
                nb_shape_str(ndim, shape, buf, sizeof buf));
        return nb_builder_failed();
    }
    nb_node *node = nb_calloc(1, sizeof *node);
    if (!node) {
        nb_fail(NB_ENOMEM, "%s: out of memory", what);
        return nb_builder_failed();
    }
    node->graph = graph;
    node->kind = kind;
    node->value.dtype = graph->dtype;
    node->grad.dtype = graph->dtype;
    nb_set_shape(&node->value, ndim, shape);
    nb_set_shape(&node->grad, ndim, shape);
    node->shape_stamp = graph->shape_stamp;
    if (name) {
        node->name = nb_strdup(name);
        if (!node->name) {
            nb_free(node);
            nb_fail(NB_ENOMEM, "%s: out of memory", what);
            return nb_builder_failed();
        }
    }
    return node;
}

/* Inputs and constants keep their data in node->aux, which binding may bypass. */
static nb_node *owned_leaf(nb_graph *graph, nb_node_kind kind, const char *name, int ndim, const int64_t *shape,
                           const double *values, const char *what)
{
    nb_node *node = leaf_new(graph, kind, name, ndim, shape, what);
    if (!node)
        return nb_builder_failed();
    node->aux = nb_calloc((size_t)node->value.size, nb_dtype_size(graph->dtype));
    if (!node->aux || graph_append(graph, node) != NB_OK) {
        node_free(node);
        nb_fail(NB_ENOMEM, "%s '%s': out of memory", what, name ? name : "");
        return nb_builder_failed();
    }
    node->value.data = node->aux;
    node->value_capacity = node->value.size;
    if (values)
        nb_tensor_from_doubles(&node->value, values);
    return node;
}

nb_node *nb_input(nb_graph *graph, const char *name, int ndim, const int64_t *shape)
{
    return owned_leaf(graph, NB_NODE_INPUT, name ? name : "input", ndim, shape, NULL, "nb_input");
}

nb_node *nb_const(nb_graph *graph, int ndim, const int64_t *shape, const double *values)
{
    return owned_leaf(graph, NB_NODE_CONST, "const", ndim, shape, values, "nb_const");
}

nb_node *nb_scalar(nb_graph *graph, double value) { return nb_const(graph, 0, NULL, &value); }

/* Parameters point into the flat buffers; when those move, every parameter follows. */
static void params_repoint(nb_graph *graph)
{
    size_t elem = nb_dtype_size(graph->dtype);
    for (int i = 0; i < graph->n_params; i++) {
        nb_node *node = graph->params[i];
        node->value.data = (char *)graph->param_values + (size_t)node->param_offset * elem;
        node->grad.data = (char *)graph->param_grads + (size_t)node->param_offset * elem;
    }
}

/* Room for `more` values after the graph's n_param_values. */
static nb_status params_reserve(nb_graph *graph, int64_t more)
{
    /* the doubling below must stay within size_t bytes */
    int64_t limit = (int64_t)(SIZE_MAX / nb_dtype_size(graph->dtype) / 2 < INT64_MAX
                                  ? SIZE_MAX / nb_dtype_size(graph->dtype) / 2
                                  : INT64_MAX);
    if (more > limit - graph->n_param_values)
        return nb_fail(NB_ENOMEM, "%lld more parameter values would have more bytes than memory can address",
                       (long long)more);
    int64_t needed = graph->n_param_values + more;
    if (needed <= graph->param_capacity)
        return NB_OK;
    int64_t capacity = graph->param_capacity ? graph->param_capacity : 64;
    while (capacity < needed)
        capacity *= 2;
    size_t bytes = (size_t)capacity * nb_dtype_size(graph->dtype);
    void *values = nb_realloc(graph->param_values, bytes);
    if (!values)
        return nb_fail(NB_ENOMEM, "out of memory growing the parameters to %lld values", (long long)capacity);
    graph->param_values = values;
    void *grads = nb_realloc(graph->param_grads, bytes);
    if (!grads) {
        params_repoint(graph);
        return nb_fail(NB_ENOMEM, "out of memory growing the gradients to %lld values", (long long)capacity);
    }
    graph->param_grads = grads;
    graph->param_capacity = capacity;
    params_repoint(graph);
    return NB_OK;
}

/* Room in the list of parameter nodes for one more. */
static nb_status params_list_reserve(nb_graph *graph)
{
    if (graph->n_params < graph->params_capacity)
        return NB_OK;
    int capacity = graph->params_capacity ? 2 * graph->params_capacity : 8;
    nb_node **params = nb_realloc(graph->params, (size_t)capacity * sizeof *params);
    if (!params)
        return nb_fail(NB_ENOMEM, "out of memory growing the list of parameters to %d", capacity);
    graph->params = params;
    graph->params_capacity = capacity;
    return NB_OK;
}

nb_node *nb_param(nb_graph *graph, const char *name, int ndim, const int64_t *shape)
{
    nb_node *node = leaf_new(graph, NB_NODE_PARAM, name ? name : "param", ndim, shape, "nb_param");
    if (!node)
        return nb_builder_failed();
    int64_t size = node->value.size;
    if (params_list_reserve(graph) != NB_OK || params_reserve(graph, size) != NB_OK ||
        graph_append(graph, node) != NB_OK) {
        nb_error_prefix("nb_param '%s'", node->name);
        node_free(node);
        return nb_builder_failed();
    }
    graph->params[graph->n_params++] = node;
    node->requires_grad = true;
    node->param_offset = graph->n_param_values;
    graph->n_param_values += size;
    params_repoint(graph);
    size_t bytes = (size_t)size * nb_dtype_size(graph->dtype);
    memset(node->value.data, 0, bytes);
    memset(node->grad.data, 0, bytes);
    node->value_capacity = node->grad_capacity = size;
    return node;
}

/* ---- inputs ---------------------------------------------------------------------- */

static bool is_input(const nb_node *node, const char *what)
{
    if (!node) {
        nb_fail_null(what, "the input node");
        return false;
    }
    if (node->kind != NB_NODE_INPUT) {
        nb_fail(NB_EARG, "%s: '%s' is a %s, not an input", what, nb_node_name(node), nb_node_op(node));
        return false;
    }
    return true;
}

static nb_status input_set_batch(nb_node *input, int64_t batch, bool need_storage, const char *what)
{
    if (input->value.ndim == 0)
        return nb_fail(NB_ESHAPE, "%s: input '%s' is a scalar and has no batch dimension", what, input->name);
    if (batch < 0)
        return nb_fail(NB_EARG, "%s: input '%s': negative batch %lld", what, input->name, (long long)batch);
    int64_t shape[NB_MAX_DIMS];
    memcpy(shape, input->value.shape, sizeof shape);
    shape[0] = batch;
    int64_t size = nb_shape_size(input->value.ndim, shape);
    if (size < 0)
        return nb_fail(NB_ESHAPE, "%s: input '%s': batch %lld overflows", what, input->name, (long long)batch);
    size_t elem = nb_dtype_size(input->graph->dtype);
    if ((uint64_t)size > SIZE_MAX / elem) {
        char buf[96];
        return nb_fail(NB_ENOMEM, "%s: input '%s' of shape %s has more bytes than memory can address", what,
                       input->name, nb_shape_str(input->value.ndim, shape, buf, sizeof buf));
    }
    /* Both allocations first, so that a failure of either leaves the input as it was. */
    bool grow_values = need_storage && size > input->value_capacity;
    bool grow_grad = input->requires_grad && size > input->grad_capacity;
    void *storage = grow_values ? nb_alloc((size_t)size * elem) : NULL;
    void *grad = grow_grad && (storage || !grow_values) ? nb_calloc((size_t)size, elem) : NULL;
    if ((grow_values && !storage) || (grow_grad && !grad)) {
        nb_free(storage);
        nb_free(grad);
        return nb_fail(NB_ENOMEM, "%s: out of memory for input '%s' of %lld values%s", what, input->name,
                       (long long)size, grow_grad ? " and their gradient" : "");
    }
    if (grow_values) {
        nb_free(input->aux);
        input->aux = storage;
        input->value_capacity = size;
    }
    if (grow_grad) {
        nb_free(input->grad.data);
        input->grad.data = grad;
        input->grad_capacity = size;
    }
    if (need_storage) {
        input->value.data = input->aux;
        input->bound = false;
    }
    if (shape[0] != input->value.shape[0]) {
        nb_set_shape(&input->value, input->value.ndim, shape);
        nb_set_shape(&input->grad, input->value.ndim, shape);
        input->graph->shape_stamp++;
        input->graph->epoch++;
    }
    return NB_OK;
}

nb_status nb_input_resize(nb_node *input, int64_t batch)
{
    if (!is_input(input, "nb_input_resize"))
        return nb_errcode();
    return input_set_batch(input, batch, true, "nb_input_resize");
}

/* rows must be the input's shape but for the leading (batch) dimension. */
static nb_status check_rows(const nb_node *input, const nb_tensor *rows)
{
    bool fits = rows->ndim == input->value.ndim && rows->ndim > 0;
    for (int d = 1; fits && d < rows->ndim; d++)
        fits = rows->shape[d] == input->value.shape[d];
    if (fits)
        return NB_OK;
    char have[96], want[96];
    nb_shape_str(rows->ndim, rows->shape, have, sizeof have);
    nb_shape_str(input->value.ndim, input->value.shape, want, sizeof want);
    return nb_fail(NB_ESHAPE, "nb_input_set: rows of shape %s do not fit input '%s' of shape %s (only the first "
                              "dimension, the batch, may differ)", have, input->name, want);
}

nb_status nb_input_set(nb_node *input, const nb_tensor *rows)
{
    if (!is_input(input, "nb_input_set"))
        return nb_errcode();
    if (!rows)
        return nb_fail(NB_EARG, "nb_input_set: the rows for '%s' are NULL", input->name);
    nb_status status = check_rows(input, rows);
    if (status == NB_OK)
        status = input_set_batch(input, rows->shape[0], true, "nb_input_set");
    if (status != NB_OK)
        return status;
    if (rows->dtype == input->graph->dtype)
        memcpy(input->value.data, rows->data, (size_t)rows->size * nb_dtype_size(rows->dtype));
    else
        for (int64_t i = 0; i < rows->size; i++)
            nb_tensor_set(&input->value, i, nb_tensor_get(rows, i));
    return NB_OK;
}

nb_status nb_input_set_doubles(nb_node *input, const double *values, int64_t batch)
{
    if (!is_input(input, "nb_input_set_doubles"))
        return nb_errcode();
    if (!values)
        return nb_fail(NB_EARG, "nb_input_set_doubles: values for '%s' is NULL", input->name);
    nb_status status = input_set_batch(input, batch, true, "nb_input_set_doubles");
    if (status == NB_OK)
        nb_tensor_from_doubles(&input->value, values);
    return status;
}

nb_status nb_input_bind(nb_node *input, nb_dtype dtype, void *data, int64_t batch)
{
    if (!is_input(input, "nb_input_bind"))
        return nb_errcode();
    if (!data)
        return nb_fail(NB_EARG, "nb_input_bind: data for '%s' is NULL", input->name);
    if (dtype != input->graph->dtype)
        return nb_fail(NB_EDTYPE, "nb_input_bind: the data are %s and input '%s' is %s; a binding cannot convert "
                                  "(nb_input_set copies and converts)",
                       nb_dtype_name(dtype), input->name, nb_dtype_name(input->graph->dtype));
    nb_status status = input_set_batch(input, batch, false, "nb_input_bind");
    if (status == NB_OK) {
        input->value.data = data;
        input->bound = true;
    }
    return status;
}


/* requires_grad of an op is "any input requires it"; refresh after a leaf changes. */
static void propagate_requires_grad(nb_graph *graph)
{
    for (int i = 0; i < graph->n_nodes; i++) {
        nb_node *node = graph->nodes[i];
        if (node->kind != NB_NODE_OP)
            continue;
        bool requires = false;
        for (int k = 0; k < node->n_inputs; k++)
            requires |= node->inputs[k]->requires_grad;
        node->requires_grad = requires;
    }
    graph->epoch++;
}

nb_status nb_set_requires_grad(nb_node *node, bool requires_grad)
{
    if (!node)
        return nb_fail_null("nb_set_requires_grad", "the node");
    if (node->kind == NB_NODE_OP || node->kind == NB_NODE_CONST)
        return nb_fail(NB_EARG, "nb_set_requires_grad: '%s' is a %s; only inputs and parameters can be marked",
                       nb_node_name(node), nb_node_op(node));
    if (node->requires_grad == requires_grad)
        return NB_OK;
    if (node->kind == NB_NODE_INPUT && requires_grad && node->grad_capacity < node->value.size) {
        void *grad = nb_calloc((size_t)node->value.size, nb_dtype_size(node->graph->dtype));
        if (!grad)
            return nb_fail(NB_ENOMEM, "nb_set_requires_grad: out of memory for the gradient of '%s'", node->name);
        nb_free(node->grad.data);
        node->grad.data = grad;
        node->grad_capacity = node->value.size;
    }
    node->requires_grad = requires_grad;
    if (node->kind == NB_NODE_INPUT)
        node->graph->n_input_grads += requires_grad ? 1 : -1;
    propagate_requires_grad(node->graph);
    return NB_OK;
}

/* ---- node access ----------------------------------------------------------------- */

nb_tensor *nb_value(nb_node *node)
{
    if (!node)
        return nb_fail_null("nb_value", "the node"), NULL;
    return &node->value;
}
/* An op node's gradient that no op wrote in the last backward is zeros, and so is a
 * parameter's after nb_optim_step_zero_grad until a backward writes it. */
void nb_grad_zero_unset(nb_node *node)
{
    size_t bytes = (size_t)node->grad.size * (node->graph->dtype == NB_F64 ? sizeof(double) : sizeof(float));
    if (bytes <= sizeof(double)) /* one scalar: no call into memset */
        node->graph->dtype == NB_F64 ? (void)(*(double *)node->grad.data = 0) : (void)(*(float *)node->grad.data = 0);
    else
        memset(node->grad.data, 0, bytes);
    node->grad_unset = false;
}

void nb_grads_settle(nb_graph *graph)
{
    if (!graph->params_marked)
        return;
    for (int i = 0; i < graph->n_params; i++)
        nb_grad_settle(graph->params[i]);
    graph->params_marked = false;
}

void nb_grads_mark_zero(nb_graph *graph)
{
    for (int i = 0; i < graph->n_params; i++)
        if (graph->params[i]->requires_grad)
            graph->params[i]->grad_unset = true;
    graph->params_marked = true;
    graph->noise_step++;
}

bool nb_grad_fresh(nb_node *input)
{
    bool fresh = input->grad_unset;
    input->grad_unset = false;
    return fresh;
}

nb_tensor *nb_grad(nb_node *node)
{
    if (!node)
        return nb_fail_null("nb_grad", "the node"), NULL;
    if (!node->requires_grad || !node->grad.data)
        return NULL;
    nb_grad_settle(node);
    return &node->grad;
}
double nb_item(const nb_node *node)
{
    if (!node)
        return nb_fail_null("nb_item", "the node"), NAN;
    if (!node->value.data || node->value.size < 1)
        return nb_fail(NB_ESTATE, "nb_item: '%s' has no value yet; evaluate it with nb_forward first",
                       nb_node_name(node)), NAN;
    return nb_tensor_get(&node->value, 0);
}

nb_graph *nb_node_graph(const nb_node *node) { return node ? node->graph : NULL; }
bool nb_is_param(const nb_node *node) { return node && node->kind == NB_NODE_PARAM; }
bool nb_requires_grad(const nb_node *node) { return node && node->requires_grad; }

const char *nb_node_op(const nb_node *node)
{
    switch (node->kind) {
    case NB_NODE_INPUT: return "input";
    case NB_NODE_PARAM: return "param";
    case NB_NODE_CONST: return "const";
    case NB_NODE_OP: return node->op->name;
    }
    return "?";
}

const char *nb_node_name(const nb_node *node) { return node->name ? node->name : nb_node_op(node); }

int nb_param_count(const nb_graph *graph) { return graph->n_params; }

nb_node *nb_param_at(const nb_graph *graph, int index)
{
    if (index >= 0 && index < graph->n_params)
        return graph->params[index];
    nb_fail(NB_EARG, "nb_param_at: no parameter %d (the graph has %d parameters)", index, graph->n_params);
    return NULL;
}

int64_t nb_param_offset(const nb_node *param) { return param->param_offset; }

nb_node *nb_find(const nb_graph *graph, const char *name)
{
    for (int i = 0; i < graph->n_nodes; i++)
        if (graph->nodes[i]->name && strcmp(graph->nodes[i]->name, name) == 0)
            return graph->nodes[i];
    return NULL;
}

int64_t nb_n_params(const nb_graph *graph) { return graph->n_param_values; }
void *nb_params_data(nb_graph *graph) { return graph->param_values; }
/* Writes the zeros of marked gradients, so that the buffer returned holds every
 * gradient; a backward then leaves it so, until the next nb_optim_step_zero_grad. */
void *nb_grads_data(nb_graph *graph)
{
    nb_grads_settle(graph);
    return graph->param_grads;
}

/* ---- building ops ---------------------------------------------------------------- */

bool nb_inputs_ok(const char *op_name, int n_inputs, nb_node *const *inputs)
{
    for (int k = 0; k < n_inputs; k++) {
        if (!inputs[k]) {
            char what[32];
            snprintf(what, sizeof what, "input %d", k + 1);
            nb_fail_null(op_name, what);
            return false;
        }
        if (inputs[k]->graph != inputs[0]->graph) {
            nb_fail(NB_EARG, "%s: inputs '%s' and '%s' belong to different graphs", op_name,
                    nb_node_name(inputs[0]), nb_node_name(inputs[k]));
            return false;
        }
    }
    return true;
}

nb_node *nb_op_node(const nb_opdef *op, int n_inputs, nb_node *const *inputs, const nb_attr *attr)
{
    if (!nb_inputs_ok(op->name, n_inputs, inputs))
        return nb_builder_failed();
    nb_graph *graph = inputs[0]->graph;
    nb_node *node = nb_calloc(1, sizeof *node);
    if (!node) {
        nb_fail(NB_ENOMEM, "%s: out of memory", op->name);
        return nb_builder_failed();
    }
    node->graph = graph;
    node->kind = NB_NODE_OP;
    node->op = op;
    node->n_inputs = n_inputs;
    for (int k = 0; k < n_inputs; k++) {
        node->inputs[k] = inputs[k];
        node->requires_grad |= inputs[k]->requires_grad;
    }
    if (attr)
        node->attr = *attr;
    node->value.dtype = node->grad.dtype = graph->dtype;
    if (op->shape(node) != NB_OK || graph_append(graph, node) != NB_OK) {
        nb_free(node);
        return nb_builder_failed();
    }
    nb_set_shape(&node->grad, node->value.ndim, node->value.shape);
    node->shape_stamp = graph->shape_stamp;
    return node;
}

/* ---- plans and storage -------------------------------------------------------------- */

/* The op nodes `target` depends on, in creation (= topological) order. */
static nb_status build_plan(nb_node *target)
{
    nb_graph *graph = target->graph;
    int n = target->index + 1;
    bool *needed = nb_calloc((size_t)n, sizeof *needed);
    if (!needed)
        return nb_fail(NB_ENOMEM, "planning '%s': out of memory", nb_node_name(target));
    needed[target->index] = true;
    int count = 0;
    for (int i = n - 1; i >= 0; i--) {
        nb_node *node = graph->nodes[i];
        if (!needed[i] || node->kind != NB_NODE_OP)
            continue;
        count++;
        for (int k = 0; k < node->n_inputs; k++)
            needed[node->inputs[k]->index] = true;
    }
    int *plan = nb_alloc((size_t)(count ? count : 1) * sizeof *plan);
    if (!plan) {
        nb_free(needed);
        return nb_fail(NB_ENOMEM, "planning '%s': out of memory", nb_node_name(target));
    }
    int at = 0;
    for (int i = 0; i < n; i++)
        if (needed[i] && graph->nodes[i]->kind == NB_NODE_OP)
            plan[at++] = i;
    nb_free(needed);
    target->plan = plan;
    target->n_plan = count;
    return NB_OK;
}

/* total += align_up(count * size); false when that does not fit in a size_t (with the
 * slack grow_arenas adds for aligning the start). */
static bool arena_add(size_t *total, int64_t count, size_t size)
{
    const size_t limit = SIZE_MAX - 2 * NB_ALIGN;
    if (count < 0 || (size && (uint64_t)count > limit / size))
        return false;
    size_t bytes = align_up((size_t)count * size);
    if (bytes > limit - *total)
        return false;
    *total += bytes;
    return true;
}

/* Give every op node room for its current shape: the arenas are laid out again, each
 * node keeping the largest size it has ever needed, so that shrinking batches (the last
 * one of an epoch) and returning to the full batch allocate nothing. */
static nb_status grow_arenas(nb_graph *graph)
{
    size_t elem = nb_dtype_size(graph->dtype);
    size_t value_bytes = 0, grad_bytes = 0;
    for (int i = 0; i < graph->n_nodes; i++) {
        nb_node *node = graph->nodes[i];
        if (node->kind != NB_NODE_OP)
            continue;
        int64_t values = node->value.size > node->value_capacity ? node->value.size : node->value_capacity;
        size_t aux = node->aux_bytes > node->aux_capacity ? node->aux_bytes : node->aux_capacity;
        int64_t grads = !node->requires_grad ? 0
                        : node->value.size > node->grad_capacity ? node->value.size
                                                                 : node->grad_capacity;
        if (!arena_add(&value_bytes, values, elem) || !arena_add(&value_bytes, 1, aux) ||
            !arena_add(&grad_bytes, grads, elem)) {
            char buf[96];
            return nb_fail(NB_ENOMEM, "'%s' of shape %s: the graph's storage would need more bytes than memory "
                                      "can address",
                           nb_node_name(node), nb_shape_str(node->value.ndim, node->value.shape, buf, sizeof buf));
        }
    }
    char *values_new = nb_alloc(value_bytes + NB_ALIGN);
    char *grads_new = nb_alloc(grad_bytes + NB_ALIGN);
    if (!values_new || !grads_new) {
        nb_free(values_new);
        nb_free(grads_new);
        return nb_fail(NB_ENOMEM, "out of memory for %zu bytes of values and %zu of gradients", value_bytes,
                       grad_bytes);
    }
    nb_free(graph->value_arena);
    nb_free(graph->grad_arena);
    graph->value_arena = values_new;
    graph->grad_arena = grads_new;
    graph->value_arena_size = value_bytes;
    graph->grad_arena_size = grad_bytes;
    /* The allocator need not align to 64: round the start up inside the slack. */
    char *value_at = (char *)align_up((size_t)(uintptr_t)values_new);
    char *grad_at = (char *)align_up((size_t)(uintptr_t)grads_new);
    for (int i = 0; i < graph->n_nodes; i++) {
        nb_node *node = graph->nodes[i];
        if (node->kind != NB_NODE_OP)
            continue;
        if (node->value.size > node->value_capacity)
            node->value_capacity = node->value.size;
        if (node->aux_bytes > node->aux_capacity)
            node->aux_capacity = node->aux_bytes;
        node->value.data = value_at;
        value_at += align_up((size_t)node->value_capacity * elem);
        node->aux = node->aux_capacity ? value_at : NULL;
        value_at += align_up(node->aux_capacity);
        if (node->requires_grad) {
            if (node->value.size > node->grad_capacity)
                node->grad_capacity = node->value.size;
            node->grad.data = grad_at;
            grad_at += align_up((size_t)node->grad_capacity * elem);
        } else {
            node->grad.data = NULL;
            node->grad_capacity = 0;
        }
    }
    graph->epoch++;
    return NB_OK;
}

/* Bring the plan's shapes up to date and make sure storage fits them. */
static nb_status prepare(nb_node *target)
{
    nb_graph *graph = target->graph;
    if (target->plan && target->prepared_stamp == graph->shape_stamp && target->prepared_epoch == graph->epoch)
        return NB_OK; /* the common case: nothing changed since the last run */
    if (!target->plan && build_plan(target) != NB_OK)
        return nb_errcode();
    bool grow = false;
    for (int p = 0; p < target->n_plan; p++) {
        nb_node *node = graph->nodes[target->plan[p]];
        if (node->shape_stamp != graph->shape_stamp) {
            nb_status status = node->op->shape(node);
            if (status != NB_OK)
                return status;
            nb_set_shape(&node->grad, node->value.ndim, node->value.shape);
            node->shape_stamp = graph->shape_stamp;
        }
        if (!node->value.data || node->value.size > node->value_capacity || node->aux_bytes > node->aux_capacity ||
            (node->requires_grad && (!node->grad.data || node->value.size > node->grad_capacity)))
            grow = true;
    }
    if (grow && grow_arenas(graph) != NB_OK)
        return nb_errcode();
    target->prepared_stamp = graph->shape_stamp;
    target->prepared_epoch = graph->epoch;
    return NB_OK;
}

nb_status nb_forward(nb_node *node)
{
    if (!node)
        return nb_fail_null("nb_forward", "the node");
    nb_graph *graph = node->graph;
    nb_status status = prepare(node);
    if (status != NB_OK)
        return status;
    const int *plan = node->plan;
    for (int p = 0; p < node->n_plan; p++) {
        nb_node *op_node = graph->nodes[plan[p]];
        status = op_node->op->forward(op_node);
        if (NB_UNLIKELY(status != NB_OK))
            return status;
    }
    node->forwarded_at = graph->epoch;
    return NB_OK;
}

/* Whether nb_forward(target) computes node's value: a leaf holds its own, an op node is
 * computed when it is in target's plan (built by target's first forward pass). */
static bool computed_by(const nb_node *target, const nb_node *node)
{
    if (node->kind != NB_NODE_OP)
        return true;
    for (int p = 0; p < target->n_plan; p++)
        if (target->plan[p] == node->index)
            return true;
    return false;
}

/* When `also` needs a pass of its own and that pass lays the graph's storage out anew,
 * target's value went with the old layout: target runs again. */
nb_status nb_forward_with(nb_node *target, nb_node *also)
{
    nb_status status = nb_forward(target);
    if (status != NB_OK || !also || computed_by(target, also))
        return status;
    status = nb_forward(also);
    if (status == NB_OK && target->forwarded_at != target->graph->epoch)
        status = nb_forward(target);
    return status;
}

nb_status nb_backward_seed(nb_node *node, const void *seed)
{
    if (!node)
        return nb_fail_null("nb_backward", "the node");
    nb_graph *graph = node->graph;
    if (!node->requires_grad)
        return nb_fail(NB_ESTATE,
                       "nb_backward: '%s' does not depend on any parameter or input that requires a gradient",
                       nb_node_name(node));
    if (node->kind == NB_NODE_OP && (node->forwarded_at != graph->epoch || !node->plan))
        return nb_fail(NB_ESTATE, "nb_backward: run nb_forward on '%s' first (shapes or storage changed since)",
                       nb_node_name(node));
    if (graph->grad_arena_size <= NB_SMALL_GRADS) {
        /* small gradients (scalar models): one memset costs less than tracking them */
        if (graph->grad_arena)
            memset(graph->grad_arena, 0, graph->grad_arena_size + NB_ALIGN);
        for (int i = 0; graph->grads_marked && i < graph->n_nodes; i++)
            if (graph->nodes[i]->kind == NB_NODE_OP)
                graph->nodes[i]->grad_unset = false;
        graph->grads_marked = false;
    } else {
        /* Every op node's gradient starts this pass unset (zeros) rather than zeroed:
         * most are then written once by the op that consumes the node (nb_grad_fresh). */
        for (int i = 0; i < graph->n_nodes; i++) {
            nb_node *op_node = graph->nodes[i];
            if (op_node->kind == NB_NODE_OP)
                op_node->grad_unset = op_node->grad.data != NULL;
        }
        graph->grads_marked = true;
    }
    /* the seed: stored into an op node, added to a leaf's accumulated gradient */
    bool store = nb_grad_fresh(node);
    int64_t size = node->value.size;
    if (graph->dtype == NB_F64) {
        double *grad = node->grad.data;
        const double *given = seed;
        for (int64_t i = 0; i < size; i++)
            grad[i] = (store ? 0.0 : grad[i]) + (given ? given[i] : 1.0);
    } else {
        float *grad = node->grad.data;
        const float *given = seed;
        for (int64_t i = 0; i < size; i++)
            grad[i] = (store ? 0.0f : grad[i]) + (given ? given[i] : 1.0f);
    }
    /* nothing is unset when the arena was zeroed and no optimizer marked parameters */
    bool settle = graph->grads_marked || graph->params_marked;
    for (int p = node->n_plan - 1; p >= 0; p--) {
        nb_node *op_node = graph->nodes[node->plan[p]];
        if (!op_node->requires_grad)
            continue;
        if (settle) {
            /* a node that no consumer wrote (one that passes it no gradient) holds zeros */
            nb_grad_settle(op_node);
            if (!op_node->op->writes_fresh_grads)
                for (int k = 0; k < op_node->n_inputs; k++)
                    nb_grad_settle(op_node->inputs[k]);
        }
        op_node->op->backward(op_node);
    }
    if (graph->params_marked)
        nb_grads_settle(graph); /* the parameters it did not reach: zeros, in memory too */
    return NB_OK;
}

nb_status nb_backward(nb_node *loss)
{
    if (loss && loss->value.size != 1) {
        char buf[96];
        return nb_fail(NB_ESHAPE, "nb_backward: '%s' has shape %s, not a scalar; reduce it (nb_sum, nb_mean) "
                                  "or use nb_backward_seed",
                       nb_node_name(loss), nb_shape_str(loss->value.ndim, loss->value.shape, buf, sizeof buf));
    }
    return nb_backward_seed(loss, NULL);
}

void nb_zero_input_grads(nb_graph *graph)
{
    size_t elem = graph->dtype == NB_F64 ? sizeof(double) : sizeof(float);
    for (int i = 0; graph->n_input_grads > 0 && i < graph->n_nodes; i++) {
        nb_node *node = graph->nodes[i];
        if (node->kind == NB_NODE_INPUT && node->grad.data)
            memset(node->grad.data, 0, (size_t)node->grad_capacity * elem);
    }
}

void nb_zero_grad(nb_graph *graph)
{
    size_t elem = graph->dtype == NB_F64 ? sizeof(double) : sizeof(float);
    graph->noise_step++;
    if (graph->n_param_values)
        memset(graph->param_grads, 0, (size_t)graph->n_param_values * elem);
    if (graph->params_marked) {
        for (int i = 0; i < graph->n_params; i++)
            graph->params[i]->grad_unset = false;
        graph->params_marked = false;
    }
    if (graph->n_input_grads > 0)
        nb_zero_input_grads(graph);
}

/* ---- gradient check ---------------------------------------------------------------- */

nb_status nb_gradcheck(nb_node *loss, double eps, nb_gradcheck_result *result)
{
    if (!loss || !result)
        return nb_fail(NB_EARG, "nb_gradcheck: loss and result must not be NULL");
    nb_graph *graph = loss->graph;
    if (graph->dtype != NB_F64)
        return nb_fail(NB_EDTYPE, "nb_gradcheck: needs a float64 graph (finite differences in float32 are too "
                                  "coarse to judge a gradient)");
    if (eps <= 0)
        eps = 1e-6;
    memset(result, 0, sizeof *result);
    nb_zero_grad(graph);
    nb_status status = nb_forward(loss);
    if (status == NB_OK)
        status = nb_backward(loss);
    if (status != NB_OK)
        return status;

    /* Copy the analytic gradients first: the finite differences rerun the graph. */
    int64_t total = 0;
    for (int i = 0; i < graph->n_nodes; i++)
        if (graph->nodes[i]->kind != NB_NODE_OP && graph->nodes[i]->requires_grad)
            total += graph->nodes[i]->value.size;
    double *analytic = nb_alloc((size_t)(total ? total : 1) * sizeof *analytic);
    if (!analytic)
        return nb_fail(NB_ENOMEM, "nb_gradcheck: out of memory for %lld gradients", (long long)total);
    int64_t at = 0;
    for (int i = 0; i < graph->n_nodes; i++) {
        nb_node *leaf = graph->nodes[i];
        if (leaf->kind == NB_NODE_OP || !leaf->requires_grad)
            continue;
        memcpy(analytic + at, leaf->grad.data, (size_t)leaf->value.size * sizeof(double));
        at += leaf->value.size;
    }

    at = 0;
    result->worst = "";
    for (int i = 0; i < graph->n_nodes && status == NB_OK; i++) {
        nb_node *leaf = graph->nodes[i];
        if (leaf->kind == NB_NODE_OP || !leaf->requires_grad)
            continue;
        double *value = leaf->value.data;
        for (int64_t j = 0; j < leaf->value.size && status == NB_OK; j++, at++) {
            double original = value[j];
            double step = eps * fmax(1.0, fabs(original));
            value[j] = original + step;
            status = nb_forward(loss);
            double plus = nb_item(loss);
            value[j] = original - step;
            if (status == NB_OK)
                status = nb_forward(loss);
            double minus = nb_item(loss);
            value[j] = original;
            double numeric = (plus - minus) / (2 * step);
            double error = fabs(analytic[at] - numeric) / fmax(1.0, fmax(fabs(analytic[at]), fabs(numeric)));
            if (!(error <= result->max_error) || result->n_checked == 0) {
                result->max_error = isnan(error) ? INFINITY : error;
                result->worst = nb_node_name(leaf);
                result->worst_index = j;
                result->analytic = analytic[at];
                result->numeric = numeric;
            }
            result->n_checked++;
        }
    }
    nb_free(analytic);
    if (status == NB_OK)
        status = nb_forward(loss);
    nb_zero_grad(graph);
    return status;
}
