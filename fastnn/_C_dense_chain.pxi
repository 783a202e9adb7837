# Included by _C.pyx: one training step of a small dense classifier in one call.

from libc.stdlib cimport calloc, free
from libc.string cimport memcpy


cdef class DenseChain:
    """The forward pass, softmax cross-entropy and backward pass of a chain of Dense layers
    (hidden activations ReLU or none, the last layer's softmax left to the loss), as one
    call.  It runs the kernels the layer-by-layer path runs, on the same arguments and in
    the same order, so its results are the same bits; what it saves is that path's Python
    work per layer and per array check, which is most of a small model's step.

    Built once for the weights and their gradients (checked here, and kept alive) and a
    largest batch `capacity`; `train(x, targets, scale)` then checks only the batch."""
    cdef readonly int depth
    cdef readonly int64_t capacity
    cdef int64_t *dims        # depth + 1 widths: the input's, then each layer's units
    cdef int *relu
    cdef float **w
    cdef float **b
    cdef float **dw
    cdef float **db
    cdef float **act          # each layer's output; the last one is the logits
    cdef float **dx           # the gradient at each layer's input (none for layer 0)
    cdef float *probs
    cdef float *dlogits
    cdef float *work
    cdef size_t work_size     # floats in `work` (what the layers need depends on the
    cdef object work_array    # thread count, which fit's team size may change)
    cdef size_t *work_need    # each layer's need for this batch
    cdef list keep            # every array behind a pointer above
    cdef tuple written        # the gradients, which a batch must not overlap

    def __cinit__(self, kernels, biases, kernel_grads, bias_grads, relu, int64_t capacity):
        op = "DenseChain"
        cdef int L = len(kernels), l
        if L < 1 or not (len(biases) == len(kernel_grads) == len(bias_grads) == len(relu) == L):
            raise ValueError(f"{op}: expected one kernel, bias, kernel gradient, bias gradient "
                             f"and relu flag per layer, received {len(kernels)}, {len(biases)}, "
                             f"{len(kernel_grads)}, {len(bias_grads)} and {len(relu)}")
        if capacity < 1:
            raise ValueError(f"{op}: capacity must be at least 1, received {capacity}")
        self.depth, self.capacity, self.keep = L, capacity, []
        self.dims = <int64_t *>calloc(L + 1, sizeof(int64_t))
        self.relu = <int *>calloc(L, sizeof(int))
        self.w = <float **>calloc(L, sizeof(float *))
        self.b = <float **>calloc(L, sizeof(float *))
        self.dw = <float **>calloc(L, sizeof(float *))
        self.db = <float **>calloc(L, sizeof(float *))
        self.act = <float **>calloc(L, sizeof(float *))
        self.dx = <float **>calloc(L, sizeof(float *))
        self.work_need = <size_t *>calloc(L, sizeof(size_t))
        if not (self.dims and self.relu and self.w and self.b and self.dw and self.db and
                self.act and self.dx and self.work_need):
            raise MemoryError()
        written = []
        for l in range(L):
            f32(op, f"kernels[{l}]", kernels[l], 2)
            K, U = kernels[l].shape
            if l and K != self.dims[l]:
                raise ValueError(f"{op}: kernels[{l}] has shape {kernels[l].shape}, but the "
                                 f"layer before it has {self.dims[l]} units")
            if K < 1 or U < 1:
                raise ValueError(f"{op}: kernels[{l}] is empty (shape {kernels[l].shape})")
            self.dims[l], self.dims[l + 1] = K, U
            grad = _output(op, f"kernel_grads[{l}]", kernel_grads[l], (K, U), F32, (kernels[l],))
            self.w[l], self.dw[l] = fp(kernels[l]), fp(grad)
            written.append(grad)
            if (biases[l] is None) != (bias_grads[l] is None):
                raise ValueError(f"{op}: layer {l} has a bias or a bias gradient, not both")
            if biases[l] is not None:
                f32(op, f"biases[{l}]", biases[l], 1)
                if biases[l].shape[0] != U:
                    raise ValueError(f"{op}: biases[{l}] has shape {biases[l].shape}, "
                                     f"expected ({U},)")
                bgrad = _output(op, f"bias_grads[{l}]", bias_grads[l], (U,), F32,
                                (biases[l], kernels[l], grad))
                self.b[l], self.db[l] = fp(biases[l]), fp(bgrad)
                written.append(bgrad)
            self.relu[l] = 1 if relu[l] else 0
            act = np.empty((capacity, U), np.float32)
            self.act[l] = fp(act)
            self.keep += [kernels[l], biases[l], grad, bias_grads[l], act]
            if l:
                back = np.empty((capacity, K), np.float32)
                self.dx[l] = fp(back)
                self.keep.append(back)
        if self.relu[L - 1]:
            raise ValueError(f"{op}: the last layer's activation is the loss's softmax, not relu")
        for g in written:  # a gradient shared with a weight would change it mid-step
            for a in list(kernels) + [bias for bias in biases if bias is not None]:
                if _bounds_overlap(g, a):
                    raise ValueError(f"{op}: a gradient overlaps a weight")
        self.written = tuple(written)
        probs = np.empty((capacity, self.dims[L]), np.float32)
        dlogits = np.empty((capacity, self.dims[L]), np.float32)
        self.probs, self.dlogits = fp(probs), fp(dlogits)
        self.keep += [probs, dlogits]
        self.work, self.work_size, self.work_array = NULL, 0, None

    def __dealloc__(self):
        free(self.dims)
        free(self.relu)
        free(self.w)
        free(self.b)
        free(self.dw)
        free(self.db)
        free(self.act)
        free(self.dx)
        free(self.work_need)

    def train(self, x, targets, double scale, bint logits=False):
        """Forward, loss and backward on one batch: the gradients go to the kernel and bias
        gradient arrays; returns (the softmax probabilities, or with `logits` the logits,
        (N, C); the per-sample loss (N,)).
        `targets`: float32 (N, C) distributions, or int32 (N,) class labels; the logits'
        gradient is `scale` x that of the summed loss."""
        op = "DenseChain.train"
        cdef int L = self.depth, l
        cdef int64_t C = self.dims[L], n, i
        f32(op, "x", x, 2)
        n = x.shape[0]
        if n < 1 or n > self.capacity or x.shape[1] != self.dims[0]:
            raise ValueError(f"{op}: `x` must have shape (1..{self.capacity}, {self.dims[0]}), "
                             f"received {x.shape}")
        cdef bint sparse = cnp.PyArray_Check(targets) and \
            cnp.PyArray_TYPE(<cnp.ndarray>targets) == I32
        if sparse:
            _array(op, "targets", targets, I32, 1)
        else:
            f32(op, "targets", targets, 2)
        if targets.shape[0] != n or (not sparse and targets.shape[1] != C):
            raise ValueError(f"{op}: `targets` must have shape ({n},{'' if sparse else C}) "
                             f"for a batch of {n}, received {targets.shape}")
        cdef int32_t *labels = ip(targets) if sparse else NULL
        if sparse:
            for i in range(n):
                if labels[i] < 0 or labels[i] >= C:
                    raise ValueError(f"{op}: labels must be in [0, {C}) for {C} classes, "
                                     f"received {labels[i]}")
        for g in self.written:
            if _bounds_overlap(g, x) or _bounds_overlap(g, targets):
                raise ValueError(f"{op}: `x` or `targets` overlaps a gradient")
        out = np.empty((n, C), np.float32)
        loss = np.empty(n, np.float32)
        cdef size_t need = 1
        for l in range(L):  # at this call's thread count
            self.work_need[l] = fnn_dense_workspace_size(n, self.dims[l], self.dims[l + 1])
            need = max(need, self.work_need[l])
        if need > self.work_size:
            self.work_array = np.empty(need, np.float32)
            self.work, self.work_size = fp(self.work_array), need
        cdef float *X = fp(x)
        cdef float *T = NULL if sparse else fp(targets)
        cdef float *P = self.probs
        cdef float *OUT = fp(out)
        cdef float *LOSS = fp(loss)
        cdef float sc = scale
        cdef const float *inp
        cdef const float *dy
        with nogil:
            for l in range(L):
                inp = X if l == 0 else self.act[l - 1]
                fnn_dense_forward(self.act[l], inp, self.w[l], self.b[l], n, self.dims[l],
                                  self.dims[l + 1], self.relu[l], self.work,
                                  self.work_need[l])
            if sparse:
                fnn_sparse_softmax_cross_entropy_forward(P, LOSS, self.act[L - 1], labels, n, C)
                fnn_sparse_softmax_cross_entropy_backward(self.dlogits, P, labels, n, C, sc)
            else:
                fnn_softmax_cross_entropy_forward(P, LOSS, self.act[L - 1], T, n, C)
                fnn_softmax_cross_entropy_backward(self.dlogits, P, T, n, C, sc)
            dy = self.dlogits
            for l in range(L - 1, -1, -1):
                inp = X if l == 0 else self.act[l - 1]
                fnn_dense_backward_weight(self.dw[l], self.db[l], dy, inp, n, self.dims[l],
                                          self.dims[l + 1], self.work, self.work_need[l])
                if l == 0:
                    break
                fnn_dense_backward_input(self.dx[l], dy, self.w[l], n, self.dims[l],
                                         self.dims[l + 1], self.work, self.work_need[l])
                if self.relu[l - 1]:
                    fnn_relu_backward(self.dx[l], self.dx[l], self.act[l - 1],
                                      n * self.dims[l])
                dy = self.dx[l]
            memcpy(OUT, self.act[L - 1] if logits else P, n * C * sizeof(float))
        return out, loss
