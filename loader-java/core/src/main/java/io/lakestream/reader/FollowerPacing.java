package io.lakestream.reader;

import java.util.concurrent.TimeUnit;

/**
 * When to look at the log next, from what the follower saw: the gaps between new versions
 * (an average and its mean deviation) and one GET's latency.
 * <ul>
 *   <li>Poll every {@code max(minPoll, GET latency, gap / 10)}: a new version is seen within
 *       about a tenth of the usual gap (a few ms at tens of commits a second) and costs about
 *       ten GETs at most, however fast the floor.</li>
 *   <li>With a regular cadence (established over a few versions), skip the part of the gap in
 *       which the next version is unlikely ({@code gap − 2 · deviation}); with irregular
 *       commits the deviation is large and nothing is skipped.</li>
 *   <li>After a silence of {@code max(1 s, 4 · gap)} (producers stalled), double the interval
 *       per poll up to {@code maxPoll}.</li>
 * </ul>
 *
 * <p>One per {@link SharedFollower}, used only by the thread that polls (its worker, or the owner
 * of a driven follower); all times are the env clock's monotonic nanos.
 */
final class FollowerPacing {
    /** The shortest silence that counts as a stall (producers stopped), whatever the usual gap. */
    private static final long SILENCE_FLOOR_NANOS = TimeUnit.SECONDS.toNanos(1);

    private double gap = -1;
    private double deviation;
    private int gaps;
    private long lastNews;
    private long backoff = -1;

    FollowerPacing(long now) {
        this.lastNews = now;
    }

    /** {@code versions} new versions were seen at {@code now}: the gap is per version, not per look. */
    void news(long now, long versions) {
        double g = (double) (now - lastNews) / versions;
        if (gap < 0) {
            gap = g;
        } else {
            deviation = 0.8 * deviation + 0.2 * Math.abs(g - gap);
            gap = 0.8 * gap + 0.2 * g;
        }
        gaps++;
        lastNews = now;
        backoff = -1;
    }

    long nextPoll(long now, long getNanos, long minPoll, long maxPoll) {
        long interval = Math.max(minPoll, getNanos);
        boolean regular = gaps >= 3;
        if (regular) {
            interval = Math.max(interval, Math.min(maxPoll, (long) (gap / 10)));
        }
        long silence = now - lastNews;
        if (silence > Math.max(SILENCE_FLOOR_NANOS, (long) (4 * Math.max(0, gap)))) {
            backoff = Math.min(maxPoll, Math.max(interval, backoff < 0 ? interval : backoff * 2));
            return now + backoff;
        }
        long wake = now + interval;
        if (regular) {
            wake = Math.max(wake, lastNews + (long) (gap - 2 * deviation) - interval);
        }
        return wake;
    }
}
