package io.lakestream.memory;

import io.lakestream.metrics.Gauge;
import io.lakestream.metrics.Metrics;

/** Pool occupancy across every {@link PinnedPool} of the process. */
final class PoolMetrics {
    static final Gauge SLABS_IN_USE = Metrics.global().gauge("lakestream_pool_slabs_in_use",
            "Pool slabs lent to batches that are not released yet (all pools of the process)");

    private PoolMetrics() {}

    static void lent() {
        if (Metrics.ENABLED) {
            SLABS_IN_USE.add(1);
        }
    }

    static void released() {
        if (Metrics.ENABLED) {
            SLABS_IN_USE.add(-1);
        }
    }
}
