"""A rank reader: one rank's shard of every committed step, in step order, zero-copy."""
from __future__ import annotations

import ctypes
import os
import threading
import time

from . import _jvm
from ._errors import StepTimeoutError, StreamIdleError, StreamNotFoundError, java_errors
from ._tensors import NUMPY_DTYPES, BatchOwner, record_stream, to_torch, views

PIN_MODES = ("NONE", "MLOCK", "CUDA")  # descriptor word 5
_HEADER = 12  # descriptor words before the per-tensor (offset, length) pairs; see Java PyReader
WAIT_SLICE_S = 0.1  # longest Java wait between two chances for Python to run its signal handlers
_dtype_names = None  # dtype ordinal -> name, from PyReader.dtypeNames()


def _open_store(uri: str, create: bool):
    ObjectStores = _jvm.jclass("io.lakestream.store.ObjectStores")
    if not isinstance(uri, str):
        raise TypeError("lakestream: stream URI must be a str, got %s" % type(uri).__name__)
    with java_errors("cannot open stream '%s'" % uri, uri_open=True):
        return ObjectStores.open(uri, create)


# One Java ``Lakestream`` handle per stream URI in this process, shared by the process's Readers of
# that stream (so its ranks cost the store the log GETs of one follower) and closed when the last of
# them closes: an owner with a lifecycle, counted per URI, not a cache that outlives its readers.
# Keyed by process id too: a forked child never uses or closes its parent's handles.
_streams_lock = threading.Lock()
_streams = {}  # (pid, uri) -> [Java Lakestream, readers holding it]


def open_stream(uri: str):
    """A new Java ``Lakestream`` handle of ``uri`` (its store opened), which the caller closes."""
    if not isinstance(uri, str):
        raise TypeError("lakestream: stream URI must be a str, got %s" % type(uri).__name__)
    Lakestream = _jvm.jclass("io.lakestream.stream.Lakestream")
    env = _jvm.jclass("io.lakestream.StreamEnv").defaults()
    with java_errors("cannot open stream '%s'" % uri, uri_open=True):
        return Lakestream.open(uri, env)


def _acquire_stream(uri: str):
    """The process's handle of ``uri``, opened (store and all) by its first reader."""
    if not isinstance(uri, str):
        raise TypeError("lakestream: stream URI must be a str, got %s" % type(uri).__name__)
    key = (os.getpid(), uri)
    with _streams_lock:
        held = _streams.get(key)
        if held is None:
            held = _streams[key] = [open_stream(uri), 0]
        held[1] += 1
        return held[0]


def borrow_stream(uri: str):
    """The handle of ``uri`` that this process's Readers hold, kept open until :func:`release_stream`;
    None if no Reader of it is open (nothing is opened then)."""
    with _streams_lock:
        held = _streams.get((os.getpid(), uri))
        if held is None:
            return None
        held[1] += 1
        return held[0]


def release_stream(uri: str, stream):
    """Gives back a handle from :func:`borrow_stream` (or :func:`_acquire_stream`)."""
    _release_stream(uri, stream)


def _release_stream(uri: str, stream):
    """A reader is done with ``stream``: the last one closes it (its follower, then its store)."""
    key = (os.getpid(), uri)
    with _streams_lock:
        held = _streams.get(key)
        if held is None or held[0] is not stream:
            return
        held[1] -= 1
        if held[1] > 0:
            return
        del _streams[key]
    stream.close()


class Batch:
    """One rank's shard of one step, as NumPy arrays on the reader's pool memory (no copy).

    ``arrays`` maps tensor names to NumPy arrays (BF16 as raw ``uint16`` bits). The step is
    released when this object and every array/tensor made from it are garbage (see the lifetime
    rule in the package docs); in CUDA pin mode only after the CUDA copies queued from it ran
    (:meth:`record_stream`).
    """

    __slots__ = ("step", "rank", "samples", "pin_mode", "bytes_fetched", "bytes_delivered", "address", "arrays",
                 "dtypes", "_owner")

    def __init__(self, owner, words, layout):
        self._owner = owner
        self.step = words[2]
        self.rank = words[3]
        self.samples = words[4]
        self.pin_mode = PIN_MODES[words[5]]
        self.bytes_fetched = words[6]
        self.bytes_delivered = words[7]
        self.address = words[8]
        self.arrays = views(owner, [(name, dt, shape) for name, dt, _, shape in layout], words, _HEADER)
        self.dtypes = {name: dname for name, _, dname, _ in layout}

    @property
    def object(self) -> str:
        """Key of the batch object this shard came from."""
        return str(self._owner.java_batch().object())

    def java_batch(self):
        """The Java ``StepBatch`` behind this step (diagnostics and tests)."""
        return self._owner.java_batch()

    def torch(self):
        """The tensors as a dict of torch tensors sharing the pool memory (BF16 as torch.bfloat16)."""
        return {k: to_torch(a, self.dtypes[k]) for k, a in self.arrays.items()}

    def record_stream(self, stream=None):
        """Copies from this step may be queued on ``stream``: see :func:`lakestream.record_stream`."""
        return record_stream(self, stream)

    def __repr__(self):
        return "Batch(step=%d, rank=%d, samples=%d, tensors=%s)" % (
            self.step, self.rank, self.samples,
            {k: (self.dtypes[k], tuple(a.shape)) for k, a in self.arrays.items()})


