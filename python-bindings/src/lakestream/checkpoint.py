"""Recording a durable training checkpoint in the stream's log (retention / flow control)."""
from __future__ import annotations

import time

from . import _jvm
from ._errors import CheckpointError, java_errors
from .reader import _open_store


def record_checkpoint(uri: str, step: int, id: str = None) -> int:
    """Records that a training checkpoint at ``step`` is durable; returns the log version written.

    ``step`` is the next step the trainer will consume when restored from that checkpoint (the
    dataset's ``state_dict()["next_step"]``). Call it only after the checkpoint files are
    durable. A step beyond the committed steps is refused with :class:`CheckpointError`;
    recording the same step again is a no-op; a step older than the newest recorded checkpoint
    is refused. ``id`` defaults to ``"step-<step>"``.
    """
    step = int(step)
    if step < 0:
        raise CheckpointError("lakestream: checkpoint step must be >= 0, got %d" % step)
    ckpt_id = "step-%d" % step if id is None else str(id)
    store = _open_store(uri, False)
    try:
        with java_errors("cannot record checkpoint at step %d on stream '%s'" % (step, uri)):
            return _commit_checkpoint(store, step, ckpt_id, uri)
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


def _commit_checkpoint(store, step: int, ckpt_id: str, uri: str) -> int:
    # The Java side validates (never-committed steps, steps older than the newest checkpoint)
    # and is idempotent; its IllegalArgumentException maps to CheckpointError-compatible errors.
    Checkpoints = _jvm.jclass("io.lakestream.retention.Checkpoints")
    ManifestLog = _jvm.jclass("io.lakestream.log.ManifestLog")
    log = ManifestLog.open(store)  # opened once: the check below and the commit share it
    committed = int(log.state().committedSteps())
    if step > committed:
        raise CheckpointError("lakestream: cannot record a checkpoint at step %d on '%s': only %d steps are committed "
                              "(a checkpoint's step is the next step to consume, at most the committed count)"
                              % (step, uri, committed))
    r = Checkpoints.record(log, step, ckpt_id)
    return int(r.version())
