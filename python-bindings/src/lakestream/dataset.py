"""``TorchDataset``: a ``torch.utils.data.IterableDataset`` over one rank's steps of a stream."""
from __future__ import annotations

import os

from torch.utils.data import IterableDataset, get_worker_info

from ._errors import EndOfStreamError, InvalidArgumentError, StepTimeoutError
from .reader import Reader


def _dist_rank_and_world_size():
    try:
        import torch.distributed as dist
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
    except Exception:  # noqa: BLE001 - a partial torch build
        pass
    return None


class TorchDataset(IterableDataset):
    """Yields one dict of tensors per step for this rank: the tensors the producer wrote (e.g.
    ``tokens``, ``record_id``) as torch tensors on the reader's pool memory (no copy), plus
    ``step`` (a Python int).

    * ``rank`` / ``world_size``: from the arguments, else ``torch.distributed`` if initialised,
      else the ``RANK`` / ``WORLD_SIZE`` environment variables, else 0 / 1.
    * Iteration starts at ``start_step`` (or the step restored by :meth:`load_state_dict`) and
      ends after ``steps`` steps if given (a step missing for ``timeout_s`` then raises
      :class:`StepTimeoutError`), at once at the end of a closed stream (:func:`close_stream`),
      else when no new step is committed within ``timeout_s`` seconds (the producers are done or
      stalled); a step that is committed but cannot be fetched in time raises instead of ending
      the iteration.
    * ``prefetch``: steps fetched and decoded ahead on Java threads.
    * ``elastic=True``: read a stream written for another world size (e.g. resume a checkpoint
      taken with 8 GPUs on 4): each step's samples are split into ``world_size`` contiguous
      ranges, the first ``n % world_size`` ranks one more. Default: refuse another world size.
    * ``bytes_read``: batch bytes this dataset copy read from the store, summed over its finished
      iterations (in a DataLoader worker: that worker's share).
    * State (torchdata ``StatefulDataLoader`` convention): ``state_dict()`` is
      ``{"next_step": N}``, the step after the last one yielded; ``load_state_dict`` makes the next
      iteration start there, yielding byte-identical tensors.
    * Lifetime: a yielded tensor stays valid as long as you hold it; its step's pool slab is
      returned when every tensor of that step is garbage. Hold at most about ``prefetch`` steps
      at once (``.clone()`` what you keep longer), or the reader stalls waiting for a slab and
      raises :class:`PoolExhaustedError` (a :class:`StepTimeoutError`, ``committed=True``, naming
      the held steps) after ``timeout_s``.
    * ``num_workers > 0``: every worker starts its own JVM lazily and worker ``k`` of ``n`` yields
      the steps ``s`` with ``(s - first) % n == k``; with the DataLoader's default in-order
      round robin the trainer still sees steps in order. The stride is pushed down into the Java
      reader: a worker never fetches, checksums or decodes another worker's steps, so the workers
      together read each step once. Tensors are still copied into shared memory to reach the
      trainer (and each worker holds a JVM), so ``num_workers=0`` is usually faster: the Java side
      already fetches and decodes ``prefetch`` steps ahead on its own threads. If this process
      has already started its JVM, workers must be started with
      ``multiprocessing_context="spawn"`` (a JVM does not survive fork); otherwise a clear
      error is raised. With workers and a plain DataLoader, take the resume point from the
      batches (``batch["step"] + 1``), since the workers' dataset copies hold the state; with
      torchdata's ``StatefulDataLoader`` each worker's ``state_dict()`` carries what it needs to
      resume its own share.
    """

    def __init__(self, uri: str, rank: int = None, world_size: int = None, start_step: int = 0, steps: int = None,
                 timeout_s: float = 30.0, prefetch: int = 4, elastic: bool = False):
        super().__init__()
        if start_step < 0:
            raise InvalidArgumentError("lakestream: start_step must be >= 0, got %d" % start_step)
        if steps is not None and steps < 0:
            raise InvalidArgumentError("lakestream: steps must be >= 0 or None, got %d" % steps)
        self.uri = uri
        self.rank = rank
        self.world_size = world_size
        self.steps = steps
        self.timeout_s = float(timeout_s)
        self.prefetch = int(prefetch)
        self.elastic = bool(elastic)
        self._next_step = int(start_step)
        self._worker = None  # (anchor, end) inside a DataLoader worker
        self.pin_mode = None  # "CUDA" | "MLOCK" | "NONE" once a step was read in this process
        self.bytes_read = 0  # batch bytes this copy's finished iterations read from the store

    def rank_and_world_size(self):
        """(rank, world size) this dataset reads as (arguments, torch.distributed, env, (0, 1))."""
        rank, ws = self.rank, self.world_size
        if rank is None or ws is None:
            d = _dist_rank_and_world_size()
            if d is None and "RANK" in os.environ and "WORLD_SIZE" in os.environ:
                d = (int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]))
            if d is None:
                d = (0, 1)
            rank = d[0] if rank is None else rank
            ws = d[1] if ws is None else ws
        rank, ws = int(rank), int(ws)
        if ws < 1 or not 0 <= rank < ws:
            raise InvalidArgumentError("lakestream: rank %d is outside world size %d" % (rank, ws))
        return rank, ws

    def state_dict(self):
        """``{"next_step": N}``: the step after the last one this copy yielded.

        Inside a DataLoader worker (what torchdata's ``StatefulDataLoader`` saves per worker) it
        also carries ``anchor`` and ``end``, so that each worker resumes its own share of steps.
        """
        if self._worker is None:
            return {"next_step": self._next_step}
        anchor, end = self._worker
        return {"next_step": self._next_step, "anchor": anchor, "end": end}

    def load_state_dict(self, state):
        n = int(state["next_step"])
        if n < 0:
            raise InvalidArgumentError("lakestream: next_step must be >= 0, got %d" % n)
        self._next_step = n
        self._worker = (state["anchor"], state.get("end")) if state.get("anchor") is not None else None

    def __iter__(self):
        rank, ws = self.rank_and_world_size()
        info = get_worker_info()
        n, k = (1, 0) if info is None else (info.num_workers, info.id)
        first = self._next_step
        if n > 1 and self._worker is not None:
            anchor, end = self._worker  # a worker's own saved state: keep its share of the steps
        else:
            anchor, end = first, (None if self.steps is None else first + self.steps)
        self._worker = (anchor, end) if info is not None else None
        mine = first + (k - (first - anchor)) % n  # this worker's first step: (s - anchor) % n == k
        if end is not None and mine >= end:
            return
        # The stride goes down to the Java reader: this worker never reads the others' steps.
        reader = Reader(self.uri, rank, ws, mine, self.prefetch, step_stride=n, elastic=self.elastic)
        try:
            while True:
                try:
                    b = reader.next(self.timeout_s)
                except EndOfStreamError:
                    return  # the stream is closed and every step was read: end at once
                except StepTimeoutError as e:
                    if end is None and not e.committed:
                        return  # no new step committed within timeout_s: the stream is drained
                    raise
                s = b.step
                if end is not None and s >= end:
                    return
                self.pin_mode = b.pin_mode
                item = b.torch()
                item.setdefault("step", s)
                del b
                self._next_step = s + 1
                yield item
                if end is not None and s + n >= end:
                    return
        finally:
            import jpype
            if jpype.isJVMStarted():  # at interpreter exit the JVM may be gone before this generator
                self.bytes_read += reader.bytes_read
                reader.close()

    def metrics(self) -> dict:
        """This process's Lakestream metrics as ``{series: value}``, the names Prometheus sees
        (e.g. ``lakestream_reader_data_stall_ratio``); in a DataLoader worker, that worker's."""
        from .metrics import metrics
        return metrics()

    def __repr__(self):
        return "TorchDataset(uri=%r, rank=%r, world_size=%r, next_step=%d, steps=%r)" % (
            self.uri, self.rank, self.world_size, self._next_step, self.steps)
