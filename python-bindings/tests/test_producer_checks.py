"""The Python Producer checks what it is given at append (ranks' shards alike, cursor a str) and
can run the stream's GC in the background (gc_every_s)."""
import glob
import os
import time

import numpy as np
import pytest
import torch

import lakestream


def _shard(n=2, name="tokens", dtype=np.int32, width=4):
    return {name: np.zeros((n, width), dtype=dtype), "record_id": np.arange(n, dtype=np.int64)}


def test_rank_shards_must_agree_on_names_dtypes_and_trailing_shapes(jvm, uri):
    with lakestream.Producer(uri, "p", world_size=2) as p:
        with pytest.raises(lakestream.InvalidArgumentError, match="rank 1 shard differs.*tensor 'tokens' is missing"):
            p.append([_shard(), _shard(name="toks")], cursor="1")
        with pytest.raises(lakestream.InvalidArgumentError, match="tensor 'tokens' is I64, rank 0's is I32"):
            p.append([_shard(), _shard(dtype=np.int64)], cursor="1")
        with pytest.raises(lakestream.InvalidArgumentError, match=r"tensor 'tokens' has shape \(n, 5\), rank 0's \(n, 4\)"):
            p.append([_shard(), _shard(width=5)], cursor="1")
        with pytest.raises(TypeError, match="cursor must be a str"):
            p.append([_shard(), _shard()], cursor=42)
        assert p.pending == 0, "nothing refused was queued"
        p.append([_shard(n=2), {"tokens": torch.zeros((3, 4), dtype=torch.int32), "record_id": torch.arange(3)}],
                 cursor="1")  # sample counts may differ per rank; torch and NumPy mix
    with lakestream.Producer(uri, "p", world_size=2) as p:
        assert p.committed_cursor == "1" and p.committed_seq == 1


def test_gc_every_s_reclaims_below_the_floor_in_the_background(jvm, uri, tmp_path):
    data = os.path.join(uri[len("file://"):], "data")
    with lakestream.Producer(uri, "p", world_size=1, keep_checkpoints=1, gc_every_s=0.1) as p:
        for i in range(8):
            p.append([_shard()], cursor=str(i + 1))
        p.commit()
        assert len(glob.glob(os.path.join(data, "**", "*.tgb"), recursive=True)) == 8
        lakestream.record_checkpoint(uri, 6)
        deadline = time.monotonic() + 60
        while p.gc_reclaimed[0] < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert p.gc_reclaimed[0] == 6 and p.gc_reclaimed[1] > 0
        assert len(glob.glob(os.path.join(data, "**", "*.tgb"), recursive=True)) == 2
    with pytest.raises(lakestream.InvalidArgumentError, match="gc_every_s"):
        lakestream.Producer(uri, "q", world_size=1, gc_every_s=0)
