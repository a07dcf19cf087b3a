"""The Python producer and the Java producer (./lakestream produce) write one stream together."""
import json
import os
import subprocess

import numpy as np

import lakestream
from conftest import REPO

MASK = (1 << 64) - 1


def _signed(x):
    x &= MASK
    return x - (1 << 64) if x >> 63 else x


def synthetic_token(seed, record, j):
    """io.lakestream.source.SyntheticSource.token, in Python (64-bit wrap-around like Java)."""
    z = _signed(seed * 0x9E3779B97F4A7C15 + record * 0xBF58476D1CE4E5B9 + j * 0x94D049BB133111EB)
    z = _signed((z ^ ((z & MASK) >> 30)) * 0xBF58476D1CE4E5B9)
    z = _signed((z ^ ((z & MASK) >> 27)) * 0x94D049BB133111EB)
    z = _signed(z ^ ((z & MASK) >> 31))
    return z % 50257  # Math.floorMod


def _cli(*args):
    r = subprocess.run([os.path.join(REPO, "lakestream"), *args], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_python_and_java_producers_share_a_stream(jvm, uri):
    ws, mb, seq = 2, 2, 4
    # Java writes records 0..7 (2 steps), partition 0/2 (even ids) would also work; keep it simple.
    out = json.loads(_cli("produce", "--stream", uri, "--producer", "java", "--world-size", str(ws), "--micro-batch",
                          str(mb), "--seq-len", str(seq), "--source", "synthetic:records=8,seed=5").strip().splitlines()[-1])
    assert out["steps"] == 2
    # Python appends two more steps with ids 100.. in the same tensor layout.
    with lakestream.Producer(uri, "python", ws) as p:
        for s in range(2):
            shards = []
            for r in range(ws):
                ids = np.arange(100 + 4 * s + 2 * r, 100 + 4 * s + 2 * r + mb, dtype=np.int64)
                shards.append({"tokens": np.full((mb, seq), 7, dtype=np.int32), "record_id": ids})
            p.append(shards, cursor="next=%d" % (104 + 4 * s))
    # Java again (resumes from its own committed cursor: nothing left), then more Java records.
    _cli("produce", "--stream", uri, "--producer", "java", "--world-size", str(ws), "--micro-batch", str(mb),
         "--seq-len", str(seq), "--source", "synthetic:records=12,seed=5")

    # Python reads everything, including Java's bytes: tokens equal the synthetic source's.
    seen = {}
    for rank in range(ws):
        for b in lakestream.TorchDataset(uri, rank=rank, world_size=ws, timeout_s=0.5, end_on_idle=True):
            ids = b["record_id"].tolist()
            seen.setdefault(b["step"], []).extend(ids)
            for i, rid in enumerate(ids):
                want = [7] * seq if rid >= 100 else [synthetic_token(5, rid, j) for j in range(seq)]
                assert b["tokens"][i].tolist() == want
    assert sorted(seen) == [0, 1, 2, 3, 4]
    all_ids = [i for s in sorted(seen) for i in seen[s]]
    assert sorted(all_ids) == list(range(12)) + list(range(100, 108))

    # Java reads what Python wrote.
    lines = [json.loads(x) for x in _cli("consume", "--stream", uri, "--rank", "1", "--world-size", str(ws),
                                         "--from-step", "2", "--steps", "2", "--print", "ids").splitlines() if x.strip()]
    assert [(x["step"], x["ids"]) for x in lines] == [(2, [102, 103]), (3, [106, 107])]
