package io.lakestream.log;

/**
 * Outcome of a commit.
 *
 * @param committed  false if prepare found nothing to commit (e.g. all duplicates)
 * @param version    the version written (or the current one if nothing was committed)
 * @param firstStep  the step of the first committed TGB
 * @param tgbs       how many TGBs the version carried
 * @param attempts   put-if-absent attempts made
 * @param conflicts  how many lost a race to another committer
 * @param state      the log state after the commit
 * @param batchConflicts how many of those races were lost to versions that committed batches
 *                   (other producers' TGB commits), as opposed to checkpoint, retention, control,
 *                   end-of-stream or epoch-claim versions: the contention a producer's group
 *                   commit can do something about
 */
public record CommitResult(boolean committed, long version, long firstStep, int tgbs, int attempts, int conflicts,
                           ManifestState state, int batchConflicts) {
    /** A result that does not tell what the lost races were lost to (all counted as batch conflicts). */
    public CommitResult(boolean committed, long version, long firstStep, int tgbs, int attempts, int conflicts, ManifestState state) {
        this(committed, version, firstStep, tgbs, attempts, conflicts, state, conflicts);
    }

    /** A one-line summary; the state (which can hold thousands of TGB entries) is left out. */
    @Override
    public String toString() {
        return "CommitResult[committed=" + committed + ", version=" + version + ", firstStep=" + firstStep + ", tgbs=" + tgbs
                + ", attempts=" + attempts + ", conflicts=" + conflicts + ", batchConflicts=" + batchConflicts + ", committedSteps=" + state.committedSteps()
                + (state.ended() ? ", endedAtStep=" + state.endStep() : "") + "]";
    }
}
