"""A rank reader: one rank's shard of every committed step, in step order, zero-copy."""
from __future__ import annotations

from . import _jvm
from ._errors import StepTimeoutError, java_errors
from ._tensors import BatchOwner, to_torch, view


def _open_store(uri: str, create: bool):
    ObjectStores = _jvm.jclass("io.lakestream.store.ObjectStores")
    if not isinstance(uri, str):
        raise TypeError("lakestream: stream URI must be a str, got %s" % type(uri).__name__)
    with java_errors("cannot open stream '%s'" % uri, uri_open=True):
        return ObjectStores.open(uri, create)


class Batch:
    """One rank's shard of one step, as NumPy arrays on the reader's pool memory (no copy).

    ``arrays`` maps tensor names to NumPy arrays (BF16 as raw ``uint16`` bits). The Java batch
    is closed when this object and every array/tensor made from it are garbage (see the
    lifetime rule in the package docs).
    """

    __slots__ = ("step", "rank", "samples", "object", "pin_mode", "bytes_delivered", "address", "arrays", "dtypes",
                 "_owner")

    def __init__(self, jbatch):
        owner = BatchOwner(jbatch)
        self._owner = owner
        self.step = int(jbatch.step())
        self.rank = int(jbatch.rank())
        self.samples = int(jbatch.samples())
        self.object = str(jbatch.object())
        self.pin_mode = str(jbatch.lease().pinMode().name())
        self.bytes_delivered = int(jbatch.bytesDelivered())
        self.address = int(jbatch.address())
        self.arrays = {}
        self.dtypes = {}
        for t in jbatch.tensors():
            name = str(t.name())
            dtype = str(t.dtype().name())
            seg = t.data()
            self.arrays[name] = view(owner, int(seg.address()), int(seg.byteSize()), dtype, t.shape())
            self.dtypes[name] = dtype

    def torch(self):
        """The tensors as a dict of torch tensors sharing the pool memory (BF16 as torch.bfloat16)."""
        return {k: to_torch(a, self.dtypes[k]) for k, a in self.arrays.items()}

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
    steps ahead. Use as a context manager or call :meth:`close`.
    """

    def __init__(self, uri: str, rank: int, world_size: int, start_step: int = 0, prefetch: int = 4, elastic: bool = False):
        self.uri = uri
        self._store = _open_store(uri, False)
        try:
            RankReader = _jvm.jclass("io.lakestream.reader.RankReader")
            ReaderOptions = _jvm.jclass("io.lakestream.reader.ReaderOptions")
            with java_errors("cannot read stream '%s' as rank %s of %s" % (uri, rank, world_size)):
                # elastic: a stream written for another world size, each step's samples split in contiguous ranges
                self._reader = (RankReader.openElastic if elastic else RankReader.open)(
                    self._store, int(rank), int(world_size), int(start_step), ReaderOptions.defaults().withPrefetch(int(prefetch)))
        except BaseException:
            self._store.close()
            raise
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.prefetch = int(prefetch)
        self._RTE = _jvm.jclass("io.lakestream.reader.ReaderTimeoutException")

    @property
    def next_step(self) -> int:
        """The step :meth:`next` returns next: the reader's whole resumable state."""
        return int(self._reader.nextStep())

    def committed_steps(self) -> int:
        """Steps committed to the stream as of the reader's last look at the log."""
        return int(self._reader.log().state().committedSteps())

    def next(self, timeout_s: float = 30.0) -> Batch:
        try:
            jb = self._reader.next(int(timeout_s * 1000))
        except self._RTE as e:
            # Not committed yet, or committed but slow to fetch (a pool starved by held tensors is
            # a PoolExhaustedException instead, translated below).
            raise StepTimeoutError(str(e.getMessage()), committed=bool(e.committed())) from None
        except Exception as e:  # noqa: BLE001
            with java_errors("stream '%s' rank %d" % (self.uri, self.rank)):
                raise e
            raise
        try:
            return Batch(jb)
        except BaseException:
            jb.close()
            raise

    def close(self):
        r, self._reader = getattr(self, "_reader", None), None
        if r is not None:
            r.close()
            self._store.close()

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
