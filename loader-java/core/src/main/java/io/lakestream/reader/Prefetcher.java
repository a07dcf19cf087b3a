package io.lakestream.reader;

import io.lakestream.log.TgbEntry;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A {@link RankReader}'s steps in flight, in step order: a dispatcher thread follows the feed and,
 * as each of the reader's steps is committed, starts its {@link ShardFetch} on a small pool of
 * fetch threads, queueing at most {@code prefetch} of them; the consumer takes them from the head.
 *
 * <p>It owns its threads and the batches fetched and not delivered: {@link #close} stops the
 * threads and closes those batches. The feed, pool and node-fetch parts stay the reader's.
 */
final class Prefetcher {
    /** Longest single wait of the dispatcher for the log (each new wait of an idle follower makes it look at once). */
    private static final long DISPATCH_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private final StepFeed feed;
    private final ShardFetch fetch;
    private final String stream;
    private final int stride;
    private final ExecutorService fetchers;
    private final Thread dispatcher;
    private final BlockingQueue<Future<StepBatch>> ready;
    private volatile boolean closing;
    private Future<StepBatch> head; // consumer-owned: taken from ready, not yet delivered

    Prefetcher(StepFeed feed, ShardFetch fetch, String stream, int rank, long startStep, int stride, int prefetch) {
        this.feed = feed;
        this.fetch = fetch;
        this.stream = stream;
        this.stride = stride;
        int depth = Math.max(1, prefetch);
        this.ready = new ArrayBlockingQueue<>(depth);
        this.fetchers = Executors.newFixedThreadPool(depth, r -> {
            Thread t = new Thread(r, "lakestream-fetch-r" + rank);
            t.setDaemon(true);
            return t;
        });
        this.dispatcher = new Thread(() -> dispatch(startStep), "lakestream-dispatch-r" + rank);
        this.dispatcher.setDaemon(true);
    }

    void start() {
        dispatcher.start();
    }

    /**
     * The head step's batch, if its fetch is dispatched and done within about {@code sliceNanos}
     * (twice at most: once for the dispatch, once for the fetch); else null, keeping the head so a
     * later call delivers it. A failed fetch throws its failure; the end of a closed stream stays
     * the head, so every later call reports it again.
     */
    StepBatch poll(long sliceNanos) throws InterruptedException, ExecutionException {
        if (head == null) {
            head = ready.poll(sliceNanos, TimeUnit.NANOSECONDS);
        }
        if (head == null) {
            return null;
        }
        try {
            StepBatch b = head.get(sliceNanos, TimeUnit.NANOSECONDS);
            head = null;
            return b;
        } catch (TimeoutException notYet) {
            return null;
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof EndOfStreamException)) {
                head = null;
            }
            throw e;
        }
    }

    /** Whether the next step is dispatched (so committed) but not fetched yet. */
    boolean headDispatched() {
        return head != null;
    }

    private void dispatch(long start) {
        long step = start;
        try {
            while (!closing) {
                if (step >= feed.committedSteps()) {
                    if (feed.endStep() < 0) {
                        // a store failure that outlives the store's retries stops the reader: next() throws it
                        feed.await(step, DISPATCH_WAIT_NANOS); // close interrupts it
                    }
                    long end = feed.endStep();
                    if (end >= 0 && step >= end) {
                        // Closed stream: nothing will follow. The consumer learns it after the last step.
                        ready.put(CompletableFuture.failedFuture(new EndOfStreamException(stream, end, step)));
                        return;
                    }
                    if (step >= feed.committedSteps()) {
                        continue;
                    }
                }
                final long s = step;
                final TgbEntry entry = feed.entry(s);
                feed.position(s + stride); // the shared log may forget the entries below
                Future<StepBatch> f = fetchers.submit(() -> fetch.fetch(s, entry));
                ready.put(f);
                step += stride; // the steps in between belong to other readers: never fetched
            }
        } catch (InterruptedException e) {
            // closing
        } catch (RuntimeException e) {
            if (!closing) {
                ready.offer(CompletableFuture.failedFuture(e));
            }
        }
    }

    /** Whether a {@link #close} got both the dispatcher and the fetch threads to stop. */
    boolean stopped() {
        return !dispatcher.isAlive() && fetchers.isShutdown();
    }

    /** Stops the dispatcher and the fetches, then closes every batch fetched and not delivered. */
    void close() {
        closing = true;
        dispatcher.interrupt();
        try {
            dispatcher.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Interrupt fetches too: one may be waiting for a pool slab the consumer still holds.
        fetchers.shutdownNow();
        try {
            fetchers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Future<StepBatch> f = head;
        head = null;
        if (f == null) {
            f = ready.poll();
        }
        for (; f != null; f = ready.poll()) {
            if (f.isDone() && !f.isCancelled()) {
                try {
                    f.get().close();
                } catch (ExecutionException | InterruptedException ignored) {
                    // failed fetches hold no lease
                }
            }
        }
    }
}
