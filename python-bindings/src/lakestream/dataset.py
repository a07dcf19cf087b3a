"""``TorchDataset``: a ``torch.utils.data.IterableDataset`` over one rank's steps of a stream."""
from __future__ import annotations

import ctypes
import os
import signal
import sys

from torch.utils.data import IterableDataset, get_worker_info

from ._errors import EndOfStreamError, InvalidArgumentError, StepTimeoutError
from . import _jobfeed, _nodefetch
from .reader import Reader


def _dist_rank_and_world_size():
    try:
        import torch.distributed as dist
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
    except Exception:  # noqa: BLE001 - a partial torch build
        pass
    return None


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_dies_with_parent = False


def _die_with_parent():
    """Makes this DataLoader worker die when its trainer dies, at once (Linux).

    A worker holds a JVM and its pool; after a SIGKILL of the trainer, PyTorch's own watchdog
    notices only every 5 s, so workers outlived it by seconds. PR_SET_PDEATHSIG has the kernel
    send SIGKILL when the parent thread that started the worker exits; a worker only reads, so
    nothing is lost. Best effort: elsewhere PyTorch's watchdog still ends it.
    """
    global _dies_with_parent
    if _dies_with_parent or not sys.platform.startswith("linux"):
        return
    try:
        ppid = os.getppid()
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            return
        _dies_with_parent = True
        if os.getppid() != ppid:  # the trainer died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _end_step(uri):
    """The end step of a closed stream, else None."""
    from .reader import _open_store
    from . import _jvm
    store = _open_store(uri, False)
    try:
        st = _jvm.jclass("io.lakestream.log.ManifestLog").open(store).state()
        return int(st.endStep()) if st.ended() else None
    finally:
        store.close()


class _Step(dict):
    """One step's dict of tensors. A DataLoader with ``batch_size`` other than None would stack
    several steps (PyTorch's default ``batch_size=1`` silently adds a dimension): its collate
    function rebuilds this type from per-key batches, where ``step`` is no longer an int, and
    that is refused here with what to do. Copies that keep ``step`` an int (pin_memory,
    default_convert with ``batch_size=None``) are fine."""

    @classmethod
    def of(cls, d):
        out = cls.__new__(cls)
        dict.update(out, d)
        return out

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "step" in self and not isinstance(self["step"], int):
            raise InvalidArgumentError(
                "lakestream: a TorchDataset step is already a batch (this rank's shard of one global batch); "
                "DataLoader(ds) with batch_size=%s would stack steps and add a dimension: use "
                "DataLoader(ds, batch_size=None) or ds.loader(num_workers=...)" % (
                    len(self["step"]) if hasattr(self["step"], "__len__") else "?"))


