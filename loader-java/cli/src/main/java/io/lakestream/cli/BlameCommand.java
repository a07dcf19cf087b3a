package io.lakestream.cli;

import io.lakestream.format.Json;
import io.lakestream.lineage.Lineage;
import io.lakestream.lineage.StepLineage;
import io.lakestream.source.RecordIds;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "blame", description = {
        "Show what made step N: producer, epoch, sequence, source cursor before and after, batch object,",
        "per-rank byte ranges and the record ids each rank trains on. From the log (and the batch object",
        "for the ids); a step reclaimed by GC is an error naming the first step still available."})
final class BlameCommand implements Callable<Integer> {
    @Option(names = "--stream", required = true)
    String stream;

    @Option(names = "--step", required = true)
    long step;

    @Option(names = "--rank", defaultValue = "-1", description = "one rank of the stream's world size (default: all)")
    int rank;

    @Option(names = "--json", description = "one JSON object")
    boolean json;

    @Override
    public Integer call() {
        try (ObjectStore store = ObjectStores.open(stream, false)) {
            StepLineage l = Lineage.blame(store, step, rank);
            if (json) {
                System.out.println(Json.writeString(l));
                return 0;
            }
            System.out.printf("step %d of %s%n", l.step(), l.stream());
            System.out.printf("  producer   %s  epoch %d  seq %d%n", l.producer(), l.epoch(), l.seq());
            System.out.printf("  cursor     %s -> %s%n", !l.cursorBeforeKnown() ? "(unknown: reclaimed)"
                    : l.cursorBefore() == null ? "(start)" : l.cursorBefore(), l.cursorAfter());
            System.out.printf("  object     %s (%d bytes, codec %s, %d samples)%n", l.object(), l.objectSize(), l.codec(), l.samples());
            System.out.printf("  control    %s%s%n", l.control() == 0 ? "none" : "version " + l.control() + " " + l.controlSettings(),
                    l.controlApplied() == null ? " (producer does not follow controls)"
                            : " (generated under version " + l.controlApplied() + ")");
            for (StepLineage.RankLineage r : l.ranks()) {
                System.out.printf("  rank %-4d  bytes [%d, %d)  %d samples (step samples %d..%d)%n", r.rank(), r.offset(),
                        r.offset() + r.length(), r.samples(), r.firstSample(), r.firstSample() + r.samples() - 1);
                if (r.recordIds() == null) {
                    System.out.println("             (no record_id tensor)");
                    continue;
                }
                StringBuilder sb = new StringBuilder("             records");
                for (int i = 0; i < r.recordIds().length; i++) {
                    sb.append(' ').append(record(r.recordIds()[i]));
                    if (r.lastRecordIds() != null && r.lastRecordIds()[i] != r.recordIds()[i]) {
                        sb.append("..").append(record(r.lastRecordIds()[i]));
                    }
                }
                System.out.println(sb);
            }
            return 0;
        }
    }

    /** A record id, with its parts when it carries a sub-source or a document position. */
    static String record(long id) {
        if (RecordIds.local(id) >> RecordIds.OFFSET_BITS == 0 && RecordIds.sub(id) == 0) {
            return Long.toString(id);
        }
        return id + "(sub " + RecordIds.sub(id) + " file " + RecordIds.file(id) + " byte " + RecordIds.offset(id) + ")";
    }
}
