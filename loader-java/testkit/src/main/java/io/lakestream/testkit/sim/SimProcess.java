package io.lakestream.testkit.sim;

import io.lakestream.StreamEnv;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.RetryPolicy;
import io.lakestream.store.RetryingStore;

/** What each simulated process has of its own: its retry layer over the shared store, its clock's sleeps. */
final class SimProcess {
    private SimProcess() {}

    /** The store as a process sees it: the shared simulated store behind that process's own retry layer. */
    static ObjectStore store(ObjectStore shared, SimScheduler.Actor self, StreamEnv env) {
        return new RetryingStore(shared, RetryPolicy.defaults(), env.clock(), self.random());
    }

    /** Sleeps on the process's clock (simulated time: gives the baton back). */
    static void sleep(StreamEnv env, long millis) {
        try {
            env.clock().sleep(millis);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
