"""Python operators for weights (`Variable`) and symbolic tensors (`KerasTensor`): each
runs the keras.ops function of the same meaning, so `inputs @ self.w + self.b` in a
custom layer is recorded by the tape, and `a + b` on KerasTensors adds a layer to a
Functional graph.  (`==` keeps Python's identity meaning, so weights stay hashable.)"""


def _ops():
    from fastnn.autodiff import numpy_ops
    return numpy_ops


class ArrayOperators:
    __array_priority__ = 30.0

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from fastnn.autodiff import dispatch
        return dispatch.ufunc(ufunc, method, inputs, kwargs)

    def __add__(self, other):
        return _ops().add(self, other)

    def __radd__(self, other):
        return _ops().add(other, self)

    def __sub__(self, other):
        return _ops().subtract(self, other)

    def __rsub__(self, other):
        return _ops().subtract(other, self)

    def __mul__(self, other):
        return _ops().multiply(self, other)

    def __rmul__(self, other):
        return _ops().multiply(other, self)

    def __truediv__(self, other):
        return _ops().divide(self, other)

    def __rtruediv__(self, other):
        return _ops().divide(other, self)

    def __pow__(self, other):
        return _ops().power(self, other)

    def __rpow__(self, other):
        return _ops().power(other, self)

    def __matmul__(self, other):
        return _ops().matmul(self, other)

    def __rmatmul__(self, other):
        return _ops().matmul(other, self)

    def __neg__(self):
        return _ops().negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops().abs(self)

    def __lt__(self, other):
        return _ops().less(self, other)

    def __le__(self, other):
        return _ops().less_equal(self, other)

    def __gt__(self, other):
        return _ops().greater(self, other)

    def __ge__(self, other):
        return _ops().greater_equal(self, other)

    def __getitem__(self, key):
        return _ops().getitem(self, key)

    @property
    def T(self):
        return _ops().transpose(self)

    __hash__ = object.__hash__
