"""NumPy twins of the optimizer updates, in place with Keras's maths
(_C_pointwise.pxi, _C_optimizers.pxi, _C_optim_extra.pxi)."""
import numpy as np


# ---- optimizer updates (in place) -------------------------------------------------

def adam_update(param, m, v, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                epsilon=1e-7, step=1):
    dt = param.dtype.type
    b1, b2 = dt(beta_1), dt(beta_2)
    alpha = dt(float(dt(learning_rate)) * np.sqrt(1 - float(b2) ** step) / (1 - float(b1) ** step))
    m += (grad - m) * dt(1 - beta_1)  # (1 - beta) in double, then float32, as Keras
    v += (grad * grad - v) * dt(1 - beta_2)
    param -= m * alpha / (np.sqrt(v) + dt(epsilon))


def sgd_update(param, momentum_buf, grad, learning_rate=0.01, momentum=0.0, nesterov=False):
    dt = param.dtype.type
    lr, mu = dt(learning_rate), dt(momentum)
    if momentum == 0.0:
        param -= lr * grad
        return
    momentum_buf[...] = mu * momentum_buf - lr * grad
    param += mu * momentum_buf - lr * grad if nesterov else momentum_buf


def rmsprop_update(param, velocity, momentum_buf, grad, learning_rate=0.001, rho=0.9,
                   momentum=0.0, epsilon=1e-7):
    dt = param.dtype.type
    lr, mu, one_m_rho, rho = dt(learning_rate), dt(momentum), dt(1 - rho), dt(rho)
    velocity[...] = rho * velocity + one_m_rho * (grad * grad)
    increment = lr * grad / np.sqrt(velocity + dt(epsilon))
    if momentum == 0.0:
        param -= increment
        return
    momentum_buf[...] = mu * momentum_buf + increment
    param -= momentum_buf


# ---- more optimizer updates (issue 15; in place, Keras's maths) ---------------------------

def adamax_update(param, m, u, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                  epsilon=1e-7, step=1):
    dt = param.dtype.type
    b1 = dt(beta_1)
    m += (grad - m) * (1 - b1)
    u[...] = np.maximum(dt(beta_2) * u, np.abs(grad))
    param -= (dt(learning_rate) * m) / ((1 - b1 ** dt(step)) * (u + dt(epsilon)))


def adagrad_update(param, accumulator, grad, learning_rate=0.001, epsilon=1e-7):
    dt = param.dtype.type
    accumulator += grad * grad
    param -= (dt(learning_rate) * grad) / np.sqrt(accumulator + dt(epsilon))


def adadelta_update(param, accumulated_grad, accumulated_delta, grad, learning_rate=0.001,
                    rho=0.95, epsilon=1e-7):
    dt = param.dtype.type
    rho, eps = dt(rho), dt(epsilon)
    accumulated_grad[...] = rho * accumulated_grad + (1 - rho) * grad * grad
    delta = -np.sqrt(accumulated_delta + eps) * grad / np.sqrt(accumulated_grad + eps)
    accumulated_delta[...] = rho * accumulated_delta + (1 - rho) * delta * delta
    param += dt(learning_rate) * delta


def lion_update(param, m, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.99):
    dt = param.dtype.type
    b1, b2 = dt(beta_1), dt(beta_2)
    param -= dt(learning_rate) * np.sign(m * b1 + grad * (1 - b1))
    m[...] = m * b2 + grad * (1 - b2)


def nadam_update(param, m, v, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, u_t=0.0, u_next=0.0, u_product=1.0, step=1):
    dt = param.dtype.type
    b1, b2 = dt(beta_1), dt(beta_2)
    u_t, u_next, u_product = dt(u_t), dt(u_next), dt(u_product)
    m += (grad - m) * (1 - b1)
    v += (grad * grad - v) * (1 - b2)
    m_hat = u_next * m / (1 - u_product * u_next) + (1 - u_t) * grad / (1 - u_product)
    v_hat = v / (1 - b2 ** dt(step))
    param -= (m_hat * dt(learning_rate)) / (np.sqrt(v_hat) + dt(epsilon))


