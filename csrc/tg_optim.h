/* Fused optimizer steps (csrc/optim.c).

   Each call updates one parameter of n contiguous elements and its optimizer state in place,
   in a single pass over memory: no temporaries, one read of every array, one write of every
   array that changes.  The math is the documented update rule of the optimizer of the same
   name in tinygrad_edu.optim; backend/numpy.py holds the numpy reference of each kernel.
   - float32 (`_f32`) and float64 (`_f64`) versions; arrays are C-contiguous, of the same dtype
     and length n, and do not overlap each other;
   - hyperparameters arrive as double and are rounded once to the array dtype;
   - `maximize != 0` ascends the objective (the gradient's sign is flipped first);
   - kernels are purely elementwise, so the result does not depend on the thread count;
   - return TG_OK, or TG_EINVAL for n < 0 or a NULL pointer that the options need. */

/* SGD: d = g (+ weight_decay * p); with momentum != 0: b = d on the first step, else
   b = momentum * b + (1 - dampening) * d, then d = d + momentum * b (nesterov) or d = b;
   finally p -= lr * d.  momentum_buf may be NULL when momentum == 0. */
int tg_sgd_step_f32(float *param, const float *grad, float *momentum_buf, int64_t n, double lr, double momentum, double dampening, int nesterov, double weight_decay, int maximize, int first_step);
int tg_sgd_step_f64(double *param, const double *grad, double *momentum_buf, int64_t n, double lr, double momentum, double dampening, int nesterov, double weight_decay, int maximize, int first_step);

/* Adagrad (step counts from 1): clr = lr / (1 + (step - 1) * lr_decay); d = g
   (+ weight_decay * p); sum += d * d; p -= clr * d / (sqrt(sum) + eps). */
int tg_adagrad_step_f32(float *param, const float *grad, float *state_sum, int64_t n, int64_t step, double lr, double lr_decay, double weight_decay, double eps, int maximize);
int tg_adagrad_step_f64(double *param, const double *grad, double *state_sum, int64_t n, int64_t step, double lr, double lr_decay, double weight_decay, double eps, int maximize);

/* RMSprop: d = g (+ weight_decay * p); v = alpha * v + (1 - alpha) * d * d;
   centered: a = alpha * a + (1 - alpha) * d and den = sqrt(v - a * a) + eps, else
   den = sqrt(v) + eps; momentum > 0: b = momentum * b + d / den, p -= lr * b; else
   p -= lr * d / den.  grad_avg may be NULL unless centered, momentum_buf unless momentum > 0. */
int tg_rmsprop_step_f32(float *param, const float *grad, float *square_avg, float *grad_avg, float *momentum_buf, int64_t n, double lr, double alpha, double eps, double weight_decay, double momentum, int centered, int maximize);
int tg_rmsprop_step_f64(double *param, const double *grad, double *square_avg, double *grad_avg, double *momentum_buf, int64_t n, double lr, double alpha, double eps, double weight_decay, double momentum, int centered, int maximize);

/* Adam / AdamW (step counts from 1): decoupled (AdamW): p *= 1 - lr * weight_decay, else
   d = g + weight_decay * p; m = beta1 * m + (1 - beta1) * d; v = beta2 * v + (1 - beta2) * d * d;
   amsgrad: vmax = max(vmax, v) and v is replaced by vmax below;
   p -= (lr / (1 - beta1^step)) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps).
   max_exp_avg_sq may be NULL unless amsgrad. */
int tg_adam_step_f32(float *param, const float *grad, float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq, int64_t n, int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay, int amsgrad, int maximize, int decoupled);
int tg_adam_step_f64(double *param, const double *grad, double *exp_avg, double *exp_avg_sq, double *max_exp_avg_sq, int64_t n, int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay, int amsgrad, int maximize, int decoupled);
