/* rnn.c -- SimpleRNN, LSTM and GRU over a whole sequence, in one call each way.
 *
 * x (N, T, K), kernel W (K, G*U), recurrent kernel R (U, G*U), Keras's layouts, with G = 1
 * (SimpleRNN), 4 (LSTM: gates i, f, c, o) or 3 (GRU: z, r, h; reset_after, bias (2, 3U):
 * row 0 the input bias, row 1 the recurrent bias).  act = activation,
 * sig = recurrent_activation, (.) elementwise:
 *   SimpleRNN  h_t = act(x_t W + h_{t-1} R + b)
 *   LSTM       [zi zf zc zo] = x_t W + h_{t-1} R + b
 *              i = sig(zi)  f = sig(zf)  g = act(zc)  o = sig(zo)
 *              c_t = f c_{t-1} + i g        h_t = o act(c_t)
 *   GRU        [xz xr xh] = x_t W + b0      [rz rr rh] = h_{t-1} R + b1
 *              z = sig(xz + rz)  r = sig(xr + rr)  hh = act(xh + r rh)
 *              h_t = z h_{t-1} + (1 - z) hh
 * go_backwards (reverse) runs the steps over t = T-1, ..., 0; outputs are stored in
 * processing order (Keras's convention).
 * Recurrent dropout (Keras's): rec_mask (N, G, U) holds one scaled mask per gate for the
 * whole sequence; gate g's recurrent product reads h_{t-1} m_g (GRU's direct path z h_{t-1}
 * keeps h_{t-1}): per step G small GEMMs against R's column blocks, packed once each.
 * Masking (Keras's): at a masked step the row's states carry through unchanged and its
 * gate gradients are zero; its output is zeros or the carried h (output_is_h).
 *
 * Forward: the input projection of every step is one GEMM (bias in its epilogue);
 * then each step is one small GEMM h_{t-1} R (R packed once per call) followed by the
 * gate loop over the rows of the batch.  What backward needs is kept in `state`:
 * the gate activations A (N, T, S) and the state each step read, Hp (N, T, U), both
 * indexed by the input's time index t.
 * Backward through time: per step the gate loop turns dh, dc into the gates'
 * pre-activation gradients dG (N, T, G*U), then dh_{t-1} = dG_t R^T (one small GEMM);
 * after the loop dW = X^T dG, dR = Hp^T dG, dX = dG W^T are one GEMM each over all
 * steps, and db the column sums of dG (in row order).
 * Threads: the big GEMMs split as usual; the time loop runs in one parallel region in
 * which each thread owns a block of batch rows for every step (its own small GEMMs and
 * gate loops: the rows' recurrences are independent), so the steps need no barrier and
 * a descheduled thread delays only its rows.  Every loop splits rows (or columns), never
 * a sum: results are bitwise independent of the thread count. */
#include <math.h>
#include <string.h>
#include "parallel.h"
#include "gemm/gemm.h"

static int64_t gates_of(int cell) { return cell == FNN_RNN_LSTM ? 4 : cell == FNN_RNN_SIMPLE ? 1 : 3; }
/* floats of A per (n, t): SimpleRNN h; LSTM i f g o c; GRU z r hh rh (reset_after=False:
 * z r hh and r h_{t-1}, the h columns' GEMM input) */
static int64_t stored_of(int cell) { return cell == FNN_RNN_LSTM ? 5 : cell == FNN_RNN_SIMPLE ? 1 : 4; }
/* GRU with reset_after=False: the candidate's recurrent product reads r h, so each step
 * is two GEMMs (z and r columns, then the h columns) around two gate phases */
static int before_of(int cell) { return cell == FNN_RNN_GRU_BEFORE; }

size_t fnn_rnn_state_size(const fnn_rnn_shape *s) {
    return (size_t)(s->N * s->T * s->U * (stored_of(s->cell) + 1));
}

static size_t gemm_max(const fnn_rnn_shape *s) {
    const int64_t N = s->N, T = s->T, K = s->K, U = s->U, GU = gates_of(s->cell) * U;
    size_t m = 0, v[6] = {fnn_sgemm_workspace_size(N * T, GU, K), fnn_sgemm_workspace_size(N, GU, U),
                          fnn_sgemm_workspace_size(N, U, GU), fnn_sgemm_workspace_size(K, GU, N * T),
                          fnn_sgemm_workspace_size(U, GU, N * T), fnn_sgemm_workspace_size(N * T, K, GU)};
    for (int i = 0; i < 6; i++) m = v[i] > m ? v[i] : m;
    return m;
}

/* 64-float aligned pieces of the workspace */
static size_t al(size_t n) { return (n + 63) / 64 * 64; }

