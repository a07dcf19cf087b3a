"""Exactly-once producer of global batches for Python data pipelines (Java ``TgbProducer``)."""
from __future__ import annotations

from . import _jvm
from ._errors import InvalidArgumentError, java_errors
from ._tensors import as_numpy
from .reader import WAIT_SLICE_S, _open_store


def _signature_diff(a, b):
    for k in sorted(set(a) | set(b)):
        if k not in b:
            return "tensor '%s' is missing (it has %s)" % (k, sorted(b))
        if k not in a:
            return "tensor '%s' is not in rank 0's shard (%s)" % (k, sorted(a))
        if a[k][0] != b[k][0]:
            return "tensor '%s' is %s, rank 0's is %s" % (k, b[k][0], a[k][0])
        if a[k][1] != b[k][1]:
            return "tensor '%s' has shape (n, %s), rank 0's (n, %s)" % (
                k, ", ".join(map(str, b[k][1])), ", ".join(map(str, a[k][1])))
    return "?"


class Producer:
    """Writes global batches (one shard per rank) to the stream at ``uri`` and commits them.

    Opening claims a new epoch for ``producer_id`` (creating the stream with ``world_size`` if
    absent), which fences every older instance of the same id: their later commits raise
    :class:`FencedError`. Resume your source from :attr:`committed_cursor` (None on a fresh
    producer). ``append(shards, cursor)`` writes one global batch; ``commit()`` makes the
    appended batches visible to readers, atomically, exactly once. Batches appended but not
    committed when the process dies are never seen by readers.

    ``group`` is the initial number of batches per commit: a committer thread commits written
    batches by itself (a full group, or after a few milliseconds at most); ``lz4`` stores shards LZ4-compressed. ``max_lag_steps`` and
    ``keep_checkpoints`` are settings of the stream (flow control: producers wait while more
    than ``max_lag_steps`` committed steps lie beyond the newest checkpoint, 0 = no bound;
    retention keeps the newest ``keep_checkpoints``); they apply when this producer creates the
    stream, an existing stream keeps its own. ``gc_every_s`` runs the stream's garbage collection
    (batches below the retention floor, orphans past their grace) every that many seconds on a
    background thread while the producer is open. As a context manager it
    commits what is pending when the block ends normally, and drops it when the block raises.
    """

    def __init__(self, uri: str, producer_id: str, world_size: int, lz4: bool = False, group: int = 4,
                 snapshot_interval: int = 64, max_lag_steps: int = 0, keep_checkpoints: int = 2,
                 gc_every_s: float = None):
        if not isinstance(producer_id, str) or not producer_id:
            raise TypeError("lakestream: producer_id must be a non-empty str, got %r" % (producer_id,))
        if gc_every_s is not None and not gc_every_s > 0:
            raise InvalidArgumentError("lakestream: gc_every_s must be > 0 or None, got %r" % (gc_every_s,))
        self._gc = None
        self.uri = uri
        self.producer_id = producer_id
        self.world_size = int(world_size)
        if self.world_size < 1:
            raise InvalidArgumentError("lakestream: world_size must be >= 1, got %d" % self.world_size)
        self._store = _open_store(uri, True)
        try:
            TgbProducer = _jvm.jclass("io.lakestream.producer.TgbProducer")
            StreamConfig = _jvm.jclass("io.lakestream.log.StreamConfig")
            ProducerOptions = _jvm.jclass("io.lakestream.producer.ProducerOptions")
            Codec = _jvm.jclass("io.lakestream.format.Codec")
            opts = ProducerOptions.defaults().withCodec(Codec.LZ4 if lz4 else Codec.NONE).withGroup(int(group), 64, True)
            cfg = (StreamConfig.of(self.world_size).withSnapshotInterval(int(snapshot_interval))
                   .withRetention(int(keep_checkpoints), int(max_lag_steps)))
            with java_errors("cannot open producer '%s' on stream '%s'" % (producer_id, uri)):
                self._p = TgbProducer.open(self._store, producer_id, cfg, opts)
        except BaseException:
            self._store.close()
            raise
        if gc_every_s is not None:
            # Storage stays bounded by retention: a GC pass every gc_every_s on a daemon thread
            # (what `lakestream gc` does once), with the stream's orphan grace.
            BackgroundGc = _jvm.jclass("io.lakestream.retention.BackgroundGc")
            grace = int(self._p.log().config().orphanGraceMs())
            self._gc = BackgroundGc(self._store, int(gc_every_s * 1000), grace)
        self._PyBridge = _jvm.jclass("io.lakestream.python.PyBridge")
        self._LinkedHashMap = _jvm.jclass("java.util.LinkedHashMap")
        self._ArrayList = _jvm.jclass("java.util.ArrayList")
        import jpype
        self._JLongArray = jpype.JArray(jpype.JLong)

    @property
    def epoch(self) -> int:
        return int(self._p.epoch())

    @property
    def committed_seq(self) -> int:
        """Sequence number of this producer's last committed batch (0 if none)."""
        return int(self._p.committedSeq())

    @property
    def committed_cursor(self):
        """Source cursor stored with the last committed batch (None if none): resume the source here."""
        c = self._p.committedCursor()
        return None if c is None else str(c)

    @property
    def pending(self) -> int:
        """Batches appended but not committed yet."""
        return int(self._p.pendingCount())

    def _tensor(self, dtype_name, a):
        # One bulk copy from the array's memory into the Java byte[] (JPype's own array
        # conversion is ~10x slower); `a` is alive for the whole call.
        return self._PyBridge.tensorFromAddress(dtype_name, self._JLongArray(list(a.shape)), int(a.ctypes.data),
                                                int(a.nbytes))

    def append(self, shards, cursor=None) -> int:
        """Writes one global batch and queues it for commit; returns its sequence number.

        ``shards``: a list with one dict per rank (rank 0 first) of name -> NumPy array or
        torch tensor; dimension 0 is the sample dimension, and every tensor of one shard has
        the same number of samples. ``cursor``: the source position after this batch (a str),
        returned by :attr:`committed_cursor` once committed.

        Batches are committed in the background (a full group, or a few milliseconds at most);
        a failure of that commit is raised by the next ``append`` or :meth:`commit`. Once one
        raises, this producer is finished: every later call raises too, so records cannot be sent
        twice. Open a new ``Producer`` with the same id and resume the source at its
        :attr:`committed_cursor`, which says exactly which records are in the stream.
        """
        if isinstance(shards, dict):
            raise TypeError("lakestream: append() takes a list of per-rank dicts (one per rank), got one dict")
        if cursor is not None and not isinstance(cursor, str):
            raise TypeError("lakestream: cursor must be a str (the source position after this batch, e.g. str(offset)) "
                            "or None, got %s %r" % (type(cursor).__name__, cursor))
        shards = list(shards)
        if len(shards) != self.world_size:
            raise InvalidArgumentError("lakestream: global batch has %d rank shards, stream '%s' has world size %d"
                                       % (len(shards), self.uri, self.world_size))
        for r, shard in enumerate(shards):
            if not isinstance(shard, dict) or not shard:
                raise TypeError("lakestream: shard of rank %d must be a non-empty dict of name -> array" % r)
        # Every rank must get the same tensors: a rank whose shard names a tensor differently (or
        # with another dtype or trailing shape) would fail only later, on that rank, in training.
        arrays = [{str(name): as_numpy(value, "%s (rank %d)" % (name, r)) for name, value in shard.items()}
                  for r, shard in enumerate(shards)]
        sig0 = {k: (d, a.shape[1:]) for k, (d, a) in arrays[0].items()}
        for r in range(1, len(arrays)):
            sig = {k: (d, a.shape[1:]) for k, (d, a) in arrays[r].items()}
            if sig != sig0:
                raise InvalidArgumentError("lakestream: rank %d shard differs from rank 0's: %s; every rank needs the "
                                           "same tensor names, dtypes and shapes beyond dimension 0"
                                           % (r, _signature_diff(sig0, sig)))
        jshards = self._ArrayList(len(shards))
        for r, shard in enumerate(arrays):
            m = self._LinkedHashMap()
            n = None
            for name, (dtype_name, a) in shard.items():
                td = self._tensor(dtype_name, a)
                s = int(td.samples())
                if n is not None and s != n:
                    raise InvalidArgumentError("lakestream: rank %d shard: tensor '%s' has %d samples, others have %d"
                                               % (r, name, s, n))
                n = s
                m.put(str(name), td)
            jshards.add(m)
        return self._append_java(jshards, None if cursor is None else str(cursor))

    def _append_java(self, jshards, cursor, between_slices=None):
        """Appends Java shards, waiting for room (flow control, a full queue) in slices of at most
        WAIT_SLICE_S: Python runs signal handlers only between Java calls, so Ctrl-C (and a SIGTERM
        handler) act while flow control holds the producer, as they do in a blocked ``next()``.
        An interrupted wait appended nothing: the producer can still be used or closed.
        ``between_slices()``, if given, runs after every slice that found no room (``produce``
        checks its workers there: one that died while flow control held the host is reported
        then, not once the trainer makes room)."""
        slice_ms = int(WAIT_SLICE_S * 1000)
        with java_errors("producer '%s' on stream '%s'" % (self.producer_id, self.uri)):
            while True:
                seq = int(self._p.tryAppend(jshards, cursor, slice_ms))
                if seq >= 0:
                    return seq
                if between_slices is not None:
                    between_slices()

    @property
    def waiting_reason(self):
        """Why :meth:`append` (or :meth:`commit`) is waiting right now, e.g. ``"flow control: 2 committed
        steps beyond the latest checkpoint (none), bound is 2"`` while the trainer has not recorded a
        checkpoint; None when it is not. Readable from any thread."""
        r = self._p.waitingReason()
        return None if r is None else str(r)

    def commit(self, between_slices=None):
        """Commits every appended batch in one manifest version.

        Returns ``(first_step, count)`` of the steps this commit made visible, or None when nothing
        was pending. Raises :class:`FencedError` if a newer instance claimed this producer id.
        Any failure finishes this producer (see :meth:`append`): reopen and resume from
        :attr:`committed_cursor`.
        """
        slice_ms = int(WAIT_SLICE_S * 1000)
        with java_errors("producer '%s' on stream '%s'" % (self.producer_id, self.uri)):
            pending = int(self._p.pendingCount())
            # waited for in slices, as in append: flow control may hold the commit for long
            while not self._p.awaitCommitted(slice_ms):  # raises a failure, as commit() would
                if between_slices is not None:
                    between_slices()
            r = self._p.lastCommitResult() if pending else None
        if r is None:
            return None
        return int(r.firstStep()), int(r.tgbs())

    @property
    def gc_reclaimed(self):
        """``(objects, bytes)`` the background GC (``gc_every_s``) has reclaimed so far; (0, 0) without it."""
        g = self._gc
        return (0, 0) if g is None else (int(g.reclaimedObjects()), int(g.reclaimedBytes()))

    def close(self):
        """Closes without committing (pending batches are dropped; they never become visible)."""
        g, self._gc = getattr(self, "_gc", None), None
        if g is not None:
            g.close()
        p, self._p = getattr(self, "_p", None), None
        if p is not None:
            p.close()
            self._store.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        """Commits what is pending when the block ends normally; drops it when it raises."""
        try:
            if exc_type is None and self._p is not None:
                self.commit()
        finally:
            self.close()

    def __repr__(self):
        return "Producer(uri=%r, producer_id=%r, world_size=%d)" % (self.uri, self.producer_id, self.world_size)
