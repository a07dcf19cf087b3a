"""Recording a durable training checkpoint in the stream's log (retention / flow control)."""
from __future__ import annotations

import atexit
import os
import threading
import time

from . import _jvm
from . import reader as _reader
from ._errors import BelowFloorError, CheckpointError, java_errors
from .reader import _open_store


def record_checkpoint(uri: str, step: int, id: str = None, consumer: str = None) -> int:
    """Records that a training checkpoint at ``step`` is durable; returns the log version written.

    ``step`` is the next step the trainer will consume when restored from that checkpoint (the
    dataset's ``state_dict()["next_step"]``). Call it only after the checkpoint files are
    durable. A step beyond the committed steps is refused with :class:`CheckpointError`;
    recording the same step again is a no-op; a step older than the newest recorded checkpoint
    is refused. ``id`` defaults to ``"step-<step>"``.

    ``consumer`` names who records it when several runs read one stream (a training run, an eval
    job, a reference run); None is the default consumer. Each consumer's newest
    ``keep_checkpoints`` are retained, the retention floor is the lowest step any consumer
    retains, and flow control measures from the slowest consumer's newest checkpoint. A
    consumer's first checkpoint registers it (see :func:`register_consumer`); at a step GC has
    reclaimed that raises :class:`BelowFloorError`.
    """
    step = int(step)
    if step < 0:
        raise CheckpointError("lakestream: checkpoint step must be >= 0, got %d" % step)
    ckpt_id = "step-%d" % step if id is None else str(id)
    if consumer is not None and not isinstance(consumer, str):
        raise TypeError("lakestream: consumer must be a str or None, got %s" % type(consumer).__name__)
    who = "" if consumer is None else " for consumer '%s'" % consumer
    # A trainer records through the handle its Readers of this stream hold (their follower has
    # already read and parsed the versions since the last checkpoint); otherwise through a handle
    # this module holds per stream. Either way the handle's checkpoint log tells a stream created
    # again at the URI by a stat of its config, and recordCheckpoint refreshes it once, in the commit.
    stream = _reader.borrow_stream(uri)
    try:
        with _held_logs.lock:
            try:
                try:
                    with java_errors("cannot record checkpoint at step %d%s on stream '%s'" % (step, who, uri)):
                        handle = _held_logs.get(uri) if stream is None else stream
                        return _record(handle, step, ckpt_id, uri, consumer)
                except BelowFloorError as e:
                    # Java's message already names the consumer, the step, the stream and the lowest step
                    # still readable: one line without a second prefix saying the same.
                    one = BelowFloorError("lakestream: " + str(e.java_exception.getMessage()), step=e.step, floor=e.floor)
                    one.java_exception = e.java_exception
                    raise one from e.__cause__  # the Java trace only when LAKESTREAM_JAVA_TRACE=1 asked for it
            except BaseException:
                # the next call opens the log afresh, whatever went wrong here
                if stream is None:
                    _held_logs.drop(uri)
                else:
                    stream.dropCheckpointLog()
                raise
    finally:
        if stream is not None:
            _reader.release_stream(uri, stream)


def register_consumer(uri: str, name: str, start_step: int = 0) -> int:
    """Registers consumer ``name`` (an eval job, a reference run, a sweep) to read the stream from
    ``start_step``: it holds the retention floor there until it records later checkpoints
    (:func:`record_checkpoint` with ``consumer=name``) or is removed (:func:`remove_consumer`).
    ``start_step`` may lie below the current floor (a reference run decided on after training
    checkpointed) as long as GC has not reclaimed it: the floor drops to it. Where GC has
    reclaimed, it raises :class:`BelowFloorError` (``step``, and ``floor`` = the lowest step
    still readable). Idempotent. Returns the log version."""
    if not isinstance(name, str) or not name:
        raise TypeError("lakestream: consumer name must be a non-empty str, got %r" % (name,))
    return record_checkpoint(uri, start_step, id="registered", consumer=name)


def remove_consumer(uri: str, name: str) -> int:
    """Removes consumer ``name`` and its checkpoints: it no longer holds the floor, so GC may
    reclaim what only it needed. A no-op for an unknown consumer. Returns the log version."""
    if not isinstance(name, str) or not name:
        raise TypeError("lakestream: consumer name must be a non-empty str, got %r" % (name,))
    store = _open_store(uri, False)
    try:
        with java_errors("cannot remove consumer '%s' of stream '%s'" % (name, uri)):
            Checkpoints = _jvm.jclass("io.lakestream.retention.Checkpoints")
            ManifestLog = _jvm.jclass("io.lakestream.log.ManifestLog")
            return int(Checkpoints.remove(ManifestLog.open(store), name).version())
    finally:
        store.close()


