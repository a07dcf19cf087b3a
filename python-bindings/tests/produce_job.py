"""Datasets with fail points for the lakestream.produce tests, and a job that runs produce() on one.

Run as a script: ``produce_job.py URI JSON`` (JSON: the keyword arguments of ``run``). The fail
points synchronise on files, never on time: ``block`` = [epoch, index] makes the sample write
its pid to ``<marker>`` and wait until ``<marker>.go`` exists (the test kills someone meanwhile);
``fail`` = [epoch, index] raises ValueError.
"""
import json
import os
import sys
import time

import numpy as np
import torch


def sample(epoch, i):
    return {"idx": np.int64(i), "epoch": np.int64(epoch),
            "x": torch.arange(4, dtype=torch.float32) + float(i) * 0.5 + 1000.0 * epoch}


class _FailPoints:
    def _hit(self, i):
        key = [self.epoch, int(i)]
        if self.fail == key:
            raise ValueError("bad sample %d" % i)
        if self.block == key:
            with open(self.marker + ".tmp", "w") as f:
                f.write(str(os.getpid()))
            os.rename(self.marker + ".tmp", self.marker)
            deadline = time.monotonic() + 120
            while not os.path.exists(self.marker + ".go"):  # the test kills us before it writes this
                if time.monotonic() > deadline:
                    raise TimeoutError("nobody killed the blocked sample")
                time.sleep(0.01)

    def set_epoch(self, e):
        self.epoch = e


class MapDataset(torch.utils.data.Dataset, _FailPoints):
    def __init__(self, n, block=None, fail=None, marker=None):
        self.n, self.block, self.fail, self.marker, self.epoch = n, block, fail, marker, 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self._hit(i)
        return sample(self.epoch, i)


class Stream(torch.utils.data.IterableDataset, _FailPoints):
    """Samples 0..n-1, worker w of N taking i % N == w; ``stateful`` adds state_dict/load_state_dict."""

    def __init__(self, n, block=None, fail=None, marker=None):
        self.n, self.block, self.fail, self.marker, self.epoch = n, block, fail, marker, 0
        self.pos = 0  # next own sample (this worker's count)

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        w, nw = (0, 1) if info is None else (info.id, info.num_workers)
        mine = [i for i in range(self.n) if i % nw == w]
        while self.pos < len(mine):
            i = mine[self.pos]
            self.pos += 1
            self._hit(i)
            yield sample(self.epoch, i)
        self.pos = 0


class StatefulStream(Stream):
    def state_dict(self):
        return {"pos": self.pos}

    def load_state_dict(self, s):
        self.pos = s["pos"]


DATASETS = {"map": MapDataset, "stream": Stream, "stateful": StatefulStream}


def run(uri, kind="map", n=40, block=None, fail=None, marker=None, **kw):
    import lakestream
    ds = DATASETS[kind](n, block=block, fail=fail, marker=marker)
    return lakestream.produce(uri, ds, producer=kw.pop("producer", "p"), **kw)


if __name__ == "__main__":
    sys.exit(0 if run(sys.argv[1], **json.loads(sys.argv[2])) is not None else 1)
