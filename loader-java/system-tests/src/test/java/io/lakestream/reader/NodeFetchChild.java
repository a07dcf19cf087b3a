package io.lakestream.reader;

import io.lakestream.StreamEnv;
import io.lakestream.store.FileStore;
import java.nio.file.Path;

/**
 * A node's local rank 0 as its own process, for {@link NodeFetchTest}: reads every step of a
 * file:// stream with node fetch on (so it fetches for its node), fail points armed from
 * {@code LAKESTREAM_FAILPOINTS}. Arguments: stream dir, node dir, job key, world size, local world size.
 */
public final class NodeFetchChild {
    private NodeFetchChild() {}

    public static void main(String[] args) throws Exception {
        FileStore fs = FileStore.open(Path.of(args[0]), false);
        NodeFetch nf = NodeFetch.of(0, Integer.parseInt(args[4])).withDir(Path.of(args[1])).withJobKey(args[2]);
        try (RankReader r = RankReader.open(fs, 0, Integer.parseInt(args[3]), 0, ReaderOptions.defaults().withPrefetch(1), null,
                StreamEnv.fromEnvironment(), null, nf)) {
            while (true) {
                try (StepBatch b = r.next(60_000)) {
                    System.out.println("step " + b.step() + " from the node's copy: " + b.fromNodeCopy());
                } catch (EndOfStreamException end) {
                    return;
                }
            }
        }
    }
}
