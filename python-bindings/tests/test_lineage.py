"""lakestream.blame / lakestream.find against what the rank readers deliver."""
import numpy as np
import pytest

import lakestream
from conftest import tokens_for, write_stream


def _read_ids(uri, rank, world_size, steps):
    out = []
    with lakestream.Reader(uri, rank, world_size) as r:
        for _ in range(steps):
            b = r.next(30)
            out.append((b.step, b.arrays["record_id"].tolist()))
            del b
    return out


def test_blame_and_find_agree_with_the_readers(jvm, uri):
    write_stream(uri, world_size=2, steps=5, micro_batch=3)
    for rank in range(2):
        for step, ids in _read_ids(uri, rank, 2, 5):
            b = lakestream.blame(uri, step, rank)
            assert b["producer"] == "py" and b["seq"] == step + 1
            assert [r["rank"] for r in b["ranks"]] == [rank]
            assert b["ranks"][0]["record_ids"] == ids
            for rid in ids:
                f = lakestream.find(uri, rid)
                assert f["status"] == "found", f["message"]
                assert [(h["step"], h["rank"]) for h in f["hits"]] == [(step, rank)]
    whole = lakestream.blame(uri, 2)
    assert len(whole["ranks"]) == 2 and whole["cursor_before"] == "next=12" and whole["cursor_after"] == "next=18"


def test_find_of_a_record_not_produced_yet_and_blame_of_a_reclaimed_step(jvm, uri):
    write_stream(uri, world_size=1, steps=6, micro_batch=2)
    f = lakestream.find(uri, 40)
    assert f["status"] == "not_yet_produced" and f["pending"] == ["py"], f
    assert "not produced yet" in f["message"]
    lakestream.record_checkpoint(uri, 3)
    lakestream.record_checkpoint(uri, 4)
    Gc = lakestream._jvm.jclass("io.lakestream.retention.GarbageCollector")
    ManifestLog = lakestream._jvm.jclass("io.lakestream.log.ManifestLog")
    store = lakestream.reader._open_store(uri, False)
    try:
        Gc(ManifestLog.open(store), 0).run(False)
    finally:
        store.close()
    with pytest.raises(lakestream.StepReclaimedError) as e:
        lakestream.blame(uri, 1)
    assert e.value.reclaimed_below == 3 and "reclaimed by GC" in str(e.value)
    assert lakestream.blame(uri, 3)["ranks"][0]["record_ids"] == [6, 7]
    with pytest.raises(lakestream.InvalidArgumentError, match="not committed"):
        lakestream.blame(uri, 60)


def test_control_records_govern_steps_in_lineage(jvm, uri):
    write_stream(uri, world_size=1, steps=2, micro_batch=2)
    assert lakestream.control(uri)["control"] == 0
    r = lakestream.set_control(uri, mixture="web:0.7,code:0.3", id="trainer")
    assert r == {"control": 1, "from_step": 2, "settings": {"mixture": "web:0.7,code:0.3"}, "committed_steps": 2,
                 "committed": True}
    assert lakestream.set_control(uri, mixture="web:0.7,code:0.3")["committed"] is False
    with pytest.raises(lakestream.InvalidArgumentError, match="mixture"):
        lakestream.set_control(uri, mixture="web:lots")
    write_stream(uri, world_size=1, steps=1, micro_batch=2, first_record=4)
    assert lakestream.blame(uri, 1)["control"] == 0
    b = lakestream.blame(uri, 2)
    assert b["control"] == 1 and b["control_settings"] == {"mixture": "web:0.7,code:0.3"}
    assert b["control_applied"] is None  # the Python producer does not follow control records


class _Records:
    """A map-style dataset of records 1000.. (a plain class: lakestream.produce needs no torch)."""

    def __len__(self):
        return 24

    def __getitem__(self, i):
        return {"tokens": np.full(4, i, dtype=np.int32), "record_id": np.int64(1000 + i)}


def _entries(uri):
    store = lakestream.reader._open_store(uri, False)
    try:
        log = lakestream._jvm.jclass("io.lakestream.log.ManifestLog").open(store)
        return [log.entry(s) for s in range(int(log.state().committedSteps()))]
    finally:
        store.close()


def test_find_reads_only_the_objects_whose_record_range_holds_the_id(jvm, uri):
    # Cursors as the guide writes them (str(i + 1)): lineage cannot interpret them, so without
    # the manifest's record ranges every lookup read all 12 objects.
    with lakestream.Producer(uri, "py", 2) as p:
        for i in range(12):
            ids = np.arange(6 * i, 6 * i + 6, dtype=np.int64)
            p.append([{"tokens": tokens_for(ids[:3], 8), "record_id": ids[:3]},
                      {"tokens": tokens_for(ids[3:], 8), "record_id": ids[3:]}], cursor=str(i + 1))
    # lakestream.produce: the collated record_id of its samples, steps 12..15
    assert lakestream.produce(uri, _Records(), producer="ds", world_size=2, micro_batch=3) == 4
    ranges = [(int(e.recordRange().first()), int(e.recordRange().last())) for e in _entries(uri)]
    assert ranges[:2] == [(0, 5), (6, 11)] and ranges[12:] == [(1000, 1005), (1006, 1011), (1012, 1017), (1018, 1023)]
    for rid, step, rank in ((0, 0, 0), (40, 6, 1), (71, 11, 1), (1013, 14, 0)):
        f = lakestream.find(uri, rid)
        assert f["status"] == "found", f["message"]
        assert [(h["step"], h["rank"]) for h in f["hits"]] == [(step, rank)]
        assert f["objects_read"] == 1, f
    lakestream.close_stream(uri)
    f = lakestream.find(uri, 500)  # never produced, on a closed stream: final, from the log alone
    assert f["status"] == "not_found" and f["objects_read"] == 0, f
    assert "the stream is closed" in f["message"]
