"""The STDP weight factor is the same function, bit for bit, in numpy and in Brian2's compiled code.

Its exp is built from IEEE-exact operations (``equations.weight_factor``), so the
equality must hold on every CPU, including AVX-512 ones, where numpy's own exp
differs from the C library's (on 4.6 % of these inputs, measured on an
AVX-512 Xeon); the inputs span the whole range where the factor is neither 0
nor 2, and beyond.
"""

import ctypes
import math
import shutil
import subprocess

import numpy as np
import pytest

from bio_sleep.equations.weight_factor import CPP_CODE, CPP_HEADERS, FACTOR_WIDTH, weight_factor
from bio_sleep.sleep.brian2_network import COMPILE_ARGS

# t = -w / width from -60 to 60, plus the clamp's edges and exact zeros.
WEIGHTS = np.concatenate(
    [np.random.default_rng(0).uniform(-0.06, 0.06, 200_000), [0.0, -0.0, 0.04, -0.04, 0.037, -0.037, 1.0, -1.0, 1e-300]]
)


def _libm_factor(w: np.ndarray) -> np.ndarray:
    return np.array([2.0 * (1.0 - 1.0 / (1.0 + math.exp(min(-x / FACTOR_WIDTH, 700.0)))) for x in w])


def test_factor_is_the_authors_sigmoid_to_rounding():
    factor, exact = weight_factor(WEIGHTS), _libm_factor(WEIGHTS)
    # f = 2 - 2 sigmoid: an exp 1 ulp off moves f by at most a few ulp of 2.
    assert np.max(np.abs(factor - exact)) <= 8 * np.spacing(2.0)
    assert factor[np.abs(WEIGHTS) >= 0.04].tolist() == [0.0 if w > 0 else 2.0 for w in WEIGHTS[np.abs(WEIGHTS) >= 0.04]]
    assert weight_factor(np.array([0.0]))[0] == 1.0


@pytest.mark.skipif(shutil.which("g++") is None, reason="no C++ compiler")
def test_compiled_cpp_factor_is_bit_identical(tmp_path):
    """CPP_CODE compiled with the flags Brian2 gets (no fused multiply-add) gives numpy's bits."""
    source = tmp_path / "factor.cpp"
    source.write_text(
        "".join(f"#include {header}\n" for header in CPP_HEADERS)
        + "using namespace std;\n"
        + CPP_CODE
        + 'extern "C" void factor(const double* w, double* f, long n) '
        "{ for (long i = 0; i < n; ++i) f[i] = stdp_weight_factor(w[i]); }\n"
    )
    library = tmp_path / "factor.so"
    subprocess.run(["g++", *COMPILE_ARGS, "-shared", "-fPIC", str(source), "-o", str(library)], check=True)
    compiled = np.empty_like(WEIGHTS)
    pointer = ctypes.POINTER(ctypes.c_double)
    ctypes.CDLL(str(library)).factor(
        WEIGHTS.ctypes.data_as(pointer), compiled.ctypes.data_as(pointer), ctypes.c_long(len(WEIGHTS))
    )
    expected = weight_factor(WEIGHTS)
    assert np.array_equal(compiled, expected), f"{np.count_nonzero(compiled != expected)} factors differ"


@pytest.mark.filterwarnings("ignore")
def test_brian2_cython_factor_is_bit_identical():
    """The Cython implementation, through Brian2's own code generation, gives numpy's bits."""
    import brian2 as b2

    from bio_sleep.equations.synapses import stdp_weight_factor

    b2.set_device("runtime")
    b2.prefs.codegen.target = "cython"
    b2.prefs.codegen.cpp.extra_compile_args_gcc = COMPILE_ARGS
    group = b2.NeuronGroup(len(WEIGHTS), "w : 1\nf : 1", namespace={"stdp_weight_factor": stdp_weight_factor})
    group.w = WEIGHTS
    group.run_regularly("f = stdp_weight_factor(w)")
    b2.Network(group).run(b2.defaultclock.dt)
    compiled, expected = np.asarray(group.f[:]), weight_factor(WEIGHTS)
    assert np.array_equal(compiled, expected), f"{np.count_nonzero(compiled != expected)} factors differ"
