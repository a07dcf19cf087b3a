package io.lakestream.compare;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * What the slowest append→visible steps waited for: lines each slow step's window (handed over →
 * visible on the last rank, wall clock) up with the events of the producer's and the reader's
 * flight recordings (settings=profile: fsyncs, file I/O, parks, monitor waits and GC pauses above
 * their thresholds) and adds up, per kind of wait (event type, thread with its digits dropped,
 * and the first Lakestream frame), how much of the slow windows it covered. The same is added up
 * over every window as a baseline, so a wait that is everywhere is told apart from one that is
 * only where the tail is; kinds are ranked by the share of the slow windows' time they cover
 * minus their share of every window's time.
 */
final class JfrTail {
    private static final List<String> TYPES = List.of("jdk.FileForce", "jdk.FileWrite", "jdk.FileRead", "jdk.ThreadPark",
            "jdk.JavaMonitorEnter", "jdk.JavaMonitorWait", "jdk.ThreadSleep", "jdk.GCPhasePause", "jdk.SafepointBegin",
            "jdk.SocketRead", "jdk.SocketWrite");

    private JfrTail() {}

    /** One window: when a step was handed over and when it became visible, in wall-clock nanoseconds. */
    record Window(long fromNanos, long toNanos) {}

    private record Wait(String kind, long fromNanos, long toNanos) {}

    /**
     * Reads the recordings and returns the kinds of wait ranked by how much of the slow windows
     * they covered: kind, slow windows touched, overlap ms in slow windows (total and the largest
     * single one), and the overlap per window across {@code all} windows (baseline).
     */
    static List<Map<String, Object>> analyze(List<Path> recordings, List<Window> slow, List<Window> all, int top) throws IOException {
        List<Wait> waits = new ArrayList<>();
        for (Path p : recordings) {
            if (!Files.exists(p)) {
                continue;
            }
            String process = p.getFileName().toString().contains("producer") ? "producer" : "reader";
            for (RecordedEvent e : RecordingFile.readAllEvents(p)) {
                String type = e.getEventType().getName();
                if (!TYPES.contains(type) || e.getDuration().isZero()) {
                    continue;
                }
                waits.add(new Wait(process + ": " + kind(e), nanos(e.getStartTime()), nanos(e.getEndTime())));
            }
        }
        Map<String, double[]> slowBy = new HashMap<>(); // kind -> {windows touched, overlap ms, max overlap ms}
        for (Window w : slow) {
            Map<String, Double> perKind = overlaps(waits, w);
            for (Map.Entry<String, Double> e : perKind.entrySet()) {
                double[] a = slowBy.computeIfAbsent(e.getKey(), k -> new double[3]);
                a[0]++;
                a[1] += e.getValue();
                a[2] = Math.max(a[2], e.getValue());
            }
        }
        Map<String, Double> allBy = new HashMap<>();
        for (Window w : all) {
            overlaps(waits, w).forEach((k, v) -> allBy.merge(k, v, Double::sum));
        }
        List<Map<String, Object>> out = new ArrayList<>();
        int n = Math.max(1, slow.size());
        int m0 = Math.max(1, all.size());
        double slowMs = Math.max(1e-9, slow.stream().mapToDouble(w -> (w.toNanos() - w.fromNanos()) / 1e6).sum());
        double allMs = Math.max(1e-9, all.stream().mapToDouble(w -> (w.toNanos() - w.fromNanos()) / 1e6).sum());
        // Ranked by share of window time, slow windows minus all windows: a wait that is always there
        // (an idle thread parked) covers a long window as much as a short one and ranks low.
        slowBy.entrySet().stream().sorted(Comparator.comparingDouble(
                        (Map.Entry<String, double[]> e) -> -(e.getValue()[1] / slowMs - allBy.getOrDefault(e.getKey(), 0.0) / allMs)))
                .limit(top).forEach(e -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("wait", e.getKey());
                    m.put("slow_steps_touched", (int) e.getValue()[0]);
                    m.put("slow_steps", slow.size());
                    m.put("ms_per_slow_step", e.getValue()[1] / n);
                    m.put("max_ms", e.getValue()[2]);
                    m.put("ms_per_step_all", allBy.getOrDefault(e.getKey(), 0.0) / m0);
                    m.put("share_of_slow_windows", e.getValue()[1] / slowMs);
                    m.put("share_of_all_windows", allBy.getOrDefault(e.getKey(), 0.0) / allMs);
                    out.add(m);
                });
        return out;
    }

    private static Map<String, Double> overlaps(List<Wait> waits, Window w) {
        Map<String, Double> perKind = new HashMap<>();
        for (Wait x : waits) {
            long from = Math.max(x.fromNanos(), w.fromNanos());
            long to = Math.min(x.toNanos(), w.toNanos());
            if (to > from) {
                perKind.merge(x.kind(), (to - from) / 1e6, Double::sum);
            }
        }
        return perKind;
    }

    private static long nanos(Instant t) {
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    /** Event type (without "jdk."), thread name with digits dropped, first io.lakestream frame (if any). */
    private static String kind(RecordedEvent e) {
        StringBuilder sb = new StringBuilder(e.getEventType().getName().replace("jdk.", ""));
        RecordedThread t = e.getThread();
        if (t != null && t.getJavaName() != null) {
            String name = t.getJavaName();
            int sp = name.indexOf(' ');
            sb.append(" @ ").append((sp > 0 ? name.substring(0, sp) : name).replaceAll("\\d+", "N"));
        }
        RecordedStackTrace st = e.getStackTrace();
        if (st != null) {
            for (RecordedFrame f : st.getFrames()) {
                if (f.isJavaFrame() && f.getMethod().getType().getName().startsWith("io.lakestream")) {
                    String cls = f.getMethod().getType().getName();
                    sb.append(" in ").append(cls.substring(cls.lastIndexOf('.') + 1)).append('.').append(f.getMethod().getName());
                    break;
                }
            }
        }
        return sb.toString();
    }
}
