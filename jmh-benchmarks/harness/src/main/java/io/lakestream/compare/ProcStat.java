package io.lakestream.compare;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time and resident memory of a process from Linux's {@code /proc}: so each side's client,
 * broker and store server can be charged separately, child process by child process.
 */
final class ProcStat {
    /** Clock ticks per second of {@code utime}/{@code stime}: USER_HZ, 100 on Linux on x86 and arm. */
    private static final double TICKS_PER_SECOND = 100.0;

    private ProcStat() {}

    /** User + system CPU seconds the process has used so far (all threads), or NaN if unknown. */
    static double cpuSeconds(long pid) {
        try {
            String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // The command name (field 2) may hold spaces: fields are counted after its ')'.
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            long utime = Long.parseLong(f[11]);
            long stime = Long.parseLong(f[12]);
            return (utime + stime) / TICKS_PER_SECOND;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** Peak resident set size (VmHWM) in bytes, or -1 if unknown. */
    static long peakRssBytes(long pid) {
        return statusKib(pid, "VmHWM:") * 1024;
    }

    /** Current resident set size (VmRSS) in bytes, or -1 if unknown. */
    static long rssBytes(long pid) {
        return statusKib(pid, "VmRSS:") * 1024;
    }

    private static long statusKib(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // the process is gone or this is not Linux
        }
        return -1;
    }

    /** The 1-minute load average as a number (NaN if unknown): a repeat started above the threshold is rerun. */
    static double load1() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /**
     * CPU pressure now: the share of the next {@code millis} in which some runnable task waited
     * for a CPU ({@code /proc/pressure/cpu}'s "some total", in percent; NaN where the kernel has
     * no PSI). Unlike the load average it does not count threads blocked on the disk, which the
     * fsyncing cases (Lakestream's writers, Kafka with flush.messages=1) leave in the 1-minute
     * average for a minute after they end, and unlike PSI's own averages it does not include
     * the case that just ended.
     */
    static double cpuPressure(long millis) throws InterruptedException {
        return pressure("cpu", millis);
    }

    /**
     * Disk pressure now: the share of the next {@code millis} in which some task waited for I/O
     * ({@code /proc/pressure/io}, percent; NaN without PSI). Deleting the gigabytes of the
     * ingestion cases keeps the disk busy (discards, journal) after {@code sync} returns.
     */
    static double ioPressure(long millis) throws InterruptedException {
        return pressure("io", millis);
    }

    private static double pressure(String resource, long millis) throws InterruptedException {
        long before = waitMicros(resource);
        long t0 = System.nanoTime();
        Thread.sleep(millis);
        long after = waitMicros(resource);
        if (before < 0 || after < 0) {
            return Double.NaN;
        }
        return 100.0 * (after - before) * 1e3 / (System.nanoTime() - t0);
    }

    private static long waitMicros(String resource) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/pressure/" + resource))) {
                if (line.startsWith("some ")) {
                    for (String f : line.split(" ")) {
                        if (f.startsWith("total=")) {
                            return Long.parseLong(f.substring(6));
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // no PSI
        }
        return -1;
    }

    /** The 1-minute load average, for labelling every figure. */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
