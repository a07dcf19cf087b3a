package io.lakestream.cli;

import io.lakestream.log.ManifestLog;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "top", description = {
        "A live view of a stream, refreshed every second: head step and commit rate,",
        "producers (epoch, last commit, steps behind the head, what they wait for),",
        "checkpoints and the retention floor, trainers' positions (from their",
        "checkpoints) and GC. Reads the log only; Ctrl-C quits."})
final class TopCommand implements Callable<Integer> {
    @Option(names = "--stream", required = true, description = "stream URI")
    String stream;

    @Option(names = "--interval-s", defaultValue = "1", description = "seconds between refreshes (default 1)")
    double intervalS;

    @Option(names = "--iterations", defaultValue = "-1", description = "screens to show, then exit (default: until Ctrl-C)")
    long iterations;

    @Option(names = "--once", description = "print one screen as plain text and exit (same as --iterations 1)")
    boolean once;

    @Override
    public Integer call() throws Exception {
        if (!(intervalS > 0)) {
            throw new IllegalArgumentException("--interval-s must be > 0, got " + intervalS);
        }
        long n = once ? 1 : iterations;
        PrintStream out = System.out;
        // A terminal gets each screen in place (home + clear); a pipe or file gets screens one after another.
        boolean terminal = System.console() != null && System.console().isTerminal() && !once;
        try (ObjectStore store = ObjectStores.open(stream, false)) {
            ManifestLog log = ManifestLog.open(store, true);
            TopView view = new TopView(store.describe());
            for (long i = 0; n < 0 || i < n; i++) {
                if (i > 0) {
                    Thread.sleep((long) (intervalS * 1000)); // the refresh period itself
                }
                String frame = view.frame(log.refresh(), System.nanoTime(), System.currentTimeMillis(), intervalS);
                if (terminal) {
                    out.print("\033[H\033[2J" + frame);
                } else {
                    out.print((i > 0 ? "\n" : "") + frame);
                }
                out.flush();
            }
        }
        return 0;
    }
}
