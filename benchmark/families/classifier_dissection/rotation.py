"""Random rotations of a representation and their real fractional powers (bau2017's test of units
against random directions, claim O3).

Q is drawn from SO(n) (scipy's special_ortho_group): a reflection (det -1) has no real fractional
power. Q^a is built from Q's real Schur form Q = Z T Z^T: for a normal matrix T is block diagonal
with 2x2 rotation blocks [[c, -s], [s, c]] (angle theta) and 1x1 blocks +1 (or -1, which for
det +1 come in pairs: a rotation by pi). Q^a = Z T^a Z^T with every angle scaled by a, so Q^a is
itself a real rotation, Q^0 = I and Q^1 = Q.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import schur
from scipy.stats import special_ortho_group


def random_rotation(n: int, seed: int) -> np.ndarray:
    """A Haar-random element of SO(n), a fixed function of (n, seed)."""
    if n < 2:
        raise ValueError(f"a rotation needs n >= 2, got {n}")
    return special_ortho_group.rvs(n, random_state=np.random.default_rng(seed))


def fractional_power(q: np.ndarray, a: float, tol: float = 1e-8) -> np.ndarray:
    """Q^a for a rotation Q (orthogonal, det +1), real, via the real Schur form."""
    q = np.asarray(q, np.float64)
    n = q.shape[0]
    if q.shape != (n, n) or not np.allclose(q @ q.T, np.eye(n), atol=1e-8):
        raise ValueError("fractional_power takes an orthogonal matrix")
    if np.linalg.det(q) < 0:
        raise ValueError("a reflection (det -1) has no real fractional power; draw Q from SO(n)")
    if a == 0:  # exactly the identity: Z Z^T would leave 1e-16 of every unit in every other, and a
        return np.eye(n)  # dissection thresholds a sparse unit's zeros at that noise
    if a == 1:
        return q.copy()
    t, z = schur(q, output="real")
    out = np.zeros_like(t)
    minus = []  # 1x1 blocks at -1, paired into rotations by pi
    i = 0
    while i < n:
        if i + 1 < n and abs(t[i + 1, i]) > tol:  # a 2x2 rotation block
            theta = np.arctan2(t[i + 1, i], t[i, i])
            c, s = np.cos(a * theta), np.sin(a * theta)
            out[i:i + 2, i:i + 2] = [[c, -s], [s, c]]
            i += 2
        else:
            if t[i, i] > 0:
                out[i, i] = 1.0
            else:
                minus.append(i)
            i += 1
    if len(minus) % 2:
        raise ValueError("odd number of -1 eigenvalues: not a rotation")
    for i, j in zip(minus[::2], minus[1::2]):
        c, s = np.cos(a * np.pi), np.sin(a * np.pi)
        out[np.ix_([i, j], [i, j])] = [[c, -s], [s, c]]
    return z @ out @ z.T
