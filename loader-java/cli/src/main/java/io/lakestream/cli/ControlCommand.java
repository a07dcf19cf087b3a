package io.lakestream.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakestream.control.Controls;
import io.lakestream.format.Json;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ControlRecord;
import io.lakestream.log.ManifestLog;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "control", description = {
        "Commit a control record (trainer -> producers), atomically like a checkpoint record, or show the one in force.",
        "It holds the whole control state from the next step on: the current settings with --set applied and --unset",
        "removed. Producers of mixtures (--source NAME=SPEC) apply 'mixture=name:weight,...' from that step: batches",
        "they made under the old state are dropped and made again, so every record still arrives exactly once.",
        "Keys: 'mixture', and free-form keys under 'x.' (producers never read them). A mixture must name only",
        "sources the stream's mixture producers have (known from their committed cursors) and give each some weight.",
        "Bad input is refused before anything is committed: exit 2 (usage)."})
final class ControlCommand implements Callable<Integer> {
    @Option(names = "--stream", required = true)
    String stream;

    @Option(names = "--set", description = "KEY=VALUE, repeatable (e.g. mixture=web:0.7,code:0.3)")
    List<String> set = new ArrayList<>();

    @Option(names = "--unset", description = "KEY, repeatable")
    List<String> unset = new ArrayList<>();

    @Option(names = "--id", description = "who sets it (default: control)")
    String id;

    @Override
    public Integer call() {
        Map<String, String> kv = new LinkedHashMap<>();
        for (String s : set) {
            int eq = s.indexOf('=');
            if (eq <= 0) {
                throw new UsageException("--set '" + s + "' is not KEY=VALUE");
            }
            kv.put(s.substring(0, eq), s.substring(eq + 1));
        }
        try (ObjectStore store = ObjectStores.open(stream, false)) {
            ManifestLog log = ManifestLog.open(store);
            boolean committed = false;
            if (!kv.isEmpty() || !unset.isEmpty()) {
                CommitResult r;
                try {
                    r = Controls.set(log, kv, unset, id);
                } catch (IllegalArgumentException e) {
                    throw new UsageException(e); // refused by validation: nothing was committed
                }
                committed = r.committed();
            }
            ControlRecord c = log.state().control();
            ObjectNode out = Json.MAPPER.createObjectNode();
            out.put("committed", committed);
            out.put("control", c == null ? 0 : c.version());
            out.put("from_step", c == null ? 0 : c.fromStep());
            ObjectNode st = out.putObject("settings");
            if (c != null) {
                c.settings().forEach(st::put);
            }
            out.put("committed_steps", log.state().committedSteps());
            System.out.println(out);
            return 0;
        }
    }
}
