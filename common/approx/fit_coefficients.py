#!/usr/bin/env python3
"""Offline fit of the polynomial coefficients in fixed_functions.cpp (pure Python, no numpy).

Weighted minimax by Lawson's algorithm (iteratively reweighted least squares, which converges
to the weighted Chebyshev approximation) on a dense grid, least squares solved by Householder
QR. Run: python3 common/approx/fit_coefficients.py
"""
import math


def lstsq(rows, rhs):
    # Householder QR of the tall matrix `rows`, then back substitution.
    a = [r[:] + [b] for r, b in zip(rows, rhs)]
    n = len(rows[0])
    for k in range(n):
        norm = math.sqrt(sum(a[i][k] ** 2 for i in range(k, len(a))))
        if a[k][k] > 0:
            norm = -norm
        v = [0.0] * len(a)
        v[k] = a[k][k] - norm
        for i in range(k + 1, len(a)):
            v[i] = a[i][k]
        vv = sum(x * x for x in v[k:])
        if vv == 0:
            continue
        for j in range(k, n + 1):
            s = sum(v[i] * a[i][j] for i in range(k, len(a))) * 2 / vv
            for i in range(k, len(a)):
                a[i][j] -= s * v[i]
    c = [0.0] * n
    for k in reversed(range(n)):
        c[k] = (a[k][n] - sum(a[k][j] * c[j] for j in range(k + 1, n))) / a[k][k]
    return c


def lawson(xs, target, degree, weight=lambda x: 1.0, iters=60):
    w = [1.0 / len(xs)] * len(xs)
    for _ in range(iters):
        rows = [[math.sqrt(wi) * x ** i for i in range(degree + 1)] for x, wi in zip(xs, w)]
        rhs = [math.sqrt(wi) * target(x) for x, wi in zip(xs, w)]
        c = lstsq(rows, rhs)
        err = [abs(weight(x) * (sum(ci * x ** i for i, ci in enumerate(c)) - target(x)))
               for x in xs]
        total = sum(wi * e for wi, e in zip(w, err))
        w = [wi * e / total for wi, e in zip(w, err)]
    return c, max(err)


def grid(lo, hi, n=600):
    # Chebyshev-clustered points: minimax errors peak at the ends.
    return [lo + (hi - lo) * (1 - math.cos(math.pi * i / (n - 1))) / 2 for i in range(n)]


def gelu_h(x):
    return 0.5 * x * math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))


if __name__ == "__main__":
    # exp_neg: P(v) ~ e^(2 v) on v in [-1, 0], squared three times. The final error is about
    # 8 y^7 |P - e^(2v)|, so the weight is 8 e^(14 v).
    c, err = lawson(grid(-1.0, 0.0, 800), lambda v: math.exp(2 * v), 4,
                    weight=lambda v: 8 * math.exp(14 * v), iters=100)
    print("kExpCoeffs, weighted error", err)
    print(",\n".join(repr(x) for x in c))
    # gelu: h(x) = gelu(x) - x / 2 (even) as Q(v), v = 2 (x / 4)^2 - 1 in [-1, 1] (in this basis
    # the coefficients sum to 2.8 in magnitude, against 370 in w = (x / 4)^2 on [0, 1]).
    # Q(1) is the tail's offset (GELU = x - 2 + Q(1) beyond 4, where gelu(x) - x rises from
    # h(4) - 2 = -7e-5 to 0): fixed at the middle, 2 + (h(4) - 2) / 2, by Q(v) = Q(1) -
    # (1 - v) R(v), R of degree 7 fitted with the weight 1 - v (the last grid point is v = 1).
    q1 = 2 + (gelu_h(4.0) - 2) / 2
    hv = lambda v: gelu_h(4 * math.sqrt((1 + v) / 2))
    r, err = lawson(grid(-1.0, 1.0)[:-1], lambda v: (q1 - hv(v)) / (1 - v), 7,
                    weight=lambda v: 1 - v)
    c = [q1 - r[0]] + [r[i - 1] - (r[i] if i < 8 else 0) for i in range(1, 9)]
    print("kGeluCoeffs, error", err, "Q(1)", sum(c))
    print(",\n".join(repr(x) for x in c))
    # rsqrt initial guess y0 = c - 9 m / 32: the c minimising max |1 - m y0^2| on [1, 2].
    ms = [1 + j / 2000 for j in range(2001)]
    best = min((max(abs(1 - m * (1.24 + i / 1e5 - 9 / 32 * m) ** 2) for m in ms),
                1.24 + i / 1e5) for i in range(4000))
    print("kRsqrtGuess", best[1], "max |e|", best[0])