class TorchDataset(IterableDataset):
    """Yields one dict of tensors per step for this rank: the tensors the producer wrote (e.g.
    ``tokens``, ``record_id``) as torch tensors on the reader's pool memory (no copy), plus
    ``step`` (a Python int).

    * ``rank`` / ``world_size``: from the arguments, else ``torch.distributed`` if initialised,
      else the ``RANK`` / ``WORLD_SIZE`` environment variables, else 0 / 1.
    * Iteration starts at ``start_step`` (or the step restored by :meth:`load_state_dict`) and
      ends after ``steps`` steps if given (a step missing for ``timeout_s`` then raises
      :class:`StepTimeoutError`), or at once at the end of a closed stream (:func:`close_stream`).
      On a stream that is not closed, no new step within ``timeout_s`` raises
      :class:`StreamIdleError`, saying why from the log (e.g. producers waiting for a checkpoint
      under flow control) — never a silent end that looks like a finished run — unless
      ``end_on_idle=True`` asks for the iteration to end then. A step that is committed but
      cannot be fetched in time always raises.
    * ``wait_for_stream_s``: how long to wait for a stream that does not exist yet (a trainer
      started together with its producer); 0 raises :class:`StreamNotFoundError` at once.
    * Epochs: a stream is read once. Each iteration continues where the previous one of this
      object ended (``steps`` counts per iteration); an iteration that starts at the end of a
      closed stream it already read raises :class:`EndOfStreamError` saying so (not 0 steps in
      silence). Epochs are the producer's: it writes the next epoch as more steps. ``len()`` is
      ``steps`` if given, else the steps left of a closed stream (see :meth:`__len__`).
    * Batching: a step is already a batch. Use :meth:`loader` or ``DataLoader(ds,
      batch_size=None)``; a DataLoader that stacks steps (PyTorch's default ``batch_size=1``) is
      refused at the first batch with :class:`InvalidArgumentError`.
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
    * ``job_follower``: with ``torch.distributed`` initialised and ``num_workers=0``, one rank
      follows the stream's log and hands each step's entry to the others over a gloo group
      (``"auto"``/``"job"``: global rank 0; ``"node"``: each node's first rank, by
      ``LOCAL_WORLD_SIZE``); ``"off"``: every rank follows the log itself (also what a job
      without a process group gets). See the README, "One log follower per job".
    * ``node_fetch``: ``"auto"`` (default): with ``torch.distributed`` initialised, ``LOCAL_RANK``
      and ``LOCAL_WORLD_SIZE`` set (torchrun does) and ``num_workers=0``, the node's local rank 0
      fetches the node's byte range of each step with one ranged GET into shared memory
      (``node_fetch_dir``, else ``LAKESTREAM_NODE_DIR``, else ``/dev/shm``) and every local rank's
      tensors are views of it, CRC32C-checked; a rank without a usable copy (the fetcher died or
      is late) reads its shard itself. ``"off"``: every rank reads its own shard. See the README,
      "One ranged GET per node".
    """

    def __init__(self, uri: str, rank: int = None, world_size: int = None, start_step: int = 0, steps: int = None,
                 timeout_s: float = 30.0, prefetch: int = 4, elastic: bool = False, end_on_idle: bool = False,
                 wait_for_stream_s: float = 0.0, job_follower: str = "auto", node_fetch: str = "auto",
                 node_fetch_dir: str = None):
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
        if job_follower not in _jobfeed.MODES:
            raise InvalidArgumentError("lakestream: job_follower must be one of %s, got %r" % (", ".join(_jobfeed.MODES), job_follower))
        self.job_follower = job_follower
        if node_fetch not in _nodefetch.MODES:
            raise InvalidArgumentError("lakestream: node_fetch must be one of %s, got %r" % (", ".join(_nodefetch.MODES), node_fetch))
        self.node_fetch = node_fetch
        self.node_fetch_dir = node_fetch_dir
        self.end_on_idle = bool(end_on_idle)
        self.wait_for_stream_s = float(wait_for_stream_s)
        self._next_step = int(start_step)
        self._worker = None  # (anchor, end) inside a DataLoader worker
        self.pin_mode = None  # "CUDA" | "MLOCK" | "NONE" once a step was read in this process
        self.bytes_read = 0  # batch bytes this copy's finished iterations read from the store
        self.node_served = 0  # steps its finished iterations took from the node's shared copy (node_fetch)
        self.node_fallbacks = 0  # steps they read themselves although node_fetch was on (no usable copy)

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
        if info is not None:
            _die_with_parent()
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
        mode = _jobfeed.choose(self.job_follower, rank, ws, n)
        node = _nodefetch.choose(self.node_fetch, rank, ws, n, self.elastic, self.node_fetch_dir, self.timeout_s)
        job = None
        if mode is None:
            reader = Reader(self.uri, rank, ws, mine, self.prefetch, step_stride=n, elastic=self.elastic,
                            wait_for_stream_s=self.wait_for_stream_s, node=node)
        else:  # one rank follows the log; the others get each step's entry from it
            job = _jobfeed.JobFollower(mode, self.uri, rank, ws, mine, self.prefetch, self.elastic, self.timeout_s,
                                       node=node)
            reader = job.reader
        yielded = False
        try:
            while True:
                if job is not None and not job.before_next(reader.next_step):
                    if end is None and self.end_on_idle:
                        return  # asked for: no new step committed within timeout_s (the same on every rank)
                    raise _jobfeed.timeout_error(self.uri, reader.next_step, self.timeout_s)
                try:
                    b = reader.next(self.timeout_s)
                except EndOfStreamError as e:
                    if not yielded and info is None and first > 0:
                        # A second `for batch in dl` over a stream read to its end: say so, not 0 steps in silence.
                        raise EndOfStreamError(
                            "lakestream: stream '%s' was read to its end (step %d) by an earlier iteration of this "
                            "dataset: a stream is read once, each iteration continuing where the last one ended. "
                            "Epochs are the producer's (it writes the next epoch as more steps); to read it again, "
                            "make a new TorchDataset(start_step=0) while its steps are retained"
                            % (self.uri, e.end_step), end_step=e.end_step) from None
                    return  # the stream is closed and every step was read: end at once
                except StepTimeoutError as e:
                    if e.committed:
                        raise
                    if end is None and self.end_on_idle:
                        return  # asked for: no new step committed within timeout_s ends the iteration
                    if end is None:
                        # Never end silently as if finished: say why no step comes (flow control, producers)
                        raise reader.idle_error(self.timeout_s) from None
                    raise
                s = b.step
                if end is not None and s >= end:
                    return
                self.pin_mode = b.pin_mode
                item = _Step.of(b.torch())
                item.setdefault("step", s)
                del b
                self._next_step = s + 1
                yielded = True
                yield item
                if end is not None and s + n >= end:
                    return
        finally:
            import jpype
            if jpype.isJVMStarted():  # at interpreter exit the JVM may be gone before this generator
                self.bytes_read += reader.bytes_read
                self.node_served += reader.node_served
                self.node_fallbacks += reader.node_fallbacks
                job.close() if job is not None else reader.close()

    def __len__(self):
        """Steps the next iteration yields, where known: ``steps`` if given, else for a closed stream
        the steps left to its end (read from the log, only when this process already runs its
        JVM, so that ``len()`` never starts one before forked workers). Otherwise TypeError, as
        for any iterable of unknown length (``list()`` and ``tqdm`` then do without)."""
        if self.steps is not None:
            return self.steps
        from . import _jvm
        import jpype
        if jpype.isJVMStarted() and _jvm.owns_jvm():
            end = _end_step(self.uri)
            if end is not None:
                return max(0, end - self._next_step)
        raise TypeError("lakestream: len(TorchDataset) is unknown: the stream is not closed (or not opened in this "
                        "process yet); pass steps=N for a known number of steps")

    def loader(self, num_workers: int = 0, **kwargs):
        """A ``torch.utils.data.DataLoader`` configured for this dataset: ``batch_size=None`` (a step
        is already a batch: PyTorch's default ``batch_size=1`` would add a dimension, a larger one
        hold that many steps' pool slabs at once), and with ``num_workers > 0`` the ``spawn``
        start method (a JVM does not survive fork). Other arguments go to the DataLoader."""
        from torch.utils.data import DataLoader
        if kwargs.get("batch_size", None) is not None:
            raise InvalidArgumentError("lakestream: ds.loader() takes no batch_size: each step is already a global "
                                       "batch's shard for this rank (batch it in the producer)")
        kwargs["batch_size"] = None
        if num_workers > 0:
            kwargs.setdefault("multiprocessing_context", "spawn")
        return DataLoader(self, num_workers=num_workers, **kwargs)

    def metrics(self) -> dict:
        """This process's Lakestream metrics as ``{series: value}``, the names Prometheus sees
        (e.g. ``lakestream_reader_data_stall_ratio``); in a DataLoader worker, that worker's."""
        from .metrics import metrics
        return metrics()

    def __repr__(self):
        return "TorchDataset(uri=%r, rank=%r, world_size=%r, next_step=%d, steps=%r)" % (
            self.uri, self.rank, self.world_size, self._next_step, self.steps)
