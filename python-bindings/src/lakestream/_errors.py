"""Python exceptions for Lakestream failures, and the translation from Java exceptions."""
from __future__ import annotations

import contextlib
import os


class LakestreamError(Exception):
    """Base class of every Lakestream error raised by this package."""


class FencedError(LakestreamError):
    """A newer instance of this producer id claimed a later epoch: this instance is a zombie and must stop.

    Its uncommitted batches are discarded. Attributes: ``producer``, ``epoch`` (this instance's),
    ``current_epoch`` (the one in the log).
    """

    def __init__(self, message, producer=None, epoch=None, current_epoch=None):
        super().__init__(message)
        self.producer = producer
        self.epoch = epoch
        self.current_epoch = current_epoch


class StreamURIError(LakestreamError, ValueError):
    """The stream URI is malformed or names an unsupported scheme."""


class StreamNotFoundError(LakestreamError, FileNotFoundError):
    """No Lakestream stream exists at the URI (missing directory or stream config)."""


class WorldSizeMismatchError(LakestreamError, ValueError):
    """The stream was created with another world size than the one requested."""


class StepTimeoutError(LakestreamError, TimeoutError):
    """The next step did not arrive within the timeout.

    ``committed`` is False when the step is not committed yet (producers are slow or done), True
    when it is committed but was not fetched in time: a :class:`PoolExhaustedError` when the
    tensors of too many earlier steps are still alive (see the lifetime rule), else a slow store.
    """

    def __init__(self, message, committed=False):
        super().__init__(message)
        self.committed = committed


class StreamIdleError(StepTimeoutError):
    """No new step was committed within the timeout on a stream that is not closed.

    Raised instead of ending the iteration silently (``TorchDataset(end_on_idle=True)`` ends it
    instead). The message says why, from the log: ``reason`` is ``"flow_control"`` when the
    producers wait for a checkpoint (``lag_steps`` of ``max_lag_steps`` committed beyond the
    slowest consumer's newest checkpoint: call :func:`record_checkpoint`), else ``"no_commits"``
    (producers slow, stalled or done without :func:`close_stream`). ``committed_steps`` is what
    the log holds.
    """

    def __init__(self, message, reason=None, committed_steps=None, lag_steps=None, max_lag_steps=None, producers=()):
        super().__init__(message, committed=False)
        self.reason = reason
        self.committed_steps = committed_steps
        self.lag_steps = lag_steps
        self.max_lag_steps = max_lag_steps
        self.producers = list(producers)


class PoolExhaustedError(StepTimeoutError):
    """The next step is committed but cannot be fetched: every slab of the reader's pool is held
    by earlier steps whose tensors are still alive. ``held_steps`` lists them; drop (or
    ``.clone()`` and drop) their tensors and iterate again."""

    def __init__(self, message, held_steps=()):
        super().__init__(message, committed=True)
        self.held_steps = list(held_steps)


class EndOfStreamError(LakestreamError):
    """The stream was closed (``lakestream close``, :func:`close_stream`) and every step was read.

    ``Reader.next`` raises it at once instead of waiting for a step that will never exist;
    ``TorchDataset`` ends its iteration. ``end_step`` is the number of steps the stream holds.
    """

    def __init__(self, message, end_step=None):
        super().__init__(message)
        self.end_step = end_step


class StreamClosedError(LakestreamError):
    """The stream is closed: no batch can be committed to it any more (a producer's commit or start)."""


class DataError(LakestreamError):
    """A batch failed its checksum or is malformed."""


class InvalidArgumentError(LakestreamError, ValueError):
    """An argument the Java library refused (e.g. a batch with the wrong number of rank shards)."""


class BelowFloorError(InvalidArgumentError):
    """A step below the stream's retention floor was asked for (a reader's start step, a new
    consumer's first checkpoint): its batches may already be reclaimed. ``step`` is the step
    asked for, ``floor`` the lowest step still readable. The floor is the lowest step any
    consumer retains a checkpoint at: register a second run (an eval job, a reference run) as a
    consumer (:func:`register_consumer`) before GC reclaims its start step."""

    def __init__(self, message, step=None, floor=None):
        super().__init__(message)
        self.step = step
        self.floor = floor


class StoreError(LakestreamError, OSError):
    """The object store failed after the store layer's retries. ``key`` is the object concerned (or
    None), ``retryable`` whether the same call may succeed later (network trouble, throttling)."""

    def __init__(self, message, key=None, retryable=None):
        super().__init__(message)
        self.key = key
        self.retryable = retryable


class CommitUnknownError(LakestreamError):
    """A commit's confirmation was lost and reading it back failed too: it may or may not be in the
    log. Never guess: re-open the producer (same id), whose committed cursor says what landed.
    ``key`` is the version file in doubt."""

    def __init__(self, message, key=None):
        super().__init__(message)
        self.key = key


class CommitTimeoutError(LakestreamError, TimeoutError):
    """A commit kept losing races to other committers until its deadline. Nothing of it was
    committed (the outcome is known): try again. ``conflicts`` is the races lost."""

    def __init__(self, message, conflicts=None):
        super().__init__(message)
        self.conflicts = conflicts


class CheckpointError(LakestreamError, ValueError):
    """A checkpoint record was refused (e.g. its step is not committed yet)."""


