"""Several consumers of one stream: a training run, an eval job and a reference run read the
same stream without a copy; each records checkpoints under its own name; GC respects all of
them; below the floor is a one-line BelowFloorError."""
import pytest

import lakestream
from conftest import write_stream


def _gc(uri):
    """Runs the stream's GC once (what `lakestream gc` does); returns the batch objects it deleted."""
    ObjectStores = lakestream._jvm.jclass("io.lakestream.store.ObjectStores")
    ManifestLog = lakestream._jvm.jclass("io.lakestream.log.ManifestLog")
    GarbageCollector = lakestream._jvm.jclass("io.lakestream.retention.GarbageCollector")
    store = ObjectStores.open(uri, False)
    try:
        return int(GarbageCollector(ManifestLog.open(store)).run(False).batchObjects())
    finally:
        store.close()


def _read(uri, start_step=0):
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, start_step=start_step, timeout_s=30)
    return {b["step"]: b["record_id"].tolist() for b in ds}


def test_trainer_eval_job_and_reference_run_share_one_stream(jvm, uri):
    written = write_stream(uri, world_size=1, steps=12)
    lakestream.close_stream(uri)
    # The eval job and the reference run are registered when the stream is made: they hold step 0.
    lakestream.register_consumer(uri, "eval", 0)
    lakestream.register_consumer(uri, "reference", 0)
    assert _read(uri) == dict(enumerate(written))  # the training run
    for step in (4, 8, 12):
        lakestream.record_checkpoint(uri, step)  # default consumer, keep_checkpoints=2
    assert lakestream.consumers(uri) == {"default": [8, 12], "eval": [0], "reference": [0]}
    assert _gc(uri) == 0, "the eval job and the reference run still hold step 0"
    assert _read(uri, 0) == dict(enumerate(written)), "the reference run reads every step, same records"

    lakestream.record_checkpoint(uri, 6, consumer="eval")
    lakestream.record_checkpoint(uri, 10, consumer="eval")  # eval keeps 6 and 10
    lakestream.remove_consumer(uri, "reference")
    assert lakestream.consumers(uri) == {"default": [8, 12], "eval": [6, 10]}
    assert _gc(uri) == 6, "steps 0-5: below every consumer's checkpoints"
    assert _read(uri, 6) == {s: written[s] for s in range(6, 12)}

    with pytest.raises(lakestream.BelowFloorError) as ei:
        next(iter(lakestream.TorchDataset(uri, rank=0, world_size=1, start_step=2)))
    e = ei.value
    assert (e.step, e.floor) == (2, 6) and isinstance(e, lakestream.InvalidArgumentError)
    assert "below the retention floor 6" in str(e) and "\n" not in str(e)
    assert e.__cause__ is None and e.__suppress_context__, "no chained Java traceback unless asked for"
    assert e.java_exception is not None
    with pytest.raises(lakestream.BelowFloorError, match="the lowest step still readable is 6") as ei:
        lakestream.register_consumer(uri, "late", 2)
    assert (ei.value.step, ei.value.floor) == (2, 6) and "\n" not in str(ei.value)
    assert ei.value.__cause__ is None
    with pytest.raises(lakestream.CheckpointError, match="only 12 steps"):
        lakestream.record_checkpoint(uri, 13, consumer="eval")
    with pytest.raises(TypeError):
        lakestream.register_consumer(uri, None, 0)


def test_a_consumer_registered_below_the_floor_holds_it_while_nothing_there_is_reclaimed(jvm, uri):
    written = write_stream(uri, world_size=1, steps=12)
    lakestream.close_stream(uri)
    for step in (4, 8):
        lakestream.record_checkpoint(uri, step)  # training is at 8; floor 4 (keep_checkpoints=2)
    # A reference run decided on later, from step 0: nothing below the floor is reclaimed yet.
    lakestream.register_consumer(uri, "reference", 0)
    assert lakestream.consumers(uri) == {"default": [4, 8], "reference": [0]}
    assert _gc(uri) == 0, "the reference run holds the floor at 0"
    assert _read(uri, 0) == dict(enumerate(written))
    lakestream.remove_consumer(uri, "reference")
    assert _gc(uri) == 4
    with pytest.raises(lakestream.BelowFloorError) as ei:
        lakestream.register_consumer(uri, "reference", 0)
    e = ei.value
    assert (e.step, e.floor) == (0, 4) and "\n" not in str(e), str(e)
    assert "cannot register consumer 'reference' at step 0" in str(e) and "lowest step still readable is 4" in str(e)
    assert e.__cause__ is None and e.__suppress_context__
