package io.lakestream.reader;

/**
 * The part of a trainer's own collective that hands the job leader's log messages to the other
 * ranks ({@link JobFeed}): a broadcast of bytes from the leader, called by every rank once per
 * round in the same order, as the trainer's collectives are. A Java/DJL trainer implements it
 * over what it already runs (an MPI {@code Bcast} of a length then the bytes, a NCCL/Gloo
 * broadcast, or a TCP fan-out from the leader); {@link LocalStepExchange} is the in-process one
 * (ranks as threads of one JVM). See docs/scale.md, "One log follower per job".
 */
public interface StepExchange {
    /**
     * On the leader: hands {@code message} to every member and returns it. On a member
     * ({@code message} is null): returns the leader's message of this round.
     *
     * @throws InterruptedException the rank is being stopped
     */
    byte[] broadcast(byte[] message) throws InterruptedException;
}
