# Included by _C.pyx: the per-ISA plain-C functions (csrc/util.h's FNN_ISA_VARIANTS) and
# which of their versions ran, for the tests that force each ISA (tests/test_gemm_isa.py).

_ISA_BITS = (("generic", 1), ("avx2", 2), ("avx512", 4))


def isa_sites():
    """{"file:function": set of the ISA versions that ran since isa_sites_reset()} for
    every plain-C function compiled once per ISA (csrc/util.h)."""
    out = {}
    for i in range(fnn_isa_site_count()):
        ran = fnn_isa_site_ran(i)
        name = (fnn_isa_site_file(i).decode().replace("csrc/", "") + ":"
                + fnn_isa_site_name(i).decode())
        out[name] = {isa for isa, bit in _ISA_BITS if ran & bit}
    return out


def isa_sites_reset():
    fnn_isa_sites_reset()