/* GEMM scratch of one thread's per-step products (rows [lo, hi) of the batch) */
static size_t step_gemm_floats(const fnn_rnn_shape *s) {
    const int64_t N = s->N, U = s->U, GU = gates_of(s->cell) * U;
    size_t a = fnn_gemm_workspace_per_thread(N, GU, U), b = fnn_gemm_workspace_per_thread(N, U, GU);
    return al((a > b ? a : b) + 64);
}

size_t fnn_rnn_workspace_size(const fnn_rnn_shape *s) {
    const int64_t N = s->N, T = s->T, U = s->U, GU = gates_of(s->cell) * U;
    size_t fwd = al(N * T * GU) + al(N * GU) + al(fnn_gemm_packed_b_size(GU, U)) + al(2 * N);
    size_t bwd = 2 * al(N * T * GU) + 2 * al(N * U) + al(N * 2 * U) +
                 al(fnn_gemm_packed_b_size(U, GU)) + al(2 * N);
    if (before_of(s->cell)) { /* the h columns of R packed apart */
        fwd += al(fnn_gemm_packed_b_size(U, U));
        bwd += al(fnn_gemm_packed_b_size(U, U));
    }
    if (s->rec_mask) { /* per gate: R_g packed, h * m_g (and its products, Hp * m_g) */
        const size_t packs = (size_t)gates_of(s->cell) * al(fnn_gemm_packed_b_size(U, U));
        fwd += packs + al(N * U);
        bwd += packs + al(N * U) + al(N * T * U);
    }
    size_t steps = step_gemm_floats(s) * (size_t)fnn_get_num_threads();
    size_t gemm = gemm_max(s) > steps ? gemm_max(s) : steps;
    return (fwd > bwd ? fwd : bwd) + gemm + 64;
}

/* How many threads run the time loop: each owns a block of batch rows for every step
 * (the rows' recurrences are independent), so the loop needs no barrier at all. */
static int loop_threads(const fnn_rnn_shape *s, size_t work_floats) {
    const int64_t GU = gates_of(s->cell) * s->U;
    int nt = fnn_threads_for(s->N * GU * s->U * 2 * s->T / 4);
    if (nt > s->N / 4) nt = (int)(s->N / 4); /* at least 4 rows each */
    size_t per = step_gemm_floats(s);
    if ((size_t)nt > work_floats / per) nt = (int)(work_floats / per);
    return nt < 1 ? 1 : nt;
}

/* ---- activations (plain C the compiler vectorizes; no libm calls) ----------------- */

/* e^x for x clamped to [-87, 88]: Cody-Waite reduction by ln 2 and Cephes's polynomial,
 * about 1 ulp. */
FNN_INLINE float fexp(float x) {
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = x - n * 0.693359375f - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

FNN_INLINE float fsigmoid(float x) { return 1.0f / (1.0f + fexp(-x)); }

FNN_INLINE float ftanh(float x) {
    float a = x < 0.0f ? -x : x;
    float e = fexp(-2.0f * a);
    float t = (1.0f - e) / (1.0f + e);
    float x2 = x * x; /* odd series near 0, where 1 - e cancels */
    float small = x * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * -0.0539682540f)));
    float big = x < 0.0f ? -t : t;
    return a < 0.0625f ? small : big;
}

/* y = act(x) over n floats (y may be x) */
FNN_INLINE void act_span(int kind, float *y, const float *x, int64_t n) {
    switch (kind) {
    case FNN_RNN_ACT_TANH:
        for (int64_t i = 0; i < n; i++) y[i] = ftanh(x[i]);
        break;
    case FNN_RNN_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++) y[i] = fsigmoid(x[i]);
        break;
    case FNN_RNN_ACT_RELU:
        for (int64_t i = 0; i < n; i++) { float v = x[i]; y[i] = v < 0.0f ? 0.0f : v; }
        break;
    case FNN_RNN_ACT_HARD_SIGMOID: /* Keras 3: relu6(x + 3) / 6 */
        for (int64_t i = 0; i < n; i++) {
            float v = x[i] + 3.0f;
            v = v < 0.0f ? 0.0f : v > 6.0f ? 6.0f : v;
            y[i] = v / 6.0f;
        }
        break;
    default:
        if (y != x) memcpy(y, x, (size_t)n * sizeof(float));
    }
}

/* d *= act'(z) where y = act(z) is given (every supported activation's derivative is a
 * function of its output) */
