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
 */
public record CommitResult(boolean committed, long version, long firstStep, int tgbs, int attempts, int conflicts,
                           ManifestState state) {}
