/* nabla (∇): tensors, reverse-mode automatic differentiation, and what learns with them.
 *
 * One header for the whole library; each section lives in include/nabla/ and follows
 * the layers of the design: core -> tensor -> graph -> nn/loss -> optim -> data/io ->
 * expr/lsq -> plot. */
#ifndef NABLA_H
#define NABLA_H

#include "nabla/core.h"
#include "nabla/tensor.h"
#include "nabla/graph.h"
#include "nabla/expr.h"
#include "nabla/lsq_data.h"
#include "nabla/lsq.h"

#endif