FNN_INLINE void dact_span(int kind, float *d, const float *y, int64_t n) {
    switch (kind) {
    case FNN_RNN_ACT_TANH:
        for (int64_t i = 0; i < n; i++) d[i] *= 1.0f - y[i] * y[i];
        break;
    case FNN_RNN_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++) d[i] *= y[i] * (1.0f - y[i]);
        break;
    case FNN_RNN_ACT_RELU:
        for (int64_t i = 0; i < n; i++) { float v = d[i]; d[i] = y[i] > 0.0f ? v : 0.0f; }
        break;
    case FNN_RNN_ACT_HARD_SIGMOID:
        for (int64_t i = 0; i < n; i++) {
            float v = d[i] * (1.0f / 6.0f);
            d[i] = (y[i] > 0.0f && y[i] < 1.0f) ? v : 0.0f;
        }
        break;
    default:
        break;
    }
}

/* ---- one step's gate loops over rows [lo, hi) of the batch ------------------------- */

typedef struct {
    const fnn_rnn_shape *s;
    int64_t t, tnext, s_idx; /* time index of this step, of the next one (-1: last), step */
    const float *P;          /* input projection (N, T, GU) */
    const float *gb;         /* this step's h_{t-1} R (N, GU) */
    const float *brec;       /* GRU recurrent bias (3U) or NULL */
    float *A, *Hp;           /* state */
    float *h, *c;            /* carries (N, U): h_t, c_t */
    float *y;                /* (N, T, U) when return_sequences, else NULL */
    /* backward */
    const float *dy;         /* (N, T, U) or NULL */
    const float *c0;         /* LSTM initial carry (N, U) or NULL (zeros) */
    float *dG, *dGr, *dh, *dc, *scratch;
    int64_t tprev;           /* time index of the previous step (-1: first) */
    const int64_t *first;    /* with a mask: each row's first unmasked step (T: none) */
    const float *Rg;         /* recurrent dropout: R_g (or R_g^T) packed per gate, ... */
    size_t rg_stride;        /* ... rg_stride floats apart */
    float *hm;               /* (N, U) scratch: h * m_g, or a gate's dh product */
    int phase;               /* GRU reset_after=False: which of the step's two row loops */
} step_args;

/* Whether row n's output at step s of the sequence is its carried h: an unmasked step, or
 * (unless zero_output_for_mask) a masked one after the row's first unmasked step; else it
 * is zeros. */
FNN_INLINE int output_is_h(const step_args *a, int64_t n, int keep) {
    return keep || (!a->s->zero_output_for_mask && a->s_idx > a->first[n]);
}

FNN_INLINE void forward_rows_body(const step_args *a, int64_t lo, int64_t hi) {
    const fnn_rnn_shape *s = a->s;
    const int64_t T = s->T, U = s->U, G = gates_of(s->cell), GU = G * U, S = stored_of(s->cell) * U;
    const int act = s->activation, ra = s->recurrent_activation;
    for (int64_t n = lo; n < hi; n++) {
        const int64_t row = n * T + a->t;
        const float *p = a->P + row * GU, *g = a->gb + n * GU;
        float *st = a->A + row * S, *h = a->h + n * U;
        const int keep = !s->mask || s->mask[row];
        if (before_of(s->cell) && a->phase == 0) { /* z, r, and r h_{t-1} for the GEMM */
            const float *hp = a->Hp + row * U;
            float *rh = st + 3 * U;
            if (!keep) {
                memset(rh, 0, (size_t)U * sizeof(float));
                continue;
            }
            for (int64_t j = 0; j < 2 * U; j++) st[j] = p[j] + g[j];
            act_span(ra, st, st, 2 * U);
            for (int64_t u = 0; u < U; u++) rh[u] = st[U + u] * hp[u];
            continue;
        }
        if (!keep) { /* the states carry through; LSTM keeps c where the next step reads it */
            if (s->cell == FNN_RNN_LSTM) memcpy(st + 4 * U, a->c + n * U, (size_t)U * sizeof(float));
        } else if (s->cell == FNN_RNN_LSTM) {
            float *c = a->c + n * U, *cst = st + 4 * U;
            for (int64_t j = 0; j < GU; j++) st[j] = p[j] + g[j];
            act_span(ra, st, st, 2 * U);
            act_span(act, st + 2 * U, st + 2 * U, U);
            act_span(ra, st + 3 * U, st + 3 * U, U);
            for (int64_t u = 0; u < U; u++) cst[u] = c[u] = st[U + u] * c[u] + st[u] * st[2 * U + u];
            act_span(act, h, cst, U);
            for (int64_t u = 0; u < U; u++) h[u] *= st[3 * U + u];
        } else if (s->cell == FNN_RNN_GRU) {
            const float *hp = a->Hp + row * U, *br = a->brec;
            float *rh = st + 3 * U;
            if (br) {
                for (int64_t j = 0; j < 2 * U; j++) st[j] = p[j] + g[j] + br[j];
                for (int64_t u = 0; u < U; u++) rh[u] = g[2 * U + u] + br[2 * U + u];
            } else {
                for (int64_t j = 0; j < 2 * U; j++) st[j] = p[j] + g[j];
                for (int64_t u = 0; u < U; u++) rh[u] = g[2 * U + u];
            }
            act_span(ra, st, st, 2 * U);
            for (int64_t u = 0; u < U; u++) st[2 * U + u] = p[2 * U + u] + st[U + u] * rh[u];
            act_span(act, st + 2 * U, st + 2 * U, U);
            for (int64_t u = 0; u < U; u++) h[u] = st[u] * hp[u] + (1.0f - st[u]) * st[2 * U + u];
        } else if (before_of(s->cell)) { /* phase 1: g holds (r h_{t-1}) R_h in the h columns */
            const float *hp = a->Hp + row * U;
            for (int64_t u = 0; u < U; u++) st[2 * U + u] = p[2 * U + u] + g[2 * U + u];
            act_span(act, st + 2 * U, st + 2 * U, U);
            for (int64_t u = 0; u < U; u++) h[u] = st[u] * hp[u] + (1.0f - st[u]) * st[2 * U + u];
        } else {
            for (int64_t u = 0; u < U; u++) st[u] = p[u] + g[u];
            act_span(act, st, st, U);
            memcpy(h, st, (size_t)U * sizeof(float));
        }
        if (a->y) {
            float *yr = a->y + (n * T + a->s_idx) * U;
            if (!s->mask || output_is_h(a, n, keep)) memcpy(yr, h, (size_t)U * sizeof(float));
            else memset(yr, 0, (size_t)U * sizeof(float));
        }
        if (a->tnext >= 0) memcpy(a->Hp + (n * T + a->tnext) * U, h, (size_t)U * sizeof(float));
    }
}

