package io.lakestream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.fail.FailPoints;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every exception type core declares for users to meet is a {@link LakestreamException} (so Java
 * callers catch one type and Python maps by class): found by scanning core's compiled classes,
 * so a new exception that forgets it fails here.
 */
class ExceptionTypesTest {
    /** Not outcomes a user meets: a test-only injected failure. */
    private static final Set<Class<?>> EXEMPT = Set.of(FailPoints.InjectedFailure.class);

    @Test
    void everyPublicExceptionOfCoreIsALakestreamException() throws Exception {
        Path classes = Path.of(LakestreamException.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> wrong = new ArrayList<>();
        int seen = 0;
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".class"))::iterator) {
                String name = classes.relativize(f).toString().replace('/', '.').replaceAll("\\.class$", "");
                Class<?> c = Class.forName(name, false, ExceptionTypesTest.class.getClassLoader());
                if (!Throwable.class.isAssignableFrom(c) || !Modifier.isPublic(c.getModifiers()) || EXEMPT.contains(c)) {
                    continue;
                }
                seen++;
                if (!LakestreamException.class.isAssignableFrom(c)) {
                    wrong.add(name + " extends " + c.getSuperclass().getName());
                }
            }
        }
        assertTrue(seen >= 20, "found the exception classes (" + seen + ")");
        assertEquals(List.of(), wrong, "public exceptions that are not LakestreamExceptions");
    }
}
