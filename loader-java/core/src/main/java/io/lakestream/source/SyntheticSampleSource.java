package io.lakestream.source;

/**
 * {@link SyntheticSource} as a {@link SampleSource}: one record per sample, cursor
 * {@code next=<i>} (the format the CLI always wrote, so existing streams resume), record ids
 * {@code i} (with the sub-source index in the high bits inside a mixture).
 */
public final class SyntheticSampleSource implements SampleSource {
    private final SyntheticSource src;
    private final int sub;
    private long next;

    public SyntheticSampleSource(SyntheticSource src, int sub) {
        this.src = src;
        this.sub = sub;
        this.next = src.startIndex();
    }

    @Override
    public int seqLen() {
        return src.seqLen();
    }

    @Override
    public boolean packed() {
        return false;
    }

    @Override
    public void seek(String cursor) {
        long c = SyntheticSource.parseCursor(cursor);
        next = c < 0 ? src.startIndex() : c;
    }

    @Override
    public boolean next(SampleBatch out) {
        long[] ids = src.take(next, 1);
        if (ids.length == 0) {
            return false;
        }
        long i = ids[0];
        long id = RecordIds.of(sub, i);
        int off = out.addInPlace(id, id);
        int[] t = out.tokenArray();
        for (int j = 0; j < src.seqLen(); j++) {
            t[off + j] = SyntheticSource.token(src.seed(), i, j);
        }
        next = src.after(i);
        return true;
    }

    @Override
    public String cursor() {
        return SyntheticSource.cursor(next);
    }

    @Override
    public String describe() {
        return "synthetic:records=" + src.records() + ",seed=" + src.seed() + ",partition=" + src.partition() + "/" + src.partitions();
    }
}