FNN_INLINE void backward_rows_body(const step_args *a, int64_t lo, int64_t hi) {
    const fnn_rnn_shape *s = a->s;
    const int64_t T = s->T, U = s->U, G = gates_of(s->cell), GU = G * U, S = stored_of(s->cell) * U;
    const int act = s->activation, ra = s->recurrent_activation;
    for (int64_t n = lo; n < hi; n++) {
        const int64_t row = n * T + a->t;
        const float *st = a->A + row * S;
        float *dg = a->dG + row * GU, *dh = a->dh + n * U;
        const int keep = !s->mask || s->mask[row];
        if (before_of(s->cell) && a->phase == 1) { /* hm holds d(r h_{t-1}) for these rows */
            if (!keep) continue;
            const float *r = st + U, *hp = a->Hp + row * U, *drh = a->hm + n * U;
            for (int64_t u = 0; u < U; u++) {
                dg[U + u] = drh[u] * hp[u];
                dh[u] += drh[u] * r[u];
            }
            dact_span(ra, dg + U, r, U);
            continue;
        }
        if (a->dy && (!s->mask || output_is_h(a, n, keep))) {
            const float *dyr = a->dy + (n * T + a->s_idx) * U;
            for (int64_t u = 0; u < U; u++) dh[u] += dyr[u];
        }
        if (!keep) { /* no gate gradients; dh and dc pass through to the previous step */
            memset(dg, 0, (size_t)GU * sizeof(float));
            if (s->cell == FNN_RNN_GRU) memset(a->dGr + row * GU, 0, (size_t)GU * sizeof(float));
            continue;
        }
        if (s->cell == FNN_RNN_LSTM) {
            const float *i = st, *f = st + U, *g = st + 2 * U, *o = st + 3 * U, *c = st + 4 * U;
            const float *cp = a->tprev >= 0 ? a->A + (n * T + a->tprev) * S + 4 * U
                              : a->c0 ? a->c0 + n * U : NULL;
            float *dc = a->dc + n * U, *ac = a->scratch + n * 2 * U, *q = ac + U;
            act_span(act, ac, c, U);
            for (int64_t u = 0; u < U; u++) q[u] = dh[u] * o[u];
            dact_span(act, q, ac, U);
            for (int64_t u = 0; u < U; u++) {
                float dcc = dc[u] + q[u];
                dg[u] = dcc * g[u];
                dg[U + u] = cp ? dcc * cp[u] : 0.0f;
                dg[2 * U + u] = dcc * i[u];
                dg[3 * U + u] = dh[u] * ac[u];
                dc[u] = dcc * f[u];
                dh[u] = 0.0f; /* all of it went into the gates; the GEMM adds dG R^T */
            }
            dact_span(ra, dg, i, U);
            dact_span(ra, dg + U, f, U);
            dact_span(act, dg + 2 * U, g, U);
            dact_span(ra, dg + 3 * U, o, U);
        } else if (s->cell == FNN_RNN_GRU) {
            const float *z = st, *r = st + U, *hh = st + 2 * U, *rh = st + 3 * U;
            const float *hp = a->Hp + row * U;
            float *dgr = a->dGr + row * GU;
            for (int64_t u = 0; u < U; u++) {
                float d = dh[u];
                dg[u] = d * (hp[u] - hh[u]);
                dg[2 * U + u] = d * (1.0f - z[u]);
                dh[u] = d * z[u]; /* the direct path; the GEMM adds the gates' */
            }
            dact_span(ra, dg, z, U);
            dact_span(act, dg + 2 * U, hh, U);
            for (int64_t u = 0; u < U; u++) {
                dg[U + u] = dg[2 * U + u] * rh[u];
                dgr[2 * U + u] = dg[2 * U + u] * r[u];
            }
            dact_span(ra, dg + U, r, U);
            memcpy(dgr, dg, (size_t)(2 * U) * sizeof(float));
        } else if (before_of(s->cell)) { /* phase 0: z and the candidate; r after the GEMM */
            const float *z = st, *hh = st + 2 * U, *hp = a->Hp + row * U;
            for (int64_t u = 0; u < U; u++) {
                float d = dh[u];
                dg[u] = d * (hp[u] - hh[u]);
                dg[U + u] = 0.0f;
                dg[2 * U + u] = d * (1.0f - z[u]);
                dh[u] = d * z[u]; /* the direct path; phase 1 and the GEMM add the rest */
            }
            dact_span(ra, dg, z, U);
            dact_span(act, dg + 2 * U, hh, U);
        } else {
            memcpy(dg, dh, (size_t)U * sizeof(float));
            memset(dh, 0, (size_t)U * sizeof(float));
            dact_span(act, dg, st, U);
        }
    }
}

