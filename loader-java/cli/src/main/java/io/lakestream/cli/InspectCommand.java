package io.lakestream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakestream.log.CheckpointRecord;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.ProducerState;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.retention.GarbageCollector;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "inspect", description = "Show a stream's manifest state: version, committed steps, producers, checkpoints.")
final class InspectCommand implements Callable<Integer> {
    @Option(names = "--stream", required = true)
    String stream;

    @Option(names = "--json", description = "one JSON object instead of a table")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (ObjectStore store = ObjectStores.open(stream, false)) {
            ManifestLog log = ManifestLog.open(store, true);
            ManifestState s = log.state();
            StreamConfig c = log.config();
            ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode root = m.createObjectNode();
            root.put("stream", store.describe());
            root.put("world_size", c.worldSize());
            root.put("version", s.version());
            root.put("committed_steps", s.committedSteps());
            if (s.ended()) {
                root.put("ended_at_step", s.endStep());
            } else {
                root.putNull("ended_at_step");
            }
            root.put("snapshot_version", s.lastSnapshotVersion());
            ObjectNode prods = root.putObject("producers");
            for (Map.Entry<String, ProducerState> e : s.producers().entrySet()) {
                ObjectNode p = prods.putObject(e.getKey());
                p.put("epoch", e.getValue().epoch());
                p.put("seq", e.getValue().seq());
                p.put("cursor", e.getValue().cursor());
            }
            ArrayNode cps = root.putArray("checkpoints");
            for (CheckpointRecord cp : s.checkpoints()) {
                ObjectNode o = cps.addObject();
                o.put("step", cp.step());
                o.put("id", cp.id());
                o.put("consumer", cp.consumerName());
            }
            ObjectNode cons = root.putObject("consumers");
            for (Map.Entry<String, List<CheckpointRecord>> e : s.consumers().entrySet()) {
                ArrayNode steps = cons.putObject(e.getKey()).putArray("steps");
                e.getValue().forEach(cp -> steps.add(cp.step()));
            }
            root.put("format_version", c.formatVersion());
            root.put("snapshot_interval", c.snapshotInterval());
            root.put("index_segment_steps", c.indexSegmentSteps());
            root.put("index_segment_bytes", c.indexSegmentBytes());
            root.put("data_layout", c.dataLayout() == null ? StreamConfig.LAYOUT_PRODUCER : c.dataLayout());
            root.put("log_grace_ms", c.logGraceMs());
            root.put("orphan_grace_ms", c.orphanGraceMs());
            root.put("keep_checkpoints", c.keepCheckpoints());
            root.put("floor_step", s.floorStep());
            root.put("max_lag_steps", c.maxLagSteps());
            root.put("lag_steps", s.lagSteps());
            root.put("reclaimed_below_step", s.reclaimedBelowStep());
            long reclaimable = GarbageCollector.reclaimableBytes(log);
            root.put("reclaimable_bytes", reclaimable);
            String waiting = c.maxLagSteps() > 0 && s.lagSteps() >= c.maxLagSteps()
                    ? "producers wait: " + s.lagSteps() + " steps committed beyond the latest checkpoint, bound is " + c.maxLagSteps()
                      + "; record a checkpoint to release them"
                    : null;
            root.put("producers_waiting", waiting);
            // Keys under the stream that are none of Lakestream's: shown, never interpreted or deleted.
            List<String> unrecognised = new ArrayList<>();
            for (ObjectInfo o : store.list("", null, Integer.MAX_VALUE)) {
                if (StreamLayout.parse(o.key()) instanceof StreamLayout.Unknown u) {
                    unrecognised.add(u.describe());
                }
            }
            ArrayNode unknown = root.putArray("unrecognised_keys");
            unrecognised.forEach(unknown::add);
            ObjectNode control = root.putObject("control");
            if (s.control() != null) {
                control.put("version", s.control().version());
                control.put("from_step", s.control().fromStep());
                s.control().settings().forEach(control.putObject("settings")::put);
            }
            if (json) {
                System.out.println(m.writeValueAsString(root));
                return 0;
            }
            System.out.printf("stream           %s%n", store.describe());
            System.out.printf("world size       %d%n", c.worldSize());
            System.out.printf("version          %d (snapshot at %d, every %d)%n", s.version(), s.lastSnapshotVersion(), c.snapshotInterval());
            System.out.printf("committed steps  %d%n", s.committedSteps());
            System.out.printf("end of stream    %s%n", s.ended() ? "closed: ended at step " + s.endStep()
                    : "open (no end-of-stream record; close with 'lakestream close')");
            System.out.printf("floor step       %d (keep %d checkpoints; reclaimed below %d; %.1f MB reclaimable)%n", s.floorStep(),
                    c.keepCheckpoints(), s.reclaimedBelowStep(), reclaimable / 1e6);
            System.out.printf("grace            log files %.0f s, orphans %.0f s%n", c.logGraceMs() / 1e3, c.orphanGraceMs() / 1e3);
            System.out.printf("flow control     %s%n", c.maxLagSteps() <= 0 ? "off (lag " + s.lagSteps() + " steps)"
                    : "lag " + s.lagSteps() + " of bound " + c.maxLagSteps() + (waiting != null ? " -- " + waiting : ""));
            System.out.printf("control          %s%n", s.control() == null ? "none" : "version " + s.control().version() + " from step "
                    + s.control().fromStep() + " " + s.control().settings());
            System.out.printf("%nproducers (%d)%n", s.producers().size());
            System.out.printf("  %-24s %8s %12s  %s%n", "id", "epoch", "seq", "cursor");
            for (Map.Entry<String, ProducerState> e : s.producers().entrySet()) {
                System.out.printf("  %-24s %8d %12d  %s%n", e.getKey(), e.getValue().epoch(), e.getValue().seq(), e.getValue().cursor());
            }
            System.out.printf("%nconsumers (%d; the floor is the lowest step they retain)%n", s.consumers().size());
            for (Map.Entry<String, List<CheckpointRecord>> e : s.consumers().entrySet()) {
                System.out.printf("  %-24s checkpoints at steps %s%n", e.getKey(),
                        e.getValue().stream().map(cp -> cp.step() + " (" + cp.id() + ")").toList());
            }
            if (!unrecognised.isEmpty()) {
                System.out.printf("%nunrecognised keys (%d; not Lakestream's, left alone)%n", unrecognised.size());
                for (String u : unrecognised) {
                    System.out.printf("  %s%n", u);
                }
            }
            return 0;
        }
    }
}
