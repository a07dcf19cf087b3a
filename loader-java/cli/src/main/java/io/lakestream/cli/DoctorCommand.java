package io.lakestream.cli;

import io.lakestream.format.Json;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import io.lakestream.store.StoreProbe;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "doctor", description = {
        "Check that the store behind a stream URI keeps the promises the protocol is built on:",
        "racing put-if-absent writes have exactly one winner (small and multipart-sized objects),",
        "read-after-write, list-after-write (paged), ranged GET, delete. Writes only under",
        "_probe/<random>/ and removes it. Exit 0 (ok) if every property holds, exit 1 (error) otherwise.",
        "Stream creation runs the quick part of this once and refuses a store that fails it."})
final class DoctorCommand implements Callable<Integer> {
    @Option(names = "--stream", required = true, description = "stream URI (the stream need not exist)")
    String stream;

    @Option(names = "--quick", description = "only the probe stream creation runs (fewer races, no large objects)")
    boolean quick;

    @Option(names = "--json", description = "one JSON object per property")
    boolean json;

    @Override
    public Integer call() {
        // create: probing a file:// location that does not exist yet makes its directory
        try (ObjectStore store = ObjectStores.open(stream, true)) {
            List<StoreProbe.Result> results = new StoreProbe(store).run(quick ? StoreProbe.Plan.quick() : StoreProbe.Plan.full());
            boolean ok = true;
            for (StoreProbe.Result r : results) {
                ok &= r.passed();
                System.out.println(json ? Json.writeString(Map.of("property", r.property(), "passed", r.passed(), "detail", r.detail(),
                        "needed_for", r.neededFor())) : r.line());
            }
            System.err.println("doctor: " + store.describe() + (ok ? ": every property the protocol needs holds"
                    : ": NOT SAFE for Lakestream streams (see FAIL lines)"));
            return ok ? 0 : Main.EXIT_ERROR;
        }
    }
}
