/* nabla (∇): tensors, reverse-mode automatic differentiation, and what learns with them.
 *
 * One header for the whole library; each section lives in include/nabla/ and follows
 * the layers of the design: core -> tensor -> graph -> nn/loss -> optim -> data/io ->
 * expr/lsq -> plot. */
#ifndef NABLA_H
#define NABLA_H

#include "nabla/core.h"
#include "nabla/threads.h"
#include "nabla/tensor.h"
#include "nabla/graph.h"
#include "nabla/nn.h"
#include "nabla/optim.h"
#include "nabla/csv.h"
#include "nabla/idx.h"
#include "nabla/data.h"
#include "nabla/safetensors.h"
#include "nabla/train.h"
#include "nabla/plot.h"
#include "nabla/progress.h"
#include "nabla/expr.h"
#include "nabla/lsq_data.h"
#include "nabla/lsq.h"

#endif
