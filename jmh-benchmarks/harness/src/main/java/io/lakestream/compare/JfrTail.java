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

    /** One window: when step {@code step} was handed over and when it became visible, in wall-clock nanoseconds. */
    record Window(long step, long fromNanos, long toNanos) {}

    /** One repeat: its producer's and reader's recordings and its windows (steps count from 0 in each repeat's stream). */
    record Repeat(List<Path> recordings, List<Window> slow, List<Window> all) {}

    /** The stages of a step's append→visible time, in order; each ends where the next begins. */
    static final List<String> STAGES = List.of(
            "handed over → a writer starts the object",
            "object put + fsync",
            "written → its group commit starts",
            "group commit (directory sync, version put + fsync)",
            "committed → the reader's follower knows",
            "known → the last rank's fetch starts",
            "the last rank's fetch",
            "fetched → next() returns it");

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

    /**
     * Splits each step's append→visible window into {@link #STAGES} from the Lakestream events in
     * the recordings ({@code io.lakestream.BatchWrite}, {@code Commit}, {@code FollowerNews},
     * {@code ShardFetch}) and returns, per stage, its median and maximum over the slow steps and
     * its median over every step, and in how many slow steps it was the longest stage. Steps map to
     * batch writes by sequence order: the latency runs have one producer on a fresh stream, so
     * its k-th batch is step k. Times of the two processes' recordings are each JVM's wall clock.
     */
    static Map<String, Object> stages(List<Repeat> repeats) throws IOException {
        List<double[]> slowRows = new ArrayList<>();
        List<double[]> allRows = new ArrayList<>();
        for (Repeat r : repeats) {
            Timeline t = Timeline.read(r.recordings());
            if (t == null) {
                continue;
            }
            for (Window w : r.slow()) {
                double[] row = t.split(w);
                if (row != null) {
                    slowRows.add(row);
                }
            }
            for (Window w : r.all()) {
                double[] row = t.split(w);
                if (row != null) {
                    allRows.add(row);
                }
            }
        }
        if (allRows.isEmpty()) {
            return null;
        }
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < STAGES.size(); i++) {
            final int k = i;
            double[] slow = slowRows.stream().mapToDouble(a -> a[k]).sorted().toArray();
            double[] all = allRows.stream().mapToDouble(a -> a[k]).sorted().toArray();
            long longest = slowRows.stream().filter(a -> argMax(a) == k).count();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("stage", STAGES.get(i));
            m.put("slow_p50_ms", median(slow));
            m.put("slow_max_ms", slow.length == 0 ? Double.NaN : slow[slow.length - 1]);
            m.put("slow_longest", longest);
            m.put("all_p50_ms", median(all));
            m.put("all_p99_ms", all.length == 0 ? Double.NaN : all[Math.min(all.length - 1, (int) Math.ceil(0.99 * all.length) - 1)]);
            rows.add(m);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("slow_steps", slowRows.size());
        out.put("steps", allRows.size());
        out.put("stages", rows);
        return out;
    }

    /** Each window's stages in ms (a row per window whose events were all found, in window order). */
    static List<double[]> split(List<Path> recordings, List<Window> windows) throws IOException {
        Timeline t = Timeline.read(recordings);
        List<double[]> rows = new ArrayList<>();
        if (t != null) {
            for (Window w : windows) {
                double[] row = t.split(w);
                if (row != null) {
                    rows.add(row);
                }
            }
        }
        return rows;
    }

    private static int argMax(double[] a) {
        int k = 0;
        for (int i = 1; i < a.length; i++) {
            if (a[i] > a[k]) {
                k = i;
            }
        }
        return k;
    }

    private static double median(double[] sorted) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** One repeat's Lakestream events, indexed by step. */
    private static final class Timeline {
        private final List<long[]> writes = new ArrayList<>(); // {seq, start, end}, by seq once sorted
        private final List<long[]> commits = new ArrayList<>(); // {firstStep, batches, start, end}
        private final List<long[]> news = new ArrayList<>(); // {fromStep, toStep, end}, by time
        private final Map<Long, long[]> lastFetch = new HashMap<>(); // step -> {start, end} of the latest-ending rank

        static Timeline read(List<Path> recordings) throws IOException {
            Timeline t = new Timeline();
            for (Path p : recordings) {
                if (!Files.exists(p)) {
                    continue;
                }
                for (RecordedEvent e : RecordingFile.readAllEvents(p)) {
                    long start = nanos(e.getStartTime());
                    long end = nanos(e.getEndTime());
                    switch (e.getEventType().getName()) {
                        case "io.lakestream.BatchWrite" -> t.writes.add(new long[] {e.getLong("seq"), start, end});
                        case "io.lakestream.Commit" -> t.commits.add(new long[] {e.getLong("firstStep"), e.getInt("batches"),
                                end - e.getLong("latency"), end});
                        case "io.lakestream.FollowerNews" -> t.news.add(new long[] {e.getLong("fromStep"), e.getLong("toStep"), end});
                        case "io.lakestream.ShardFetch" -> t.lastFetch.merge(e.getLong("step"), new long[] {start, end},
                                (a, b) -> a[1] >= b[1] ? a : b);
                        default -> { }
                    }
                }
            }
            if (t.writes.isEmpty() || t.commits.isEmpty() || t.news.isEmpty() || t.lastFetch.isEmpty()) {
                return null; // a recording without the events (an older build, or recording off)
            }
            t.writes.sort(Comparator.comparingLong(a -> a[0]));
            t.news.sort(Comparator.comparingLong(a -> a[2]));
            return t;
        }

        /** The window's stages in ms, or null when an event of the step is missing. */
        double[] split(Window w) {
            long s = w.step();
            if (s < 0 || s >= writes.size()) {
                return null;
            }
            long[] write = writes.get((int) s);
            long[] commit = null;
            for (long[] c : commits) {
                if (c[0] <= s && s < c[0] + c[1]) {
                    commit = c;
                    break;
                }
            }
            long[] known = null;
            for (long[] n : news) {
                if (n[0] <= s && s < n[1]) {
                    known = n;
                    break;
                }
            }
            long[] fetch = lastFetch.get(s);
            if (commit == null || known == null || fetch == null) {
                return null;
            }
            long[] marks = {w.fromNanos(), write[1], write[2], commit[2], commit[3], known[2], fetch[0], fetch[1], w.toNanos()};
            double[] row = new double[STAGES.size()];
            for (int i = 0; i < row.length; i++) {
                row[i] = (marks[i + 1] - marks[i]) / 1e6;
            }
            return row;
        }
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
