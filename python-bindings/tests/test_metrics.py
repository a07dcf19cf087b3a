"""Python's view of the Java metrics (``Reader.metrics()``, ``TorchDataset.metrics()``) and the
TensorBoard example, whose event files are read back frame by frame."""
import glob
import os
import struct
import subprocess
import sys

import numpy as np
import torch

import lakestream
from conftest import BINDINGS, python_env

EXAMPLE = os.path.join(BINDINGS, "examples", "tensorboard_metrics.py")


def _produce(uri, steps):
    with lakestream.Producer(uri, "p", world_size=1) as p:
        for s in range(steps):
            ids = np.arange(s * 2, s * 2 + 2, dtype=np.int64)
            p.append([{"tokens": np.zeros((2, 8), dtype=np.int32), "record_id": ids}], cursor=str(s + 1))


def test_metrics_are_a_dict_of_the_prometheus_series_and_move_with_reading(jvm, uri):
    _produce(uri, 5)
    before = lakestream.Reader(uri, 0, 1).metrics()
    assert before["lakestream_producer_batches_committed_total"] >= 5
    for name in ("lakestream_reader_wait_seconds_count", "lakestream_reader_bytes_total", "lakestream_pool_slabs_in_use",
                 'lakestream_store_requests_total{op="get_range"}', "lakestream_producer_commit_conflicts_total",
                 "lakestream_reader_data_stall_ratio", "lakestream_follower_log_polls_total"):
        assert isinstance(before[name], float), name
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, steps=5)
    seen = [int(b["record_id"][0]) for b in torch.utils.data.DataLoader(ds, batch_size=None)]
    assert seen == [0, 2, 4, 6, 8]
    after = ds.metrics()
    assert after["lakestream_reader_steps_total"] - before["lakestream_reader_steps_total"] == 5
    assert after["lakestream_reader_wait_seconds_count"] - before["lakestream_reader_wait_seconds_count"] == 5
    assert after["lakestream_reader_bytes_total"] > before["lakestream_reader_bytes_total"]
    assert 0 < after["lakestream_reader_data_stall_ratio"] <= 1


def _records(path):
    """TFRecord frames of an event file, each CRC checked with the example's own masked CRC32C."""
    sys.path.insert(0, os.path.dirname(EXAMPLE))
    try:
        from tensorboard_metrics import masked_crc
    finally:
        sys.path.pop(0)
    data = open(path, "rb").read()
    out, i = [], 0
    while i < len(data):
        header = data[i:i + 8]
        (n,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", data[i + 8:i + 12])[0] == masked_crc(header)
        body = data[i + 12:i + 12 + n]
        assert struct.unpack("<I", data[i + 12 + n:i + 16 + n])[0] == masked_crc(body)
        out.append(body)
        i += 16 + n
    return out


def test_tensorboard_example_logs_the_data_stall_share(tmp_path):
    r = subprocess.run([sys.executable, EXAMPLE, "--logdir", str(tmp_path / "tb"), "--steps", "8", "--log-every", "4"],
                       capture_output=True, text=True, timeout=180, env=python_env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("data stall") == 2, r.stdout
    files = glob.glob(str(tmp_path / "tb" / "events.out.tfevents.*"))
    assert len(files) == 1, files
    records = _records(files[0])
    assert b"brain.Event:2" in records[0]
    scalars = [rec for rec in records if b"lakestream/data_stall_ratio" in rec]
    assert len(scalars) == 2  # steps 4 and 8
    # the value is the float after the tag: field 2, wire type 5 (0x15)
    v = scalars[-1]
    k = v.index(b"lakestream/data_stall_ratio") + len(b"lakestream/data_stall_ratio")
    assert v[k] == 0x15
    (stall,) = struct.unpack("<f", v[k + 1:k + 5])
    assert 0 < stall <= 1