def _java_name(e) -> str:
    try:
        return str(e.getClass().getName())
    except Exception:  # noqa: BLE001 - not a Java exception
        return ""


def _java_types(e) -> list:
    """The class names of Java exception ``e`` and its superclasses, most specific first."""
    names = []
    try:
        c = e.getClass()
        while c is not None:
            names.append(str(c.getName()))
            c = c.getSuperclass()
    except Exception:  # noqa: BLE001 - not a Java exception
        return []
    return names


def _java_message(e) -> str:
    try:
        m = e.getMessage()
        m = str(m) if m is not None else ""
    except Exception:  # noqa: BLE001
        m = str(e)
    return m or _java_name(e).rsplit(".", 1)[-1]


def _chain(e):
    """The Java exception and its causes."""
    seen = 0
    while e is not None and seen < 10:
        yield e
        try:
            e = e.getCause()
        except Exception:  # noqa: BLE001
            return
        seen += 1


def _fenced(e, where, msg):
    return FencedError("fenced: " + msg, producer=str(e.producer()), epoch=int(e.epoch()), current_epoch=int(e.currentEpoch()))


# Java exception type -> Python exception, by type (the Java class or a superclass), never by
# message text. Checked in this order, so more specific types come first.
_BY_TYPE = (
    ("io.lakestream.producer.ProducerFencedException", _fenced),
    ("io.lakestream.log.WorldSizeMismatchException", lambda e, where, msg: WorldSizeMismatchError(where + msg)),
    ("io.lakestream.reader.PoolExhaustedException",
     lambda e, where, msg: PoolExhaustedError(
         where + msg + ". A DataLoader with a batch_size holds that many steps at once: a step is already a batch, "
         "use DataLoader(ds, batch_size=None) or ds.loader()", held_steps=[int(s) for s in e.heldSteps()])),
    ("io.lakestream.reader.ReaderTimeoutException",
     lambda e, where, msg: StepTimeoutError(where + msg, committed=bool(e.committed()))),
    ("io.lakestream.reader.EndOfStreamException", lambda e, where, msg: EndOfStreamError(where + msg, end_step=int(e.endStep()))),
    ("io.lakestream.log.StreamClosedException", lambda e, where, msg: StreamClosedError(where + msg)),
    ("io.lakestream.store.StreamNotFoundException", lambda e, where, msg: StreamNotFoundError(where + msg)),
    ("io.lakestream.store.InvalidStreamUriException", lambda e, where, msg: StreamURIError(where + msg)),
    ("io.lakestream.format.FormatException", lambda e, where, msg: DataError(where + msg)),  # checksum, log format
    ("io.lakestream.log.BelowFloorException",
     lambda e, where, msg: BelowFloorError(where + msg, step=int(e.step()), floor=int(e.floor()))),
    ("io.lakestream.log.CommitStateUnknownException", lambda e, where, msg: CommitUnknownError(
        where + msg, key=None if e.key() is None else str(e.key()))),
    ("io.lakestream.log.CommitTimeoutException",
     lambda e, where, msg: CommitTimeoutError(where + msg, conflicts=int(e.conflicts()))),
    ("io.lakestream.store.StoreException", lambda e, where, msg: StoreError(
        where + msg, key=None if e.key() is None else str(e.key()), retryable=bool(e.isRetryable()))),
    ("java.lang.IllegalArgumentException", lambda e, where, msg: InvalidArgumentError(where + msg)),
)


def _by_type(e, where):
    types = _java_types(e)
    for java_type, make in _BY_TYPE:
        if java_type in types:
            return make(e, where, _java_message(e))
    return None


def translate(e, context: str = "", uri_open: bool = False):
    """The Python exception for Java exception ``e`` (None if ``e`` is not a Java exception).

    ``uri_open`` marks the opening of a stream URI: a plain IllegalArgumentException there is
    about the URI (a store provider's own check) and becomes a StreamURIError.
    """
    name = _java_name(e)
    if not name:
        return None
    where = (context + ": ") if context else ""
    types = _java_types(e)
    if uri_open and "java.lang.IllegalArgumentException" in types:
        return StreamURIError(where + _java_message(e))
    py = _by_type(e, where)
    if py is not None:
        return py
    # A wrapped Lakestream cause we know better (e.g. an IllegalStateException around a fenced commit).
    for c in list(_chain(e))[1:]:
        if "io.lakestream.LakestreamException" in _java_types(c):
            py = _by_type(c, where)
            if py is not None:
                return py
    return LakestreamError("%s%s (%s)" % (where, _java_message(e), name))


@contextlib.contextmanager
def java_errors(context: str = "", uri_open: bool = False):
    """Re-raises Java exceptions thrown inside the block as LakestreamError subclasses.

    The Python error says what happened in one message; the Java exception (and its stack
    trace) stays on it as ``java_exception``, and is chained into the traceback only when the
    environment sets ``LAKESTREAM_JAVA_TRACE=1`` (a 30-line Java trace helps nobody fix a step
    below the floor).
    """
    try:
        yield
    except LakestreamError:
        raise
    except Exception as e:  # noqa: BLE001 - JPype raises Java exceptions as Python ones
        py = translate(e, context, uri_open)
        if py is None:
            raise
        py.java_exception = e
        if os.environ.get("LAKESTREAM_JAVA_TRACE") == "1":
            raise py from e
        raise py from None