class Reader:
    """Reads ``rank``'s shard of each step from ``start_step`` on (Java ``RankReader``).

    ``next(timeout_s)`` returns the next :class:`Batch` or raises :class:`StepTimeoutError`
    (the reader stays usable; :class:`PoolExhaustedError` when held tensors starve it), or
    :class:`EndOfStreamError` at once at the end of a closed stream. ``elastic=True`` reads a
    stream written for another world size: each step's samples are split into ``world_size``
    contiguous ranges (default: refuse). Fetch, checksum and decode run on Java threads, ``prefetch``
    steps ahead. With ``step_stride`` n > 1 it delivers only ``start_step``, ``start_step + n``,
    …; the steps in between are never read from the store (DataLoader workers). Each step
    reaches Python through one JPype call (a packed descriptor of all its tensors). Use as a
    context manager or call :meth:`close`.
    """

    def __init__(self, uri: str, rank: int, world_size: int, start_step: int = 0, prefetch: int = 4,
                 step_stride: int = 1, elastic: bool = False, fed: bool = False, wait_for_stream_s: float = 0.0,
                 node=None):
        global _dtype_names
        self.uri = uri
        self.feed = None  # fed=True: the Java HandoffFeed the job's leader rank feeds (see _jobfeed)
        PyReader = _jvm.jclass("io.lakestream.python.PyReader")
        # A trainer started together with its producer may come first: wait (bounded) for the stream.
        deadline = time.monotonic() + max(0.0, float(wait_for_stream_s))
        while True:
            try:
                self._stream = _acquire_stream(uri)  # shared with this process's other readers of uri
                self._store = self._stream.store()
                break
            except StreamNotFoundError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        try:
            while True:
                try:
                    with java_errors("cannot read stream '%s' as rank %s of %s" % (uri, rank, world_size)):
                        if fed:
                            # learns committed steps from the job's leader, not the log (one GET of the config)
                            self.feed = self._stream.jobMember(int(start_step))
                        if node is not None:
                            # one ranged GET per node per step (see NodeFetch): local rank 0 fetches, all map it
                            self._reader = PyReader.openNode(self._stream, int(rank), int(world_size), int(start_step),
                                                             int(prefetch), self.feed, int(node.local_rank),
                                                             int(node.local_world_size), str(node.dir), str(node.job_key),
                                                             int(node.wait_s * 1000), bool(node.fallback))
                        elif fed:
                            self._reader = PyReader.openFed(self._stream, int(rank), int(world_size), int(start_step),
                                                            int(prefetch), int(step_stride), bool(elastic), self.feed)
                        else:
                            # elastic: a stream written for another world size, each step's samples split in contiguous ranges
                            self._reader = PyReader.open(self._stream, int(rank), int(world_size), int(start_step),
                                                         int(prefetch), int(step_stride), bool(elastic))
                    break
                except StreamNotFoundError:  # the store exists, the stream's config not yet
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        except BaseException:
            _release_stream(uri, self._stream)
            raise
        if _dtype_names is None:
            _dtype_names = [str(n) for n in PyReader.dtypeNames()]
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.prefetch = int(prefetch)
        self.step_stride = int(step_stride)
        self._RTE = _jvm.jclass("io.lakestream.reader.ReaderTimeoutException")
        self._words = None  # ctypes int64 array over the Java descriptor buffer
        self._layout_id = None
        self._layout = None

    @property
    def next_step(self) -> int:
        """The step :meth:`next` returns next: the reader's whole resumable state."""
        return int(self._reader.nextStep())

    @property
    def bytes_read(self) -> int:
        """Batch bytes this reader has read from the store (each shard read; log reads not counted)."""
        return int(self._reader.bytesRead())

    @property
    def node_served(self) -> int:
        """Steps delivered from the node's shared copy (node fetch; 0 without)."""
        return int(self._reader.nodeServed())

    @property
    def node_fallbacks(self) -> int:
        """Steps this rank read itself although node fetch is on (the node's fetcher died, was late, or its copy
        did not match this rank's manifest entry)."""
        return int(self._reader.nodeFallbacks())

    @property
    def log_polls(self) -> int:
        """Log reads of the follower this process's readers of the stream share (0 for a reader fed by the job's
        leader)."""
        return int(self._reader.logPolls())

    def committed_steps(self) -> int:
        """Steps committed to the stream as of the reader's last look at the log."""
        return int(self._reader.committedSteps())

    def idle_error(self, timeout_s: float) -> StreamIdleError:
        """The error for "no new step within ``timeout_s``" on a stream that is not closed, saying
        why from the log as this reader last saw it: producers held by flow control (the trainer
        records no checkpoints), or producers that committed nothing new."""
        st = self._reader.logState()
        committed = int(st.committedSteps())
        step = self.next_step
        producers = sorted(str(p) for p in st.producers().keySet())
        bound = int(st.config().maxLagSteps())
        lag = int(st.lagSteps())
        names = ", ".join("'%s'" % p for p in producers) or "none yet"
        head = "lakestream: no step %d within %g s on stream '%s' (not closed; %d steps committed; producers: %s)" % (
            step, timeout_s, self.uri, committed, names)
        if bound > 0 and lag >= bound:
            ck = st.latestCheckpoint()
            msg = ("%s: the producers wait for a checkpoint: flow control lag %d of %d (newest checkpoint: %s); call "
                   "lakestream.record_checkpoint(uri, next_step) after each durable training checkpoint"
                   % (head, lag, bound, "none" if ck is None else "step %d" % int(ck.step())))
            reason = "flow_control"
        else:
            msg = ("%s: the producers are slow, stalled or done. Producers that are done should call "
                   "lakestream.close_stream(uri) (readers then end at once); else raise timeout_s, or pass "
                   "end_on_idle=True to end the iteration when no step comes" % head)
            reason = "no_commits"
        return StreamIdleError(msg, reason=reason, committed_steps=committed, lag_steps=lag, max_lag_steps=bound,
                               producers=producers)

    def metrics(self) -> dict:
        """This process's Lakestream metrics as ``{series: value}`` (see :func:`lakestream.metrics.metrics`)."""
        from .metrics import metrics
        return metrics()

    def next(self, timeout_s: float = 30.0) -> Batch:
        try:
            n = self._wait(timeout_s)
        except self._RTE as e:
            # Not committed yet, or committed but slow to fetch (a pool starved by held tensors is
            # a PoolExhaustedException instead, translated below).
            raise StepTimeoutError(str(e.getMessage()), committed=bool(e.committed())) from None
        except Exception as e:  # noqa: BLE001
            with java_errors("stream '%s' rank %d" % (self.uri, self.rank)):
                raise e
            raise
        words = self._read_words(n)
        owner = BatchOwner(self._reader, words[1], words[8], words[7], words[5] == 2)
        try:
            if words[10] != self._layout_id:
                self._layout = self._parse_layout(words)
                self._layout_id = words[10]
            return Batch(owner, words, self._layout)
        except BaseException:
            owner.release()
            raise

    def _wait(self, timeout_s: float) -> int:
        """The descriptor length of the next step, waiting in slices of at most WAIT_SLICE_S.

        Python runs signal handlers only between bytecodes, never during a Java call: one long
        Java wait would hold off Ctrl-C and a SIGTERM handler until it ends. Between slices a
        pending signal raises here (KeyboardInterrupt, or whatever the user's handler raises).
        The last slice is a plain ``next`` so the timeout's exception says why.
        """
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            left = deadline - time.monotonic()
            if left <= WAIT_SLICE_S:
                return int(self._reader.next(int(max(0.0, left) * 1000)))
            n = int(self._reader.poll(int(WAIT_SLICE_S * 1000)))  # 0: nothing yet
            if n != 0:
                return n

    def _read_words(self, n: int):
        moved = n < 0
        n = abs(n)
        if moved or self._words is None or len(self._words) < n:
            self._words = (ctypes.c_int64 * n).from_address(int(self._reader.descriptorAddress()))
        return self._words[:n]

    def _parse_layout(self, w):
        """[(name, numpy dtype, dtype name, shape)] from the descriptor's layout section."""
        t = w[9]
        at = _HEADER + 2 * t
        specs = []
        for _ in range(t):
            dname = _dtype_names[w[at]]
            ndim = w[at + 1]
            shape = tuple(w[at + 2:at + 2 + ndim])
            specs.append((dname, shape, w[at + 2 + ndim]))
            at += 3 + ndim
        raw = ctypes.string_at(ctypes.addressof(self._words) + 8 * at, sum(s[2] for s in specs))
        out = []
        pos = 0
        for dname, shape, nlen in specs:
            name = raw[pos:pos + nlen].decode("utf-8")
            pos += nlen
            dt = NUMPY_DTYPES.get(dname)
            if dt is None:
                raise TypeError("lakestream: unsupported dtype %s of tensor '%s'" % (dname, name))
            out.append((name, dt, dname, shape))
        return out

    def close(self):
        r, self._reader = getattr(self, "_reader", None), None
        self._words = None
        if r is not None:
            r.close()  # delivered steps stay valid until their tensors are garbage
            _release_stream(self.uri, self._stream)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            import jpype
            if jpype.isJVMStarted() and _jvm.owns_jvm():  # never call Java in a forked child
                self.close()
        except Exception:  # noqa: BLE001
            pass