FNN_ISA_VARIANTS(forward_rows_body, (const step_args *a, int64_t lo, int64_t hi), (a, lo, hi))
FNN_ISA_VARIANTS(backward_rows_body, (const step_args *a, int64_t lo, int64_t hi), (a, lo, hi))

typedef void (*rows_fn)(const step_args *, int64_t, int64_t);

static rows_fn pick(int backward) {
    const int isa = fnn_vector_isa();
    return backward ? FNN_ISA_PICK(isa, backward_rows_body) : FNN_ISA_PICK(isa, forward_rows_body);
}

/* db[j] = sum over rows of m[row, j], rows in order; threads split the columns */
static void column_sums(float *db, const float *m, int64_t rows, int64_t cols) {
    int nt = fnn_threads_for(rows * cols);
    if (cols < 32) nt = 1;
#pragma omp parallel num_threads(fnn_team(nt)) if (nt > 1)
    {
        int t = FNN_THREAD_ID(), n_t = fnn_workers(nt);
        int64_t lines = fnn_ceil_div(cols, 16);
        int64_t j0 = fnn_min64(cols, lines * t / n_t * 16), j1 = fnn_min64(cols, lines * (t + 1) / n_t * 16);
        if (t < n_t) {
            for (int64_t j = j0; j < j1; j++) db[j] = 0.0f;
            for (int64_t r = 0; r < rows; r++) {
                const float *mr = m + r * cols;
                for (int64_t j = j0; j < j1; j++) db[j] += mr[j];
            }
        }
    }
}

static int64_t time_index(const fnn_rnn_shape *s, int64_t step) {
    return s->reverse ? s->T - 1 - step : step;
}

/* first[n]: row n's first unmasked step in processing order (T when all are masked) */
static int64_t *first_steps(const fnn_rnn_shape *s, float *space) {
    if (!s->mask) return NULL;
    int64_t *first = (int64_t *)space;
    for (int64_t n = 0; n < s->N; n++) {
        int64_t f = s->T;
        for (int64_t step = 0; step < s->T; step++)
            if (s->mask[n * s->T + time_index(s, step)]) { f = step; break; }
        first[n] = f;
    }
    return first;
}

/* The time loop over batch rows [lo, hi): per step h_{t-1} R for these rows (one
 * thread's GEMM), then their gate loop. */
