#!/usr/bin/env python3
"""Log Lakestream's data-stall share to TensorBoard while a training loop reads a stream.

Every ``--log-every`` steps the loop reads ``TorchDataset.metrics()`` and writes scalars:
``lakestream/data_stall_ratio`` (share of the loop's time spent waiting for data),
``lakestream/reader_wait_ms_mean`` and ``lakestream/reader_mb`` (bytes delivered). With
``torch.utils.tensorboard`` importable they go through its ``SummaryWriter``; without it (no
``tensorboard`` package installed) through ``EventWriter`` below, which writes the same event
file format (TFRecord-framed ``Event`` protobufs with CRC32C) that TensorBoard reads.

Run: /usr/bin/python3 python-bindings/examples/tensorboard_metrics.py --logdir /tmp/tb
     tensorboard --logdir /tmp/tb
"""
import argparse
import os
import socket
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import lakestream  # installed with pip
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))
    import lakestream

import numpy as np


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num: int, wire: int, payload: bytes) -> bytes:
    return _varint(num << 3 | wire) + payload


def _bytes_field(num: int, data: bytes) -> bytes:
    return _field(num, 2, _varint(len(data)) + data)


class EventWriter:
    """The part of ``SummaryWriter`` this example uses (``add_scalar``, ``flush``, ``close``),
    writing TensorBoard's event file format directly: ``tensorflow.Event`` messages (wall_time=1,
    step=2, file_version=3, summary=5 → Summary.value=1 → Value.tag=1, simple_value=2), each
    framed as a TFRecord (length, masked CRC32C of the length, data, masked CRC32C of the data)."""

    def __init__(self, logdir: str):
        os.makedirs(logdir, exist_ok=True)
        self.path = os.path.join(logdir, "events.out.tfevents.%d.%s" % (int(time.time()), socket.gethostname()))
        self._f = open(self.path, "wb")
        self._write(_field(1, 1, struct.pack("<d", time.time())) + _bytes_field(3, b"brain.Event:2"))

    def _write(self, event: bytes):
        header = struct.pack("<Q", len(event))
        self._f.write(header + struct.pack("<I", masked_crc(header)) + event + struct.pack("<I", masked_crc(event)))

    def add_scalar(self, tag: str, value: float, global_step: int):
        value_msg = _bytes_field(1, tag.encode()) + _field(2, 5, struct.pack("<f", float(value)))
        summary = _bytes_field(1, value_msg)
        self._write(_field(1, 1, struct.pack("<d", time.time())) + _field(2, 0, _varint(int(global_step)))
                    + _bytes_field(5, summary))

    def flush(self):
        self._f.flush()

    def close(self):
        self._f.close()


def summary_writer(logdir: str):
    """TensorBoard's own writer when it is installed, else :class:`EventWriter` (same files)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
        return SummaryWriter(logdir)
    except ImportError:
        return EventWriter(logdir)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--logdir", required=True, help="TensorBoard log folder")
    ap.add_argument("--stream", help="stream URI to read (default: write a small one in a temp folder first)")
    ap.add_argument("--steps", type=int, default=24, help="steps to train on (default 24)")
    ap.add_argument("--log-every", type=int, default=4, help="log the metrics every N steps (default 4)")
    ap.add_argument("--compute-ms", type=float, default=2.0, help="simulated compute per step (default 2 ms)")
    a = ap.parse_args(argv)
    import torch

    uri = a.stream
    if uri is None:
        uri = "file://" + os.path.join(tempfile.mkdtemp(prefix="lakestream-tb-"), "stream")
        with lakestream.Producer(uri, "example", world_size=1) as p:
            for s in range(a.steps):
                ids = np.arange(s * 4, s * 4 + 4, dtype=np.int64)
                p.append([{"tokens": (ids[:, None] * 31 + np.arange(16)).astype(np.int32) % 512, "record_id": ids}],
                         cursor=str(s + 1))
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, steps=a.steps)
    writer = summary_writer(a.logdir)
    step = 0
    for batch in torch.utils.data.DataLoader(ds, batch_size=None):
        _ = batch["tokens"].float().mean()  # the "training step"
        time.sleep(a.compute_ms / 1000)  # stands in for a model's compute time
        step += 1
        if step % a.log_every == 0:
            m = ds.metrics()
            waits = max(1.0, m["lakestream_reader_wait_seconds_count"])
            writer.add_scalar("lakestream/data_stall_ratio", m["lakestream_reader_data_stall_ratio"], step)
            writer.add_scalar("lakestream/reader_wait_ms_mean", 1000 * m["lakestream_reader_wait_seconds_sum"] / waits, step)
            writer.add_scalar("lakestream/reader_mb", m["lakestream_reader_bytes_total"] / 1e6, step)
            print("step %d: data stall %.1f%%" % (step, 100 * m["lakestream_reader_data_stall_ratio"]))
    writer.close()
    print("wrote %s scalars for %d steps to %s" % (type(writer).__name__, step, a.logdir))


if __name__ == "__main__":
    main()
