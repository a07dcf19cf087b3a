package io.lakestream.cli;

import io.lakestream.log.CommitResult;
import io.lakestream.log.StreamEnd;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "close", description = {
        "Close a stream: commit its end-of-stream record once every producer is done.",
        "Readers that reach the end then stop at once (consume without --steps exits 0 (ok), a DJL or",
        "PyTorch epoch ends) instead of waiting for a timeout; any later commit of batches is refused.",
        "Final and idempotent; checkpoints and GC keep working."})
final class CloseCommand implements Callable<Integer> {
    @Option(names = "--stream", required = true)
    String stream;

    @Override
    public Integer call() {
        try (ObjectStore store = ObjectStores.open(stream, false)) {
            CommitResult r = StreamEnd.close(store);
            System.out.printf("{\"closed\":true,\"ended_at_step\":%d,\"committed\":%s,\"version\":%d}%n", r.state().endStep(),
                    r.committed(), r.version());
            return 0;
        }
    }
}