static void forward_loop(const step_args *base, rows_fn fn, const float *Rp, int64_t lo,
                         int64_t hi, float *gw, size_t gsize) {
    const fnn_rnn_shape *s = base->s;
    const int64_t T = s->T, U = s->U, GU = gates_of(s->cell) * U;
    step_args a = *base;
    for (int64_t step = 0; step < T; step++) {
        a.s_idx = step;
        a.t = time_index(s, step);
        a.tnext = step + 1 < T ? time_index(s, step + 1) : -1;
        if (s->rec_mask) { /* recurrent dropout: gate g reads h * m_g */
            const int64_t G = gates_of(s->cell);
            for (int64_t g = 0; g < G; g++) {
                for (int64_t n = lo; n < hi; n++) {
                    const float *hp = a.Hp + (n * T + a.t) * U, *m = s->rec_mask + (n * G + g) * U;
                    float *hm = a.hm + n * U;
                    for (int64_t u = 0; u < U; u++) hm[u] = hp[u] * m[u];
                }
                fnn_gemm_op rec = {.C = (float *)a.gb + lo * GU + g * U, .A = a.hm + lo * U,
                                   .B_packed = a.Rg + g * a.rg_stride, .M = hi - lo, .N = U,
                                   .K = U, .lda = U, .ldc = GU, .alpha = 1.0f, .beta = 0.0f};
                fnn_gemm_run(&rec, gw, gsize, 1);
            }
        } else if (before_of(s->cell)) { /* h R_zr; phase 0; (r h) R_h; phase 1 */
            const int64_t S = stored_of(s->cell) * U;
            fnn_gemm_op zr = {.C = (float *)a.gb + lo * GU, .A = a.Hp + (lo * T + a.t) * U,
                              .B_packed = Rp, .M = hi - lo, .N = 2 * U, .K = U, .lda = T * U,
                              .ldc = GU, .alpha = 1.0f, .beta = 0.0f};
            fnn_gemm_run(&zr, gw, gsize, 1);
            a.phase = 0;
            fn(&a, lo, hi);
            fnn_gemm_op hc = {.C = (float *)a.gb + lo * GU + 2 * U,
                              .A = a.A + (lo * T + a.t) * S + 3 * U, .B_packed = a.Rg, .M = hi - lo,
                              .N = U, .K = U, .lda = T * S, .ldc = GU, .alpha = 1.0f, .beta = 0.0f};
            fnn_gemm_run(&hc, gw, gsize, 1);
            a.phase = 1;
        } else {
            fnn_gemm_op rec = {.C = (float *)a.gb + lo * GU, .A = a.Hp + (lo * T + a.t) * U,
                               .B_packed = Rp, .M = hi - lo, .N = GU, .K = U, .lda = T * U,
                               .ldc = GU, .alpha = 1.0f, .beta = 0.0f};
            fnn_gemm_run(&rec, gw, gsize, 1);
        }
        fn(&a, lo, hi);
    }
}

/* Backward through time over batch rows [lo, hi). */
static void backward_loop(const step_args *base, rows_fn fn, const float *Rp, int64_t lo,
                          int64_t hi, float *gw, size_t gsize) {
    const fnn_rnn_shape *s = base->s;
    const int64_t T = s->T, U = s->U, GU = gates_of(s->cell) * U;
    step_args a = *base;
    for (int64_t step = T - 1; step >= 0; step--) {
        a.s_idx = step;
        a.t = time_index(s, step);
        a.tprev = step > 0 ? time_index(s, step - 1) : -1;
        a.phase = 0;
        fn(&a, lo, hi);
        if (before_of(s->cell)) { /* d(r h_{t-1}) = dG_h R_h^T, then r's gradient */
            fnn_gemm_op hc = {.C = a.hm + lo * U, .A = a.dG + (lo * T + a.t) * GU + 2 * U,
                              .B_packed = a.Rg, .M = hi - lo, .N = U, .K = U, .lda = T * GU,
                              .ldc = U, .alpha = 1.0f, .beta = 0.0f};
            fnn_gemm_run(&hc, gw, gsize, 1);
            a.phase = 1;
            fn(&a, lo, hi);
            fnn_gemm_op zr = {.C = a.dh + lo * U, .A = a.dG + (lo * T + a.t) * GU, .B_packed = Rp,
                              .M = hi - lo, .N = U, .K = 2 * U, .lda = T * GU, .ldc = U,
                              .alpha = 1.0f, .beta = 1.0f};
            fnn_gemm_run(&zr, gw, gsize, 1);
            continue;
        }
        /* dh_{t-1} = dG_t R^T + what the rows' loop left in dh (GRU's direct path, a
         * masked row's carried gradient, else zeros) */
        if (s->rec_mask) { /* recurrent dropout: dh_{t-1} += (dG_g R_g^T) m_g per gate */
            const int64_t G = gates_of(s->cell);
            for (int64_t g = 0; g < G; g++) {
                fnn_gemm_op rec = {.C = a.hm + lo * U, .A = a.dGr + (lo * T + a.t) * GU + g * U,
                                   .B_packed = a.Rg + g * a.rg_stride, .M = hi - lo, .N = U,
                                   .K = U, .lda = T * GU, .ldc = U, .alpha = 1.0f, .beta = 0.0f};
                fnn_gemm_run(&rec, gw, gsize, 1);
                for (int64_t n = lo; n < hi; n++) {
                    const float *q = a.hm + n * U, *m = s->rec_mask + (n * G + g) * U;
                    float *dh = a.dh + n * U;
                    for (int64_t u = 0; u < U; u++) dh[u] += q[u] * m[u];
                }
            }
        } else {
            fnn_gemm_op rec = {.C = a.dh + lo * U, .A = a.dGr + (lo * T + a.t) * GU,
                               .B_packed = Rp, .M = hi - lo, .N = U, .K = GU, .lda = T * GU,
                               .ldc = U, .alpha = 1.0f, .beta = 1.0f};
            fnn_gemm_run(&rec, gw, gsize, 1);
        }
    }
}

