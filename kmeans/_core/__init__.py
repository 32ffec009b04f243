"""The hot loop: everything that reads X, and nothing that validates.

One fit is, for each data kind (dense NumPy or CSR), the same few pieces:

- :mod:`.blocks`: fixed blocks and partitions of rows, the thread pool, BLAS
  held to one thread (results never depend on the thread count);
- :mod:`.kernel`: **the assignment kernel**, the one nearest-centre computation
  (one matrix product per block, then one reduction), dense or CSR rows;
- :mod:`.update`: the one centre update (scatter-add of moved rows into
  per-partition sums; empty clusters take the farthest rows);
- :mod:`.sampling`: the one weighted sampler of rows;
- :mod:`.init`: k-means++ and random seeds;
- :mod:`.lloyd`: the Lloyd pass, the shared iteration driver and stopping rule;
- :mod:`.pruned`: Hamerly's and Elkan's bounds around the same kernel;
- :mod:`.minibatch`: the minibatch step; :mod:`.swap`: random swap refinement
  (:mod:`.cosine_swap`: its split-and-merge twin for cosine k-means);
- :mod:`.dense` and :mod:`.sparse`: whole-array passes (final labels, predict,
  score, transform) and data statistics.

Callers (the estimators, the Dask backend) validate first and pick the kernels
of their data kind (:mod:`kmeans._backends`). Dense centres are handled in a
frame shifted by the data mean (``shift``); CSR data are never shifted.
"""

from __future__ import annotations
