package io.lakestream.reader;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * A {@link StepExchange} for ranks that are threads of one JVM (a single-process multi-GPU
 * trainer, tests): the leader's message is queued to each member, whose {@code broadcast}
 * takes its next one. At most {@code depth} rounds are buffered per member, so a leader runs at
 * most that far ahead of the slowest member.
 */
public final class LocalStepExchange {
    private final List<BlockingQueue<byte[]>> members = new ArrayList<>();

    public LocalStepExchange(int memberCount, int depth) {
        for (int i = 0; i < memberCount; i++) {
            members.add(new ArrayBlockingQueue<>(Math.max(1, depth)));
        }
    }

    /** The leader's side. */
    public StepExchange leader() {
        return message -> {
            for (BlockingQueue<byte[]> q : members) {
                q.put(message);
            }
            return message;
        };
    }

    /** Member {@code i}'s side ({@code 0 <= i < memberCount}). */
    public StepExchange member(int i) {
        BlockingQueue<byte[]> q = members.get(i);
        return message -> q.take();
    }
}
