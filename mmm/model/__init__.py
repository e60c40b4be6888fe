"""The Bayesian model: scaled features, the PyMC graph, sampling and the fitted estimator."""

import os

from mmm.model import arviz_cache


def compile_fast() -> None:
    """Have numba optimise at level 1 rather than its default 3, unless the user chose a level.

    A model's first compile takes about 4 s (10%) less and its code samples as fast (measured on
    104 weeks x 6 channels and 520 x 12): level 3's extra passes find nothing to speed up in
    PyTensor's small generated functions. The results are the same (no fast-math). Called on import,
    before numba sets up its code generator, and before each compile, as numba reads the setting
    again then (a `mmm warm` server runs each command in the caller's environment).
    """
    os.environ.setdefault("NUMBA_OPT", "1")


compile_fast()
arviz_cache.install()  # every import of ArviZ in mmm is in this package's modules, after this line
