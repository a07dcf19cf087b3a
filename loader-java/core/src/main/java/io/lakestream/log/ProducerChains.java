package io.lakestream.log;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The producer-chain rule of {@link ManifestState#apply}: every TGB entry is checked against the
 * producer state it claims (docs/format.md §4, "Entries and producer states"). Its producer is
 * known (before this version or by this version's own update), the entry's epoch is that
 * producer's current epoch, and its sequence is the next one; the version's update of the
 * producer ends exactly at its last entry. Producer states never go back (epoch and sequence only
 * grow). Together with the object key being a function of (producer, epoch, seq)
 * ({@link TgbEntry#validate}) this makes every committed step name an object no other step names,
 * so GC deleting a step's object below the floor can never take one a step above it needs. The
 * entry's key was checked against its own fields already.
 */
final class ProducerChains {
    private ProducerChains() {}

    static void check(Map<String, ProducerState> producers, long committedSteps, VersionFile v, Object where) {
        for (Map.Entry<String, ProducerState> u : v.producers().entrySet()) {
            ProducerState before = producers.get(u.getKey());
            ProducerState after = u.getValue();
            if (after == null || after.epoch() < 1 || after.seq() < 0) {
                throw new LogFormatException(where + ": field 'producers." + u.getKey() + "' is " + after
                        + " (an epoch >= 1 and a seq >= 0 are required)");
            }
            if (before != null && (after.epoch() < before.epoch() || after.seq() < before.seq())) {
                throw new LogFormatException(where + ": field 'producers." + u.getKey() + "' goes back from epoch " + before.epoch()
                        + " seq " + before.seq() + " to epoch " + after.epoch() + " seq " + after.seq());
            }
        }
        // The usual version holds one producer's batches: its chain is followed without a map
        // (a commit checks every version it writes or reads: issue 23).
        List<TgbEntry> tgbs = v.tgbs();
        String only = tgbs.isEmpty() ? null : tgbs.get(0).producer();
        for (int i = 1; i < tgbs.size() && only != null; i++) {
            if (!only.equals(tgbs.get(i).producer())) {
                only = null;
            }
        }
        Map<String, Long> lastSeq = only != null ? null : new HashMap<>();
        boolean seen = false;
        long onlyLast = 0;
        for (int i = 0; i < tgbs.size(); i++) {
            TgbEntry t = tgbs.get(i);
            ProducerState before = producers.get(t.producer());
            ProducerState update = v.producers().get(t.producer());
            if (update == null) {
                throw new LogFormatException(where(where, committedSteps + i, t) + ": field 'producers." + t.producer() + "' is missing: a version"
                        + " committing a producer's batches carries its new state");
            }
            if (t.epoch() != update.epoch()) {
                throw new LogFormatException(where(where, committedSteps + i, t) + ": field 'epoch' is " + t.epoch() + " but producer '" + t.producer()
                        + "' is at epoch " + update.epoch());
            }
            boolean follows = only != null ? seen : lastSeq.containsKey(t.producer());
            long previous = only != null ? onlyLast : follows ? lastSeq.get(t.producer()) : 0;
            long expected = follows ? previous + 1 : (before == null ? 0 : before.seq()) + 1;
            if (t.seq() != expected) {
                throw new LogFormatException(where(where, committedSteps + i, t) + ": field 'seq' is " + t.seq() + " but producer '" + t.producer()
                        + "' has committed up to seq " + (expected - 1) + " (the next one is " + expected + ")");
            }
            if (only != null) {
                seen = true;
                onlyLast = t.seq();
            } else {
                lastSeq.put(t.producer(), t.seq());
            }
        }
        if (only != null) {
            checkLastSeq(v, where, only, onlyLast);
        } else {
            for (Map.Entry<String, Long> e : lastSeq.entrySet()) {
                checkLastSeq(v, where, e.getKey(), e.getValue());
            }
        }
    }

    private static String where(Object where, long step, TgbEntry t) {
        return where + ": step " + step + " (TGB " + t.producer() + "/" + t.epoch() + "-" + t.seq() + ")";
    }

    private static void checkLastSeq(VersionFile v, Object where, String producer, long last) {
        ProducerState update = v.producers().get(producer);
        if (update.seq() != last) {
            throw new LogFormatException(where + ": field 'producers." + producer + ".seq' is " + update.seq()
                    + " but the version's last TGB of that producer has seq " + last);
        }
    }
}
