package io.lakestream.memory;

import java.lang.foreign.ValueLayout;

/**
 * Run in a child JVM by {@link PinningFallbackTest} with a forcing environment: builds a pool on
 * the default pinner, lends three slabs at once, uses them, and prints what it got.
 */
public final class PinProbe {
    private PinProbe() {}

    public static void main(String[] args) throws Exception {
        Pinner pinner = Pinners.defaultPinner();
        try (PinnedPool pool = new PinnedPool(1L << 20, 3, pinner);
             PinnedPool.Lease a = pool.acquire(1L << 20, 1000);
             PinnedPool.Lease b = pool.acquire(1L << 20, 1000);
             PinnedPool.Lease c = pool.acquire(1L << 20, 1000)) {
            a.segment().fill((byte) 1);
            b.segment().fill((byte) 2);
            c.segment().fill((byte) 3);
            long sum = a.segment().get(ValueLayout.JAVA_BYTE, 5) + b.segment().get(ValueLayout.JAVA_BYTE, 5)
                    + c.segment().get(ValueLayout.JAVA_BYTE, 5);
            System.out.println("pinner=" + pinner.getClass().getSimpleName());
            System.out.println("pool=" + pool.pinMode() + " slabs=" + pool.slabCount() + " leases=" + a.pinMode() + ","
                    + b.pinMode() + "," + c.pinMode() + " sum=" + sum);
            System.out.println("describe=" + Pinners.describe());
        }
    }
}
