"""MiniBatchKMeans: a fixed number of minibatches from the same initial centres,
and the memory of a fit on a memory-mapped ``.npy`` file as the file grows."""

import os
import tempfile

import numpy as np

from kmeans import MiniBatchKMeans
from kmeans._bench import AnonymousPeak, write_npy

from .common import PerWorkload, blobs, shape


class MiniBatchFit(PerWorkload):
    """``n // 1024`` steps of 1024 rows (one pass; no early stopping, no final
    labels): the minibatch hot loop."""

    def setup(self, workload, dtype):
        n, d, k = shape(workload)
        self.X, self.init = blobs(n, d, k, dtype)

    def _fit(self):
        return MiniBatchKMeans(
            self.init.shape[0],
            init=self.init,
            batch_size=1024,
            max_iter=1,
            max_no_improvement=None,
            compute_labels=False,
            random_state=0,
        ).fit(self.X)

    def time_fit(self, workload, dtype):
        self._fit()

    def peakmem_fit(self, workload, dtype):
        self._fit()

    def track_inertia(self, workload, dtype):
        return -self._fit().score(self.X)

    track_inertia.unit = "squared distance"


class MiniBatchMemoryMap:
    """Peak anonymous memory (what the process allocates, not the file's pages in
    the page cache) of ``fit`` on a memory-mapped float32 file, d=32, k=64, one
    pass, labels included: it grows with the labels (4 bytes a row) only.
    peakmem_ would count the mapped file's pages as they are read."""

    params = [64, 256]
    param_names = ["file_mib"]
    timeout = 300

    def setup(self, file_mib):
        self.directory = tempfile.mkdtemp()
        self.path = os.path.join(self.directory, "X.npy")
        write_npy(self.path, file_mib * 2**20 // (32 * 4), 32)

    def teardown(self, file_mib):
        os.unlink(self.path)
        os.rmdir(self.directory)

    def track_anonymous_peak_mib(self, file_mib):
        X = np.load(self.path, mmap_mode="r")
        model = MiniBatchKMeans(64, max_iter=1, random_state=0)
        with AnonymousPeak() as peak:
            model.fit(X)
        return peak.extra_bytes / 2**20

    track_anonymous_peak_mib.unit = "MiB"

    def time_fit(self, file_mib):
        MiniBatchKMeans(64, max_iter=1, random_state=0).fit(
            np.load(self.path, mmap_mode="r")
        )
