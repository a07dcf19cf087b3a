package io.lakestream.pit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.pitest.bytecode.analysis.ClassTree;
import org.pitest.mutationtest.build.InterceptorParameters;
import org.pitest.mutationtest.build.InterceptorType;
import org.pitest.mutationtest.build.MutationInterceptor;
import org.pitest.mutationtest.build.MutationInterceptorFactory;
import org.pitest.mutationtest.engine.Mutater;
import org.pitest.mutationtest.engine.MutationDetails;
import org.pitest.mutationtest.engine.MutationIdentifier;
import org.pitest.plugin.Feature;
import org.pitest.plugin.FeatureParameter;

/**
 * PIT feature {@code SAMPLE(percent[P] seed[S] tally[FILE])}: keeps a seeded random P % of the
 * mutants (each kept or not by a hash of its identity and the seed, so a run is replayable and
 * independent of thread timing) and appends "class, generated, kept" per class to FILE, so the
 * report can say how many mutants the sample stands for. Used by {@code scripts/mutation}: the
 * whole protocol is ~2,800 mutants, and one that survives runs every test that covers it (tens of
 * seconds), which puts a full run at hours on 2 cores; a sample estimates the score with a
 * stated interval in minutes.
 */
public final class MutantSample implements MutationInterceptorFactory {
    private static final FeatureParameter PERCENT = FeatureParameter.named("percent").withDescription("share of mutants kept, 1-100");
    private static final FeatureParameter SEED = FeatureParameter.named("seed").withDescription("seed of the sample");
    private static final FeatureParameter TALLY = FeatureParameter.named("tally").withDescription("file the per-class counts go to");

    @Override
    public String description() {
        return "Seeded random sample of the mutants";
    }

    @Override
    public Feature provides() {
        return Feature.named("SAMPLE").withOnByDefault(false).withDescription(description()).withParameter(PERCENT)
                .withParameter(SEED).withParameter(TALLY);
    }

    @Override
    public MutationInterceptor createInterceptor(InterceptorParameters params) {
        int percent = params.getInteger(PERCENT).orElse(100);
        long seed = params.getInteger(SEED).orElse(1);
        Path tally = params.getString(TALLY).map(Path::of).orElse(null);
        if (percent < 1 || percent > 100) {
            throw new IllegalArgumentException("SAMPLE percent must be 1-100, got " + percent);
        }
        return new MutationInterceptor() {
            private String clazz;

            @Override
            public InterceptorType type() {
                return InterceptorType.FILTER;
            }

            @Override
            public void begin(ClassTree c) {
                clazz = c.name().asJavaName();
            }

            @Override
            public Collection<MutationDetails> intercept(Collection<MutationDetails> mutations, Mutater m) {
                List<MutationDetails> kept = new ArrayList<>();
                for (MutationDetails d : mutations) {
                    if (Long.remainderUnsigned(mix(identity(d.getId()) ^ seed * 0x9E3779B97F4A7C15L), 100) < percent) {
                        kept.add(d);
                    }
                }
                if (tally != null) {
                    try {
                        Files.writeString(tally, clazz + "," + mutations.size() + "," + kept.size() + "\n", StandardCharsets.UTF_8,
                                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
                return kept;
            }

            @Override
            public void end() {}
        };
    }

    /** A hash of what the mutant is (class, method, signature, instruction, mutator), stable across runs of the same bytecode. */
    private static long identity(MutationIdentifier id) {
        String s = id.getLocation().getClassName().asJavaName() + "#" + id.getLocation().getMethodName() + id.getLocation().getMethodDesc()
                + "@" + id.getIndexes() + ":" + id.getMutator();
        long h = 1125899906842597L;
        for (int i = 0; i < s.length(); i++) {
            h = 31 * h + s.charAt(i);
        }
        return h;
    }

    /** SplitMix64's finaliser: every input bit reaches every output bit. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