void fnn_rnn_forward(float *y, float *hT, float *cT, float *state, const float *x,
                     const float *h0, const float *c0, const float *w, const float *r,
                     const float *b, const fnn_rnn_shape *s, float *work, size_t work_size) {
    const int64_t N = s->N, T = s->T, K = s->K, U = s->U, G = gates_of(s->cell), GU = G * U;
    const int64_t S = stored_of(s->cell) * U;
    float *A = state, *Hp = state + N * T * S;
    float *P = work, *gb = P + al(N * T * GU), *Rp = gb + al(N * GU);
    float *fs = Rp + al(fnn_gemm_packed_b_size(GU, U)), *gw = fs + al(2 * N);
    const size_t rg_stride = al(fnn_gemm_packed_b_size(U, U));
    float *Rg = NULL, *hm = NULL;
    if (before_of(s->cell)) { /* R_h */
        Rg = gw;
        gw += rg_stride;
        fnn_gemm_pack_b(Rg, r + 2 * U, GU, 0, U, U);
    }
    if (s->rec_mask) {
        Rg = gw;
        hm = Rg + G * rg_stride;
        gw = hm + al(N * U);
        for (int64_t g = 0; g < G; g++) fnn_gemm_pack_b(Rg + g * rg_stride, r + g * U, GU, 0, U, U);
    }
    size_t gsize = work_size - (size_t)(gw - work);
    const int nth = fnn_get_num_threads();

    /* all steps' input projections, the input bias added by the GEMM's epilogue */
    fnn_gemm_op proj = {.C = P, .A = x, .B = w, .M = N * T, .N = GU, .K = K, .lda = K,
                        .ldb = GU, .ldc = GU, .alpha = 1.0f, .beta = 0.0f, .bias = b};
    fnn_gemm_run(&proj, gw, gsize, nth);
    if (before_of(s->cell)) fnn_gemm_pack_b(Rp, r, GU, 0, U, 2 * U);
    else fnn_gemm_pack_b(Rp, r, GU, 0, U, GU);

    float *h = hT;
    float *c = cT;
    if (h0) memcpy(h, h0, (size_t)(N * U) * sizeof(float));
    else memset(h, 0, (size_t)(N * U) * sizeof(float));
    if (s->cell == FNN_RNN_LSTM) {
        if (c0) memcpy(c, c0, (size_t)(N * U) * sizeof(float));
        else memset(c, 0, (size_t)(N * U) * sizeof(float));
    }
    const int64_t t0 = time_index(s, 0);
    for (int64_t n = 0; n < N; n++) memcpy(Hp + (n * T + t0) * U, h + n * U, (size_t)U * sizeof(float));

    rows_fn fn = pick(0);
    step_args a = {.s = s, .P = P, .gb = gb, .A = A, .Hp = Hp, .h = h, .c = c,
                   .y = s->return_sequences ? y : NULL,
                   .brec = (s->cell == FNN_RNN_GRU && b) ? b + GU : NULL,
                   .first = first_steps(s, fs), .Rg = Rg, .rg_stride = rg_stride, .hm = hm};
    const int nt = loop_threads(s, gsize);
    const size_t per = step_gemm_floats(s);
    if (nt == 1) {
        forward_loop(&a, fn, Rp, 0, N, gw, per);
        return;
    }
#pragma omp parallel num_threads(fnn_team(nt))
    {
        int t = FNN_THREAD_ID(), n_t = fnn_workers(nt);
        if (t < n_t) forward_loop(&a, fn, Rp, N * t / n_t, N * (t + 1) / n_t, gw + t * per, per);
    }
}

