package io.lakestream.producer;

import io.lakestream.log.Changes;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ProducerState;
import io.lakestream.log.StreamClosedException;

/**
 * A producer's epoch claims: committing the next epoch of its id fences every older instance
 * (their commits are refused from then on). A {@link TgbProducer} claims one when it opens, and
 * again when a control change makes it drop its queued batches, so the batches generated anew get
 * fresh object keys.
 */
final class EpochClaim {
    private EpochClaim() {}

    /** Commits the next epoch of {@code producerId}; fenced if one above {@code mine} (0: any) was claimed meanwhile. */
    static ProducerState claim(ManifestLog log, String producerId, long mine) {
        CommitResult r = log.commit(producerId, s -> {
            if (s.ended()) {
                throw new StreamClosedException(log.store().describe(), s.endStep(), "so producer '" + producerId
                        + "' was not started: no batch could ever be committed");
            }
            ProducerState cur = s.producer(producerId);
            if (mine > 0 && cur.epoch() != mine) {
                throw new ProducerFencedException(log.store().describe(), producerId, mine, cur.epoch());
            }
            ProducerState next = cur == null ? new ProducerState(1, 0, null) : new ProducerState(cur.epoch() + 1, cur.seq(), cur.cursor());
            return Changes.producerState(producerId, next);
        });
        return r.state().producer(producerId);
    }

    /**
     * The queued batches were generated under a control version no longer in force: drops them
     * (their objects become orphans) and claims a new epoch, which the committer takes over; the
     * committed sequence and cursor are what the log says. The committer is parked meanwhile. A
     * failure fails the instance (reported to the caller, who throws it).
     *
     * @return the new epoch's state: the producer resumes after its sequence
     */
    static ProducerState rewind(ManifestLog log, String producerId, BatchQueue queue, Committer committer) {
        try {
            queue.dropAll();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            IllegalStateException ise = new IllegalStateException("interrupted while dropping batches of producer '" + producerId + "'", e);
            queue.failReported(ise);
            throw ise;
        }
        ProducerState claimed;
        try {
            claimed = claim(log, producerId, committer.epoch());
        } catch (RuntimeException | Error e) {
            queue.failReported(e);
            throw e;
        }
        committer.claimed(claimed);
        return claimed;
    }
}