def ftrl_update(param, accumulator, linear, grad, learning_rate=0.001,
                learning_rate_power=-0.5, l1=0.0, l2=0.0, l2_shrinkage=0.0, beta=0.0):
    dt = param.dtype.type
    lr, p = dt(learning_rate), dt(-learning_rate_power)
    l2_total = dt(l2) + dt(beta) / (2 * lr)
    used = grad + 2 * dt(l2_shrinkage) * param
    new_acc = accumulator + grad * grad
    linear += used - (new_acc ** p - accumulator ** p) / lr * param
    quadratic = new_acc ** p / lr + 2 * l2_total
    param[...] = (np.clip(linear, -dt(l1), dt(l1)) - linear) / quadratic
    accumulator[...] = new_acc


# ---- Adam(amsgrad), centered RMSprop, Adafactor (optim_extra.c; in place, Keras's maths) ---

def adam_amsgrad_update(param, m, v, v_hat, grad, learning_rate=0.001, beta_1=0.9,
                        beta_2=0.999, epsilon=1e-7, step=1):
    dt = param.dtype.type
    b1, b2 = dt(beta_1), dt(beta_2)
    alpha = dt(float(dt(learning_rate)) * np.sqrt(1 - float(b2) ** step) / (1 - float(b1) ** step))
    m += (grad - m) * dt(1 - beta_1)  # (1 - beta) in double, then float32, as Keras
    v += (grad * grad - v) * dt(1 - beta_2)
    np.maximum(v_hat, v, out=v_hat)
    param -= m * alpha / (np.sqrt(v_hat) + dt(epsilon))


def rmsprop_centered_update(param, velocity, momentum_buf, average_grad, grad,
                            learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7):
    dt = param.dtype.type
    lr, mu, one_m_rho, rho = dt(learning_rate), dt(momentum), dt(1 - rho), dt(rho)
    velocity[...] = rho * velocity + one_m_rho * (grad * grad)
    average_grad[...] = rho * average_grad + one_m_rho * grad
    increment = lr * grad / np.sqrt(velocity - average_grad * average_grad + dt(epsilon))
    if momentum == 0.0:
        param -= increment
        return
    momentum_buf[...] = mu * momentum_buf + increment
    param -= momentum_buf


def adafactor_update(param, r, c, v, grad, shapes, rho_t=0.001, beta_2_t=0.0,
                     epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0):
    dt = param.dtype.type
    beta, one_m, eps1 = dt(beta_2_t), dt(1) - dt(beta_2_t), dt(epsilon_1)
    offset = 0
    for shape in shapes:
        shape = tuple(int(d) for d in shape)
        n = int(np.prod(shape, dtype=np.int64))
        if n == 0:
            continue
        w, g = param[offset:offset + n].reshape(shape), grad[offset:offset + n].reshape(shape)
        vv = v[offset:offset + n].reshape(shape)
        alpha = np.maximum(dt(epsilon_2), dt(np.sqrt(np.mean(w.astype(np.float64) ** 2)))) * \
            dt(rho_t)
        sq = g * g + eps1
        if len(shape) >= 2:
            rows, cols = shape[:-1], shape[:-2] + shape[-1:]
            rr = r[offset:offset + int(np.prod(rows))].reshape(rows)
            cc = c[offset:offset + int(np.prod(cols))].reshape(cols)
            rr[...] = beta * rr + one_m * np.mean(sq, axis=-1, dtype=np.float64).astype(dt)
            cc[...] = beta * cc + one_m * np.mean(sq, axis=-2, dtype=np.float64).astype(dt)
            rmean = np.mean(rr, axis=-1, keepdims=True, dtype=np.float64).astype(dt)
            vv[...] = (rr / rmean)[..., None] * cc[..., None, :]
        else:
            vv[...] = beta * vv + one_m * sq
        u = g / np.sqrt(vv)
        rms_u = dt(np.sqrt(np.mean(u.astype(np.float64) ** 2)))
        w -= alpha * (u / np.maximum(dt(1), rms_u / dt(clip_threshold)))
        offset += n