void fnn_rnn_backward(float *dx, float *dh0, float *dc0, float *dw, float *dr, float *db,
                      const float *dy, const float *dhT, const float *dcT, const float *state,
                      const float *x, const float *c0, const float *w, const float *r,
                      const fnn_rnn_shape *s, float *work, size_t work_size) {
    const int64_t N = s->N, T = s->T, K = s->K, U = s->U, G = gates_of(s->cell), GU = G * U;
    const int64_t S = stored_of(s->cell) * U;
    const float *A = state, *Hp = state + N * T * S;
    float *dG = work, *dGr = dG + al(N * T * GU), *dh = dGr + al(N * T * GU), *dc = dh + al(N * U);
    float *scratch = dc + al(N * U), *Rp = scratch + al(N * 2 * U);
    float *fs = Rp + al(fnn_gemm_packed_b_size(U, GU)), *gw = fs + al(2 * N);
    const size_t rg_stride = al(fnn_gemm_packed_b_size(U, U));
    float *Rg = NULL, *hm = NULL, *Hm = NULL;
    if (before_of(s->cell)) { /* R_h^T, and d(r h) rows in hm */
        Rg = gw;
        hm = Rg + rg_stride;
        gw = hm + al(N * U);
        fnn_gemm_pack_b(Rg, r + 2 * U, GU, 1, U, U);
    }
    if (s->rec_mask) {
        Rg = gw;
        hm = Rg + G * rg_stride;
        Hm = hm + al(N * U);
        gw = Hm + al(N * T * U);
        for (int64_t g = 0; g < G; g++) fnn_gemm_pack_b(Rg + g * rg_stride, r + g * U, GU, 1, U, U);
    }
    size_t gsize = work_size - (size_t)(gw - work);
    const int gru = s->cell == FNN_RNN_GRU;
    if (!gru) dGr = dG;

    if (dhT) memcpy(dh, dhT, (size_t)(N * U) * sizeof(float));
    else memset(dh, 0, (size_t)(N * U) * sizeof(float));
    if (dcT) memcpy(dc, dcT, (size_t)(N * U) * sizeof(float));
    else memset(dc, 0, (size_t)(N * U) * sizeof(float));
    if (before_of(s->cell)) fnn_gemm_pack_b(Rp, r, GU, 1, 2 * U, U); /* R_zr^T */
    else fnn_gemm_pack_b(Rp, r, GU, 1, GU, U); /* R^T (GU x U) */

    rows_fn fn = pick(1);
    step_args a = {.s = s, .A = (float *)A, .Hp = (float *)Hp, .dy = s->return_sequences ? dy : NULL,
                   .c0 = c0, .dG = dG, .dGr = dGr, .dh = dh, .dc = dc, .scratch = scratch,
                   .first = first_steps(s, fs), .Rg = Rg, .rg_stride = rg_stride, .hm = hm};
    const int nt = loop_threads(s, gsize);
    const size_t per = step_gemm_floats(s);
    if (nt == 1) {
        backward_loop(&a, fn, Rp, 0, N, gw, per);
    } else {
#pragma omp parallel num_threads(fnn_team(nt))
        {
            int t = FNN_THREAD_ID(), n_t = fnn_workers(nt);
            if (t < n_t)
                backward_loop(&a, fn, Rp, N * t / n_t, N * (t + 1) / n_t, gw + t * per, per);
        }
    }
    if (dh0) memcpy(dh0, dh, (size_t)(N * U) * sizeof(float));
    if (dc0 && s->cell == FNN_RNN_LSTM) memcpy(dc0, dc, (size_t)(N * U) * sizeof(float));

    fnn_sgemm(dw, x, dG, K, GU, N * T, K, GU, GU, 1, 0, 1.0f, 0.0f, gw, gsize);
    if (s->rec_mask) { /* dR_g = (Hp m_g)^T dG_g */
        for (int64_t g = 0; g < G; g++) {
            for (int64_t n = 0; n < N; n++) {
                const float *m = s->rec_mask + (n * G + g) * U;
                for (int64_t t = 0; t < T; t++) {
                    const float *hp = Hp + (n * T + t) * U;
                    float *o = Hm + (n * T + t) * U;
                    for (int64_t u = 0; u < U; u++) o[u] = hp[u] * m[u];
                }
            }
            fnn_sgemm(dr + g * U, Hm, dGr + g * U, U, U, N * T, U, GU, GU, 1, 0, 1.0f, 0.0f, gw,
                      gsize);
        }
    } else if (before_of(s->cell)) { /* dR_zr = Hp^T dG_zr, dR_h = (r h)^T dG_h */
        fnn_sgemm(dr, Hp, dG, U, 2 * U, N * T, U, GU, GU, 1, 0, 1.0f, 0.0f, gw, gsize);
        fnn_sgemm(dr + 2 * U, A + 3 * U, dG + 2 * U, U, U, N * T, S, GU, GU, 1, 0, 1.0f, 0.0f, gw,
                  gsize);
    } else {
        fnn_sgemm(dr, Hp, dGr, U, GU, N * T, U, GU, GU, 1, 0, 1.0f, 0.0f, gw, gsize);
    }
    if (db) {
        column_sums(db, dG, N * T, GU);
        if (gru) column_sums(db + GU, dGr, N * T, GU);
    }
    if (dx) fnn_sgemm(dx, dG, w, N * T, K, GU, GU, GU, K, 0, 1, 1.0f, 0.0f, gw, gsize);
}
