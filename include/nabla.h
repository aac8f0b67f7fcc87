/* nabla (∇): tensors, reverse-mode automatic differentiation, and what learns with them.
 *
 * The whole library in one header. Each layer has its own header under include/nabla/,
 * and each includes only the layers below it, so a program can take just what it uses:
 *
 *   nabla/core.h      errors, allocation, dtypes, threads, tensors, rng, progress   nabla::core
 *   nabla/autodiff.h  graph, ops, forward/backward, gradient check                   nabla::core
 *   nabla/nn.h        layers, losses, optimizers, schedules, datasets, training     nabla::core
 *   nabla/io.h        tables (CSV), IDX, safetensors                                 nabla::io
 *   nabla/fit.h       formula language, least squares                               nabla::fit
 *   nabla/plot.h      figures as PNG, SVG or PDF (cairo)                             nabla::plot
 */
#ifndef NABLA_H
#define NABLA_H

#include "nabla/core.h"
#include "nabla/autodiff.h"
#include "nabla/nn.h"
#include "nabla/io.h"
#include "nabla/fit.h"
#include "nabla/plot.h"

#endif
