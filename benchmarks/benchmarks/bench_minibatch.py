"""MiniBatchKMeans: one pass, one ``partial_fit`` step, and the memory of a fit on
a memory-mapped ``.npy`` file as the file grows."""

import json
import os
import subprocess
import sys
import tempfile

from kmeans import MiniBatchKMeans

from .common import PerWorkload, data


def _model(init):
    return MiniBatchKMeans(
        init.shape[0],
        init=init,
        n_init=1,
        batch_size=1024,
        max_iter=1,
        max_no_improvement=None,
        compute_labels=False,
        random_state=0,
    )


class MiniBatchFit(PerWorkload):
    """``n // 1024`` steps of 1024 rows (one pass; no early stopping, no final
    labels): the minibatch hot loop."""

    def _fit(self):
        return _model(self.init).fit(self.X)

    def time_fit(self, workload, dtype):
        self._fit()

    def peakmem_fit(self, workload, dtype):
        self._fit()

    def track_inertia(self, workload, dtype):
        return -self._fit().score(self.X)

    track_inertia.unit = "squared distance"


class MiniBatchStep:
    """One ``partial_fit`` step of 1024 rows on narrow data and on the float32
    screen's case (float64, 64 features, 256 clusters)."""

    params = ["narrow", "screen"]
    param_names = ["case"]
    timeout = 300

    def setup(self, case):
        X, init = data(case)
        # full batches only, at most 64 of them
        self.batches = [X[lo : lo + 1024] for lo in range(0, len(X) - 1023, 1024)][:64]
        self.model = _model(init).partial_fit(self.batches[0])  # initialised
        self.step = 0

    def _step(self):
        self.step += 1
        return self.model.partial_fit(self.batches[self.step % len(self.batches)])

    def time_partial_fit(self, case):
        self._step()

    def peakmem_partial_fit(self, case):
        self._step()

    def track_inertia_of_a_batch_after_64_steps(self, case):
        for _ in range(64):
            self._step()
        return -self.model.score(self.batches[0])

    track_inertia_of_a_batch_after_64_steps.unit = "squared distance"


class MiniBatchMemoryMap:
    """Peak anonymous memory (what the process allocates, not the file's pages in
    the page cache, which peakmem_ would count) of a one-pass ``fit`` on a
    memory-mapped float32 file, d=32, k=64, labels included, as measured by
    ``kmeans bench --memmap``: it grows with the labels (4 bytes a row) only."""

    params = [64, 256]
    param_names = ["file_mib"]
    timeout = 600

    def setup_cache(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "memmap.json")
            sizes = ",".join(map(str, self.params))
            command = ["-m", "kmeans", "bench", "--memmap", "--sizes", sizes, "--json", out]
            subprocess.run([sys.executable, *command], check=True, capture_output=True)
            with open(out) as f:
                rows = json.load(f)["memmap"]
        return {row["file_bytes"] // 2**20: row for row in rows}

    def track_anonymous_peak_mib(self, rows, file_mib):
        return rows[file_mib]["peak_anon_extra_bytes"] / 2**20

    track_anonymous_peak_mib.unit = "MiB"

    def track_fit_seconds(self, rows, file_mib):
        return rows[file_mib]["seconds"]

    track_fit_seconds.unit = "seconds"
