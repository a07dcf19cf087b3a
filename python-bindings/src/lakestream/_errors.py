"""Python exceptions for Lakestream failures, and the translation from Java exceptions."""
from __future__ import annotations

import contextlib


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


class CheckpointError(LakestreamError, ValueError):
    """A checkpoint record was refused (e.g. its step is not committed yet)."""


def _java_name(e) -> str:
    try:
        return str(e.getClass().getName())
    except Exception:  # noqa: BLE001 - not a Java exception
        return ""


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


def translate(e, context: str = "", uri_open: bool = False):
    """The Python exception for Java exception ``e`` (None if ``e`` is not a Java exception)."""
    name = _java_name(e)
    if not name:
        return None
    msg = _java_message(e)
    where = (context + ": ") if context else ""
    if name == "io.lakestream.producer.ProducerFencedException":
        return FencedError("fenced: " + msg, producer=str(e.producer()), epoch=int(e.epoch()),
                           current_epoch=int(e.currentEpoch()))
    if name == "io.lakestream.log.WorldSizeMismatchException":
        return WorldSizeMismatchError(where + msg)
    if name == "io.lakestream.reader.ReaderTimeoutException":
        return StepTimeoutError(where + msg, committed=bool(e.committed()))
    if name == "io.lakestream.reader.PoolExhaustedException":
        return PoolExhaustedError(where + msg, held_steps=[int(s) for s in e.heldSteps()])
    if name == "io.lakestream.reader.EndOfStreamException":
        return EndOfStreamError(where + msg, end_step=int(e.endStep()))
    if name == "io.lakestream.log.StreamClosedException":
        return StreamClosedError(where + msg)
    if name in ("io.lakestream.format.ChecksumMismatchException", "io.lakestream.format.FormatException",
                "io.lakestream.log.LogFormatException"):
        return DataError(where + msg)
    if name == "io.lakestream.store.StoreException" and "does not exist" in msg:
        return StreamNotFoundError(where + msg)
    if name == "java.lang.IllegalArgumentException":
        if msg.startswith("no Lakestream stream at"):
            return StreamNotFoundError(where + msg)
        if uri_open:
            return StreamURIError(where + msg)
        return InvalidArgumentError(where + msg)
    # A wrapped cause we know better (e.g. an IllegalStateException around a fenced commit).
    for c in list(_chain(e))[1:]:
        if _java_name(c) == "io.lakestream.producer.ProducerFencedException":
            return translate(c, context)
    return LakestreamError("%s%s (%s)" % (where, msg, name))


@contextlib.contextmanager
def java_errors(context: str = "", uri_open: bool = False):
    """Re-raises Java exceptions thrown inside the block as LakestreamError subclasses."""
    try:
        yield
    except LakestreamError:
        raise
    except Exception as e:  # noqa: BLE001 - JPype raises Java exceptions as Python ones
        py = translate(e, context, uri_open)
        if py is None:
            raise
        raise py from e