def consumers(uri: str) -> dict:
    """``{consumer name: [retained checkpoint steps, oldest first]}`` from the stream's log
    (``"default"`` for checkpoints recorded without a consumer name)."""
    store = _open_store(uri, False)
    try:
        with java_errors("cannot read the consumers of stream '%s'" % uri):
            ManifestLog = _jvm.jclass("io.lakestream.log.ManifestLog")
            m = ManifestLog.open(store).state().consumers()
            return {str(k): [int(c.step()) for c in m.get(k)] for k in m.keySet()}
    finally:
        store.close()


def run_gc(uri: str, dry_run: bool = False, orphan_grace_s: float = None) -> dict:
    """Runs the stream's garbage collection once (what ``lakestream gc`` does) and returns its
    report: ``floor`` (steps below it are reclaimed), ``batch_objects`` / ``batch_bytes`` (batches
    below the floor), ``orphan_objects``, ``log_files``, ``objects``, ``bytes``. The floor respects
    every consumer's checkpoints. ``orphan_grace_s``: default the stream's ``orphan_grace_ms``."""
    import json
    store = _open_store(uri, False)
    try:
        with java_errors("cannot collect garbage of stream '%s'" % uri):
            ManifestLog = _jvm.jclass("io.lakestream.log.ManifestLog")
            Gc = _jvm.jclass("io.lakestream.retention.GarbageCollector")
            log = ManifestLog.open(store)
            g = Gc(log) if orphan_grace_s is None else Gc(log, int(orphan_grace_s * 1000))
            return json.loads(str(g.run(bool(dry_run)).toJson()))
    finally:
        store.close()


def close_stream(uri: str) -> int:
    """Closes the stream: commits its end-of-stream record; returns the number of steps it holds.

    Call it once every producer is done. Readers that reach the end then stop at once
    (``TorchDataset`` ends its iteration, ``Reader.next`` raises :class:`EndOfStreamError`) instead of
    waiting ``timeout_s``; any later commit of batches raises :class:`StreamClosedError`. Final and
    idempotent.
    """
    store = _open_store(uri, False)
    try:
        with java_errors("cannot close stream '%s'" % uri):
            StreamEnd = _jvm.jclass("io.lakestream.log.StreamEnd")
            return int(StreamEnd.close(store).state().endStep())
    finally:
        store.close()


class _HeldLogs:
    """The stream handle each stream's checkpoints are recorded through when no Reader of it is
    open, opened once per process.

    A trainer records a checkpoint every few minutes for hours (the colocated benchmark: every 4
    steps). Opening the store and the log each time read the newest snapshot and every version
    after it: 13-25 ms of CPU per call on a file:// stream with snapshots every 8 versions. A held
    handle's checkpoint log (Java's ``Lakestream.checkpointLog``) only reads the versions committed
    since its last call, after one stat of the stream's config: a stream deleted and created again
    at the URI changes the config file, and only then is the config read and, if it differs, the
    log opened afresh. After an error the handle is closed and the next call opens it afresh.
    Calls are serialised per process by ``lock``."""

    def __init__(self):
        self.lock = threading.Lock()
        self.logs = {}  # uri -> (Java Lakestream, pid that opened it)
        atexit.register(self.close_all)

    def get(self, uri):
        """The handle of ``uri`` held for this process, opened by its first checkpoint."""
        held = self.logs.get(uri)
        if held is None or held[1] != os.getpid():  # a forked child never uses its parent's handle
            held = self.logs[uri] = (_reader.open_stream(uri), os.getpid())
        return held[0]

    def drop(self, uri):
        held = self.logs.pop(uri, None)
        if held is not None and held[1] == os.getpid():
            try:
                held[0].close()
            except Exception:  # noqa: BLE001 - closing after a failure: the failure is what matters
                pass

    def close_all(self):
        import jpype
        if not jpype.isJVMStarted():  # at exit JPype may have shut the JVM down first
            self.logs.clear()
            return
        with self.lock:
            for uri in list(self.logs):
                self.drop(uri)


_held_logs = _HeldLogs()


def _record(handle, step: int, ckpt_id: str, uri: str, consumer: str = None) -> int:
    # As Java's own callers do: the commit refreshes the held log once and validates against the
    # head it read (steps never committed, steps older than the newest checkpoint; idempotent), so
    # no refresh before it (checkpointLog() would GET the absent next version a second time).
    StepNotCommitted = _jvm.jclass("io.lakestream.retention.StepNotCommittedException")
    try:
        return int(handle.recordCheckpoint(step, ckpt_id, consumer).version())
    except StepNotCommitted as e:
        err = CheckpointError("lakestream: cannot record a checkpoint at step %d on '%s': only %d steps are committed "
                              "(a checkpoint's step is the next step to consume, at most the committed count)"
                              % (step, uri, int(e.committedSteps())))
        err.java_exception = e
        raise err from None
