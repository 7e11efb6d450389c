"""The authors' STDP weight factor f(w) = 2 (1 - sigmoid(w / 0.001)), bit-identical on every CPU.

Why not ``exp``: numpy's float64 ``exp`` is chosen per CPU at run time (on
AVX-512 it is numpy's own, 1 ulp off the C library's on about 5 % of inputs),
and C libraries differ among themselves, so "the same exp on both sides" cannot
be had from either. The factor therefore uses an exp built only from IEEE 754
operations that are correctly rounded on every CPU: +, -, *, /, ``floor`` and
scaling by a power of two (``ldexp``):

    t = clamp(-w / 0.001, -40, 40)            # f is exactly 0 or 2 in float64 beyond |t| = 37
    k = floor(t / ln 2 + 1/2)                 # t = k ln 2 + r, |r| <= ln 2 / 2 (Cody-Waite, two-part ln 2)
    r = (t - k LN2_HI) - k LN2_LO
    exp(r) = sum_{n <= 13} r^n / n!           # Taylor by Horner: truncation below 5e-18, within 2 ulp of exp
    f = 2 (1 - 1 / (1 + ldexp(exp(r), k)))

The compiled code returns f(+-40) (exactly 2 and 0, ``SATURATED``) at once
for |t| >= 40 instead of clamping, and scales by 2^k made from its exponent
bits instead of calling libm's ``ldexp``: the same bits, with less work per
STDP event (``benchmarks/weight_factor_speed.py`` times the factor).

The numpy function below and the C++ and Cython code that Brian2 compiles
(generated from the same constants, written with 17 significant digits so
that every compiler reads the same doubles) perform these operations in the
same order; with contraction into fused multiply-adds switched off in the
compiled code (``-ffp-contract=off``) both give the same bits on x86-64 with
or without AVX-512 and on aarch64. This module imports numpy only.
"""

from __future__ import annotations

import math

import numpy as np

# Width of the sigmoid in the authors' factor.
FACTOR_WIDTH = 0.001
# Beyond |t| = 37, 1 + e^-|t| rounds to 1 in float64, so clamping t to +-40 leaves f unchanged (0 or 2).
CLAMP = 40.0
INV_LN2 = 1.0 / math.log(2.0)
# fdlibm's two-part ln 2: LN2_HI has 21 trailing zero bits, so k * LN2_HI is exact for the k used here.
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
TAYLOR_DEGREE = 13
# 1/n!, highest degree first (the Horner order); n! is exact in float64 up to 22!.
COEFFICIENTS = tuple(1.0 / math.factorial(n) for n in range(TAYLOR_DEGREE, -1, -1))


def weight_factor(w) -> np.ndarray:
    """f(w) for an array of float64 weights, in a new array: the operations of the compiled code, in its order."""
    t = np.array(w, dtype=np.float64)
    np.negative(t, out=t)
    np.divide(t, FACTOR_WIDTH, out=t)
    np.clip(t, -CLAMP, CLAMP, out=t)
    k = np.multiply(t, INV_LN2)
    np.add(k, 0.5, out=k)
    np.floor(k, out=k)
    scaled = np.multiply(k, LN2_HI)
    r = np.subtract(t, scaled, out=t)  # t is no longer needed
    np.multiply(k, LN2_LO, out=scaled)
    np.subtract(r, scaled, out=r)
    p = np.full_like(r, COEFFICIENTS[0])
    for coefficient in COEFFICIENTS[1:]:
        np.multiply(p, r, out=p)
        np.add(p, coefficient, out=p)
    with np.errstate(invalid="ignore"):  # k of a NaN weight; its factor stays NaN either way
        exponent = k.astype(np.int32)
    np.ldexp(p, exponent, out=p)
    np.add(1.0, p, out=p)
    np.divide(1.0, p, out=p)
    np.subtract(1.0, p, out=p)
    np.multiply(2.0, p, out=p)
    return p


# f at t = -40 and t = +40 (w >= 0.04 and w <= -0.04): what the compiled code returns beyond the clamp.
SATURATED = tuple(float(f) for f in weight_factor(np.array([CLAMP * FACTOR_WIDTH, -CLAMP * FACTOR_WIDTH])))


def _literal(value: float) -> str:
    return repr(float(value))


def _horner(indent: str) -> str:
    lines = [f"p = {_literal(COEFFICIENTS[0])}"]
    lines += [f"p = p * r + {_literal(c)}" for c in COEFFICIENTS[1:]]
    return "".join(f"{indent}{line}{{end}}\n" for line in lines)


# The same operations for Brian2's C++ (cpp_standalone) and Cython (runtime) targets.
CPP_CODE = f"""
double stdp_weight_factor(double w) {{
    const double t = -w / {_literal(FACTOR_WIDTH)};
    if (t <= -{_literal(CLAMP)})
        return {_literal(SATURATED[0])};
    if (t >= {_literal(CLAMP)})
        return {_literal(SATURATED[1])};
    const double k = floor(t * {_literal(INV_LN2)} + 0.5);
    const double r = (t - k * {_literal(LN2_HI)}) - k * {_literal(LN2_LO)};
    double p;
{_horner("    ").format(end=";")}    // 2^k from its exponent bits (|k| <= 58): p * 2^k is exact, as ldexp(p, k) is.
    const uint64_t bits = (uint64_t)((int64_t)k + 1023) << 52;
    double scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return 2.0 * (1.0 - 1.0 / (1.0 + p * scale));
}}
"""
CPP_HEADERS = ["<cmath>", "<cstdint>", "<cstring>"]

CYTHON_CODE = f"""
from libc.math cimport floor, ldexp

cdef double stdp_weight_factor(double w):
    cdef double t = -w / {_literal(FACTOR_WIDTH)}
    cdef double k, r, p
    if t <= -{_literal(CLAMP)}:
        return {_literal(SATURATED[0])}
    if t >= {_literal(CLAMP)}:
        return {_literal(SATURATED[1])}
    k = floor(t * {_literal(INV_LN2)} + 0.5)
    r = (t - k * {_literal(LN2_HI)}) - k * {_literal(LN2_LO)}
{_horner("    ").format(end="")}    return 2.0 * (1.0 - 1.0 / (1.0 + ldexp(p, <int>k)))
"""
