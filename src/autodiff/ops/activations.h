/* The activations that a layer fuses (nb_linear_act), each written once: its forward
 * y = f(x) and its derivative dy/dx, as lines of elementwise.c's table (which takes them
 * in as the ops tanh, sigmoid and relu). fused.c's linear applies the same lines in its
 * bias-and-activation pass. Linear keeps only y, so these derivatives read y alone.
 * Private to src/autodiff/ops. */
#ifndef NABLA_OPS_ACTIVATIONS_H
#define NABLA_OPS_ACTIVATIONS_H

/*          name        forward y = f(x)                       dy/dx (from y)          */
#define NB_FUSED_ACTIVATIONS(X)                                                           \
    X(tanh,       tanh(x),                             1 - y * y)                         \
    X(sigmoid,    1 / (1 + exp(-x)),                   y * (1 - y))                       \
    X(relu,       x > 0 ? x : 0,                       y > 0)

/* For a file that defines T and SFX: act_NAME_SFX(x) the forward, act_NAME_d_SFX(y) the
 * derivative, as inline functions of one element. */
#define NB_ACTIVATION_FUNCTIONS(name, forward, derivative)                                \
    static inline T NB_KERNEL(act_##name)(T x) { return (T)(forward); }                  \
    static inline T NB_KERNEL(act_##name##_d)(T y) { return (T)(derivative); }

#endif
