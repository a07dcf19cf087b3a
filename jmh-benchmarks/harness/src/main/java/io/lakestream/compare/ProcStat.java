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
