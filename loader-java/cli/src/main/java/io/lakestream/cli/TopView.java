package io.lakestream.cli;

import io.lakestream.log.CheckpointRecord;
import io.lakestream.log.ManifestState;
import io.lakestream.log.ProducerState;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.TgbEntry;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code lakestream top} shows, computed from successive states of the log (no terminal in
 * here: {@link #frame} returns the text of one screen). Everything comes from the log, which every
 * producer and every checkpoint writes to: rates are differences between two refreshes, a
 * producer's last commit is when top saw its sequence number move, and trainers' positions are
 * their checkpoints (a checkpoint's step is the next step its trainer consumes). A producer's
 * waiting reason is what the log shows of it: flow control when the stream is at its lag bound,
 * a closed stream, or idle.
 */
final class TopView {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC);

    private final String where;
    private ManifestState prev;
    private long prevNanos;
    private final Map<String, Long> seenSeq = new HashMap<>();
    private final Map<String, Long> movedAtNanos = new HashMap<>();
    private double stepsPerSecond = Double.NaN;
    private double commitsPerSecond = Double.NaN;

    TopView(String where) {
        this.where = where;
    }

    /** One screen for the state read at {@code nanos} (monotonic) and {@code nowMillis} (wall clock). */
    String frame(ManifestState s, long nanos, long nowMillis, double intervalS) {
        if (prev != null && nanos > prevNanos) {
            double dt = (nanos - prevNanos) / 1e9;
            stepsPerSecond = (s.committedSteps() - prev.committedSteps()) / dt;
            commitsPerSecond = (s.version() - prev.version()) / dt;
        }
        for (var e : s.producers().entrySet()) {
            Long before = seenSeq.put(e.getKey(), e.getValue().seq());
            if (before != null && before != e.getValue().seq()) {
                movedAtNanos.put(e.getKey(), nanos);
            }
        }
        StreamConfig c = s.config();
        StringBuilder b = new StringBuilder(2048);
        b.append(String.format(Locale.ROOT, "lakestream top  %s  %s  (every %s s; Ctrl-C quits)%n", where,
                TIME.format(Instant.ofEpochMilli(nowMillis)), trim(intervalS)));
        b.append(String.format(Locale.ROOT, "stream     world size %d · version %d · head step %d%s%n", c.worldSize(), s.version(),
                s.committedSteps(), s.ended() ? " · CLOSED at step " + s.endStep() : ""));
        b.append(String.format(Locale.ROOT, "rate       %s steps/s · %s commits/s%n", rate(stepsPerSecond), rate(commitsPerSecond)));
        boolean atBound = c.maxLagSteps() > 0 && s.lagSteps() >= c.maxLagSteps();
        b.append(String.format(Locale.ROOT, "flow       %d steps beyond the newest checkpoint · bound %s%s%n", s.lagSteps(),
                c.maxLagSteps() > 0 ? Long.toString(c.maxLagSteps()) : "none", atBound ? " · AT BOUND: producers wait for a checkpoint" : ""));

        Map<String, Long> lastStep = lastSteps(s);
        b.append(String.format(Locale.ROOT, "%nproducers (%d)%n", s.producers().size()));
        b.append(String.format(Locale.ROOT, "  %-18s %6s %9s %10s %7s %-14s %s%n", "ID", "EPOCH", "SEQ", "LAST STEP", "BEHIND",
                "LAST COMMIT", "STATE"));
        for (var e : s.producers().entrySet()) {
            ProducerState p = e.getValue();
            Long last = lastStep.get(e.getKey());
            Long moved = movedAtNanos.get(e.getKey());
            String state;
            if (s.ended()) {
                state = "done: stream closed";
            } else if (moved != null && moved == nanos) {
                state = "committing";
            } else if (atBound) {
                state = "idle: stream at lag bound"; // the log cannot tell one with batches to commit from one that is done
            } else {
                state = "idle";
            }
            b.append(String.format(Locale.ROOT, "  %-18s %6d %9d %10s %7s %-14s %s%n", clip(e.getKey(), 18), p.epoch(), p.seq(),
                    last == null ? "-" : last.toString(), last == null ? "-" : Long.toString(s.committedSteps() - 1 - last),
                    moved == null ? (prev == null ? "-" : "before top") : ago(nanos - moved), state));
        }

        b.append(String.format(Locale.ROOT, "%ncheckpoints (%d kept of %d) · floor step %d%n", s.checkpoints().size(),
                c.keepCheckpoints(), s.floorStep()));
        if (s.checkpoints().isEmpty()) {
            b.append("  none yet: no trainer has recorded a checkpoint\n");
        } else {
            b.append(String.format(Locale.ROOT, "  %-22s %10s %12s %s%n", "ID", "STEP", "AGE", "TRAINER POSITION"));
            List<CheckpointRecord> cps = s.checkpoints();
            for (int i = 0; i < cps.size(); i++) {
                CheckpointRecord cp = cps.get(i);
                boolean newest = i == cps.size() - 1;
                b.append(String.format(Locale.ROOT, "  %-22s %10d %12s %s%n", clip(cp.id(), 22), cp.step(),
                        cp.timestampMillis() > 0 ? ago((nowMillis - cp.timestampMillis()) * 1_000_000) : "-",
                        newest ? "resumes at step " + cp.step() + " (" + (s.committedSteps() - cp.step()) + " steps committed ahead)"
                                : i == 0 ? "floor: steps below are reclaimable" : ""));
            }
        }
        b.append(String.format(Locale.ROOT, "readers    from checkpoints (no heartbeat): trainers had consumed steps < %d at the newest%n",
                s.latestCheckpoint() == null ? 0 : s.latestCheckpoint().step()));
        long awaiting = Math.max(0, s.floorStep() - s.reclaimedBelowStep());
        b.append(String.format(Locale.ROOT, "gc         reclaimed below step %d · %d steps below the floor awaiting GC · last snapshot"
                + " version %s%n", s.reclaimedBelowStep(), awaiting, s.lastSnapshotVersion() < 0 ? "none" : s.lastSnapshotVersion()));
        prev = s;
        prevNanos = nanos;
        return b.toString();
    }

    /** Each producer's newest step among the steps the state holds inline (the recent ones). */
    private static Map<String, Long> lastSteps(ManifestState s) {
        Map<String, Long> m = new HashMap<>();
        List<TgbEntry> tail = s.tail();
        for (int i = tail.size() - 1; i >= 0; i--) {
            m.putIfAbsent(tail.get(i).producer(), s.tailFirstStep() + i);
        }
        return m;
    }

    private static String rate(double r) {
        return Double.isNaN(r) ? "-" : String.format(Locale.ROOT, "%.1f", r);
    }

    private static String trim(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    static String ago(long nanos) {
        long s = Math.max(0, nanos) / 1_000_000_000L;
        if (s < 60) {
            return String.format(Locale.ROOT, "%.1f s ago", Math.max(0, nanos) / 1e9);
        }
        if (s < 3600) {
            return (s / 60) + "m " + (s % 60) + "s ago";
        }
        return (s / 3600) + "h " + (s % 3600 / 60) + "m ago";
    }

    private static String clip(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "…";
    }
}
