package io.lakestream.cli;

import io.lakestream.format.Json;
import io.lakestream.lineage.Lineage;
import io.lakestream.lineage.RecordSearch;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "find", description = {
        "Show the step(s) and rank(s) where record ID was (or will be) trained, reading only the batch",
        "objects whose record range (or producer cursor range) can hold it. Says so when the record is not produced yet.",
        "Exit 0 (ok) when found, exit 7 (not found) when not produced yet (a producer may still deliver it), exit 8 (never)",
        "when not found and never will be (the stream is closed, or every producer's cursor passed it)."})
final class FindCommand implements Callable<Integer> {
    @Option(names = "--stream", required = true)
    String stream;

    @Option(names = "--record", required = true, description = "record id (as in consume --print ids)")
    long record;

    @Option(names = "--json", description = "one JSON object")
    boolean json;

    @Override
    public Integer call() {
        try (ObjectStore store = ObjectStores.open(stream, false)) {
            RecordSearch r = Lineage.find(store, record);
            if (json) {
                System.out.println(Json.writeString(r));
            } else {
                System.out.println(r.message());
                for (RecordSearch.Hit h : r.hits()) {
                    System.out.printf("  step %-8d rank %-4d sample %-5d (step sample %d)  %s  producer %s epoch %d seq %d%n", h.step(),
                            h.rank(), h.sample(), h.globalSample(), h.object(), h.producer(), h.epoch(), h.seq());
                }
                System.out.printf("  searched steps [%d, %d), read %d batch object(s)%n", r.searchedFrom(), r.searchedTo(), r.objectsRead());
            }
            return !r.hits().isEmpty() ? 0 : "not_found".equals(r.status()) ? Main.EXIT_NEVER : Main.EXIT_NOT_FOUND;
        }
    }
}
