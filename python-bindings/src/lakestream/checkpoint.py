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
    durable. A step beyond the committed steps is refused with :class:`CheckpointError`; a step
    not above the latest recorded checkpoint is accepted and ignored by the log. ``id``
    defaults to ``"step-<step>"``.
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


def _commit_checkpoint(store, step: int, ckpt_id: str, uri: str) -> int:
    # Kept in one place so it can switch to the Java helper (io.lakestream.log.Checkpoints)
    # once that exists.
    ManifestLog = _jvm.jclass("io.lakestream.log.ManifestLog")
    Changes = _jvm.jclass("io.lakestream.log.Changes")
    CheckpointRecord = _jvm.jclass("io.lakestream.log.CheckpointRecord")
    Map = _jvm.jclass("java.util.Map")
    List = _jvm.jclass("java.util.List")
    import jpype
    log = ManifestLog.open(store)
    committed = int(log.refresh().committedSteps())
    if step > committed:
        # Committed steps only grow, so checking before the commit is enough.
        raise CheckpointError("lakestream: cannot record a checkpoint at step %d on '%s': only %d steps are committed "
                              "(a checkpoint's step is the next step to consume, at most the committed count)"
                              % (step, uri, committed))
    rec = CheckpointRecord(step, ckpt_id, int(time.time() * 1000))
    changes = Changes(Map.of(), List.of(), List.of(rec))
    prepare = jpype.JProxy("java.util.function.Function", dict={"apply": lambda state: changes})
    r = log.commit("checkpoint", prepare)
    return int(r.version())
