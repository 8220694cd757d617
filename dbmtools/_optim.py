"""The optimiser step shared by :func:`dbmtools.train` and :func:`dbmtools.rbm.fit`.

Both learners take plain gradient steps (SGD) or Adam steps; Adam keeps running
moment estimates, so it is a small object that lives for one training run.
"""

from __future__ import annotations

import numpy as np

OPTIMIZERS = ("sgd", "adam")


class Adam:
    """Adam's bias-corrected step direction (Kingma & Ba 2015).

    ``direction(grad)`` updates the first and second moment estimates in place
    and returns ``m1_hat / (sqrt(m2_hat) + eps)``; the caller multiplies it by
    its learning rate(s) and adds or subtracts it (ascent or descent).

    Parameters
    ----------
    shape : tuple of int
        Shape of the parameters (and gradients).
    beta1, beta2, eps : float
        The usual constants.

    Examples
    --------
    >>> opt = Adam((2,))
    >>> opt.direction(np.array([0.5, -2.0])).round(6).tolist()  # first step: sign(grad)
    [1.0, -1.0]
    """

    def __init__(self, shape, *, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m1 = np.zeros(shape)
        self.m2 = np.zeros(shape)
        self.n_steps = 0

    def direction(self, grad: np.ndarray) -> np.ndarray:
        """Update the moment estimates with ``grad`` and return the step direction."""
        self.n_steps += 1
        b1, b2 = self.beta1, self.beta2
        self.m1 = b1 * self.m1 + (1 - b1) * grad
        self.m2 = b2 * self.m2 + (1 - b2) * grad**2
        return (self.m1 / (1 - b1**self.n_steps)) / (
            np.sqrt(self.m2 / (1 - b2**self.n_steps)) + self.eps
        )
