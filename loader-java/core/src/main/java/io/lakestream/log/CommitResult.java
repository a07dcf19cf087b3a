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
 */
public record CommitResult(boolean committed, long version, long firstStep, int tgbs, int attempts, int conflicts,
                           ManifestState state) {
    /** A one-line summary; the state (which can hold thousands of TGB entries) is left out. */
    @Override
    public String toString() {
        return "CommitResult[committed=" + committed + ", version=" + version + ", firstStep=" + firstStep + ", tgbs=" + tgbs
                + ", attempts=" + attempts + ", conflicts=" + conflicts + ", committedSteps=" + state.committedSteps()
                + (state.ended() ? ", endedAtStep=" + state.endStep() : "") + "]";
    }
}
