"""Lakestream's metrics of this process, as a dict (the names ``--metrics-port`` serves to Prometheus).

The Java library records them (``io.lakestream.metrics``) in the JVM that runs inside this
process; a DataLoader worker process has its own JVM, so its readers' figures are in that
worker's ``metrics()``, not the main process's.
"""
from __future__ import annotations

from . import _jvm


def metrics() -> dict:
    """``{series: value}``: counters and gauges by their Prometheus series name
    (``lakestream_store_requests_total{op="get_range"}``), histograms as ``…_count`` and
    ``…_sum`` (seconds). E.g. ``lakestream_reader_data_stall_ratio`` is the share of time the
    training loop spent waiting for data."""
    snap = _jvm.jclass("io.lakestream.metrics.Metrics").global_().snapshot()
    return {str(k): float(v) for k, v in snap.items()}
