package io.lakestream.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class LatenciesTest {
    @Test
    void nearestRankPercentilesInMilliseconds() {
        long[] ns = new long[1000];
        for (int i = 0; i < ns.length; i++) {
            ns[i] = (ns.length - i) * 1_000_000L; // 1..1000 ms, unsorted
        }
        Latencies l = new Latencies(ns);
        assertEquals(500.0, l.percentileMillis(50));
        assertEquals(990.0, l.percentileMillis(99));
        assertEquals(999.0, l.percentileMillis(99.9));
        assertEquals(1000.0, l.percentileMillis(100));
        double[][] cdf = l.cdf(11);
        assertEquals(11, cdf.length);
        assertEquals(1.0, cdf[0][0]);
        assertEquals(1000.0, cdf[10][0]);
        assertEquals(1.0, cdf[10][1]);
        assertEquals(Double.NaN, new Latencies(new long[0]).percentileMillis(50));
    }

    @Test
    void payloadStampsRoundTripThroughBytesAndSegments() {
        Payload p = new Payload(1024, 2, 1);
        byte[] b = p.stampedShard(42, 1, 123_456_789_012L);
        assertEquals(42, Payload.index(b));
        assertEquals(123_456_789_012L, Payload.stamp(b));
        java.lang.foreign.MemorySegment s = java.lang.foreign.MemorySegment.ofArray(b);
        assertEquals(42, Payload.index(s));
        assertEquals(123_456_789_012L, Payload.stamp(s));
        assertEquals(2048, p.stepBytes());
    }
}
