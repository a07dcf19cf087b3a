"""TorchDataset(elastic=True): a stream written for 4 ranks read by 3, resumed from a 4-rank checkpoint."""
import pytest

import lakestream
from conftest import write_stream


def _ids(uri, rank, world_size, **kw):
    ds = lakestream.TorchDataset(uri, rank=rank, world_size=world_size, timeout_s=0.5, end_on_idle=True, **kw)
    return [(b["step"], b["record_id"].tolist()) for b in ds], ds


def test_four_rank_stream_read_by_three_ranks_and_resumed(jvm, uri):
    written = write_stream(uri, world_size=4, steps=6, micro_batch=2)  # 8 samples per step
    with pytest.raises(lakestream.WorldSizeMismatchError, match="elastic"):
        _ids(uri, 0, 3)
    per_rank = [_ids(uri, r, 3, elastic=True)[0] for r in range(3)]
    for step in range(6):
        got = []
        for r in range(3):
            s, ids = per_rank[r][step]
            assert s == step and len(ids) == (3 if r < 2 else 2)  # 8 = 3 + 3 + 2
            got.extend(ids)
        assert got == written[step]
    # A checkpoint taken at 4 ranks after step 2 resumes at 3 ranks with the same global batches.
    first, ds = _ids(uri, 0, 4, steps=3)
    state = ds.state_dict()
    assert state == {"next_step": 3}
    rest = []
    for r in range(3):
        ds3 = lakestream.TorchDataset(uri, rank=r, world_size=3, timeout_s=0.5, elastic=True, end_on_idle=True)
        ds3.load_state_dict(state)
        rest.append([(b["step"], b["record_id"].tolist()) for b in ds3])
    for i, step in enumerate(range(3, 6)):
        assert [s for s, _ in (rest[r][i] for r in range(3))] == [step] * 3
        assert sum((rest[r][i][1] for r in range(3)), []) == written[step]
