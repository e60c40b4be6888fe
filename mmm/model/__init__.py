"""The Bayesian model: scaled features, the PyMC graph, sampling and the fitted estimator."""

import os

from mmm.model import arviz_cache

# LLVM's optimiser at level 1 rather than numba's default 3, unless the user chose one (numba reads the
# setting again before each compile): a model's first compile takes about 5 s (12-15%) less, and its
# code samples as fast (measured on 104 weeks x 6 channels and 520 x 12), as level 3's extra passes
# find nothing to speed up in PyTensor's small generated functions. Same results either way (no fast-math).
os.environ.setdefault("NUMBA_OPT", "1")
arviz_cache.install()  # every import of ArviZ in mmm is in this package's modules, after this line
