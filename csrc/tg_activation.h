/* Fused activation kernels (issue 3, ops/activation.py): one pass over memory each.

   tg_act_forward_*:  out[i] = f(x[i])
   tg_act_backward_*: out[i] = g[i] * f'(x[i])
   over n contiguous elements (the Python wrapper makes inputs contiguous). p1, p2 are the
   op's parameters, ignored when unused:
     TG_ACT_LEAKY_RELU  p1 = negative_slope
     TG_ACT_ELU         p1 = alpha
     TG_ACT_GELU        (exact, with erfc)
     TG_ACT_GELU_TANH   (tanh approximation)
     TG_ACT_SILU
     TG_ACT_SOFTPLUS    p1 = beta (> 0), p2 = threshold
   Returns TG_OK, or TG_EINVAL for an unknown op, n < 0 or a NULL pointer (tg_core.h). */
#define TG_ACT_LEAKY_RELU 0
#define TG_ACT_ELU 1
#define TG_ACT_GELU 2
#define TG_ACT_GELU_TANH 3
#define TG_ACT_SILU 4
#define TG_ACT_SOFTPLUS 5
#define TG_ACT_COUNT 6

/* float32 forward: out = f(x). */
int tg_act_forward_f32(int op, int64_t n, const float *x, float *out, double p1, double p2);
/* float64 forward: out = f(x). */
int tg_act_forward_f64(int op, int64_t n, const double *x, double *out, double p1, double p2);
/* float32 fused backward: out = g * f'(x). */
int tg_act_backward_f32(int op, int64_t n, const float *x, const float *g, float *out, double p1, double p2);
/* float64 fused backward: out = g * f'(x). */
int tg_act_backward_f64(int op, int64_t n, const double *x, const double *g, double *out, double p1, double p2);
