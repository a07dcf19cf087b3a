package io.lakestream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * What a training job gets on its runtime class path by depending on lakestream-core stays a
 * data loader's: at most 5 MB, and no server, other clouds' SDKs, CLI libraries or logging
 * binding. Reads {@code loader-java/core/target} after {@code package} (core's pom copies its
 * runtime dependencies to {@code target/lib}); {@code ./run-tests} (mvn verify) packages the
 * core before this module's tests run.
 */
class LeanCoreTest {
    static final long MAX_BYTES = 5L * 1024 * 1024;
    static final List<String> BANNED = List.of("s3proxy", "jclouds", "jetty", "azure", "google-cloud", "aws-java-sdk", "picocli",
            "progressbar", "djl", "slf4j-nop", "slf4j-simple", "logback");

    @Test
    void coreRuntimeClassPathIsSmallAndHoldsNoServerCloudCliOrLoggingBinding() throws IOException {
        Path target = Path.of(System.getProperty("lakestream.core.target", "../core/target"));
        Path jar = target.resolve("lakestream-core.jar");
        Path lib = target.resolve("lib");
        assumeTrue(Files.isRegularFile(jar) && Files.isDirectory(lib), "core is not packaged yet (run mvn package/verify): " + target);
        List<Path> jars = new ArrayList<>(List.of(jar));
        try (Stream<Path> s = Files.list(lib)) {
            s.filter(p -> p.toString().endsWith(".jar")).forEach(jars::add);
        }
        long total = 0;
        for (Path p : jars) {
            String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
            for (String banned : BANNED) {
                assertFalse(name.contains(banned), "the core's runtime class path holds " + name);
            }
            total += Files.size(p);
        }
        System.out.printf("lean core: %d jars, %.2f MB on the runtime class path of lakestream-core%n", jars.size(), total / 1e6);
        assertTrue(jars.size() > 1, "the dependencies were copied: " + jars);
        assertTrue(total <= MAX_BYTES, "core jar + runtime dependencies are " + total + " bytes, over " + MAX_BYTES + ": " + jars);
    }
}
