package io.lakestream.store.s3;

import io.lakestream.testkit.s3.EmbeddedS3Server;

import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * Commit and ranged-read latency of file:// vs s3:// (embedded S3Proxy on 127.0.0.1), serial,
 * one caller. Not a test: run by hand after {@code mvn -q -o test-compile package -DskipTests}:
 *
 * <pre>
 * cd loader-java && $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED \
 *   -cp 'target/test-classes:target/classes:target/lib/*' io.lakestream.store.s3.StoreLatencyBench [iterations]
 * </pre>
 *
 * "commit" is a put-if-absent of a fresh 2 KiB version file (what a manifest commit costs the
 * store); "ranged read" is a 256 KiB read at a random offset of a 32 MiB object into a shared
 * off-heap segment (what a rank's per-step fetch costs the store).
 */
public final class StoreLatencyBench {
    private StoreLatencyBench() {}

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 500;
        Path dir = Files.createTempDirectory("lakestream-bench-");
        System.out.printf("store latency, %d measured calls each after %d warm-up, serial%n", n, n / 5);
        try (ObjectStore file = ObjectStores.open("file://" + dir.resolve("stream"), true)) {
            run("file://", file, n);
        }
        try (EmbeddedS3Server server = EmbeddedS3Server.start()) {
            server.createBucket("bench");
            try (ObjectStore s3 = ObjectStores.open(server.streamUri("bench", "stream"), true)) {
                run("s3:// (S3Proxy, 127.0.0.1)", s3, n);
            }
        }
    }

    private static void run(String name, ObjectStore store, int n) {
        Random rnd = new Random(1);
        byte[] version = new byte[2048];
        rnd.nextBytes(version);
        int warm = n / 5;
        long[] commit = new long[n];
        for (int i = 0; i < warm + n; i++) {
            String key = String.format("_log/%020d.json", i);
            long t0 = System.nanoTime();
            if (!store.putIfAbsent(key, version)) {
                throw new IllegalStateException("bench key existed: " + key);
            }
            long t = System.nanoTime() - t0;
            if (i >= warm) {
                commit[i - warm] = t;
            }
        }
        int objSize = 32 << 20;
        int range = 256 << 10;
        byte[] obj = new byte[objSize];
        rnd.nextBytes(obj);
        store.putIfAbsent("data/p/00000001-000000000001.tgb", obj);
        long[] read = new long[n];
        try (Arena arena = Arena.ofShared()) {
            MemorySegment dst = arena.allocate(range, 4096);
            for (int i = 0; i < warm + n; i++) {
                long off = (long) rnd.nextInt(objSize / range) * range;
                long t0 = System.nanoTime();
                store.readRange("data/p/00000001-000000000001.tgb", off, dst);
                long t = System.nanoTime() - t0;
                if (i >= warm) {
                    read[i - warm] = t;
                }
            }
        }
        report(name, "commit (put-if-absent 2 KiB)", commit);
        report(name, "ranged read 256 KiB", read);
    }

    private static void report(String store, String what, long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        System.out.printf("  %-28s %-30s p50 %8.3f ms   p99 %8.3f ms   max %8.3f ms%n", store, what, pct(s, 50) / 1e6,
                pct(s, 99) / 1e6, s[s.length - 1] / 1e6);
    }

    private static long pct(long[] sorted, double p) {
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
