package io.lakestream.fail;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class FailPointsTest {
    @Test
    void theSharedDisabledRegistryNeverFiresAndCannotBeArmed() {
        FailPoints none = FailPoints.none();
        assertDoesNotThrow(() -> none.hit(FailPoints.BEFORE_VERSION_PUT));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> none.set(FailPoints.BEFORE_VERSION_PUT, new FailPoints.Throw()));
        assertTrue(e.getMessage().contains("new FailPoints()"), e.getMessage());
        assertDoesNotThrow(() -> none.hit(FailPoints.BEFORE_VERSION_PUT));
        assertSame(none, FailPoints.parse(null));
        assertSame(none, FailPoints.parse("  "));
    }

    @Test
    void registriesAreIndependent() {
        FailPoints a = new FailPoints().set(FailPoints.AFTER_COMMIT, new FailPoints.Throw());
        FailPoints b = new FailPoints();
        assertThrows(FailPoints.InjectedFailure.class, () -> a.hit(FailPoints.AFTER_COMMIT));
        assertDoesNotThrow(() -> b.hit(FailPoints.AFTER_COMMIT), "arming one registry leaves another alone");
        a.clearAll();
        assertDoesNotThrow(() -> a.hit(FailPoints.AFTER_COMMIT));
    }

    @Test
    void specsArmTheNthHitOrEveryHit() {
        FailPoints f = FailPoints.parse(FailPoints.AFTER_OBJECT_WRITE + "=throw@3; " + FailPoints.AFTER_COMMIT + "=throw");
        f.hit(FailPoints.AFTER_OBJECT_WRITE);
        f.hit(FailPoints.AFTER_OBJECT_WRITE);
        FailPoints.InjectedFailure e = assertThrows(FailPoints.InjectedFailure.class, () -> f.hit(FailPoints.AFTER_OBJECT_WRITE));
        assertTrue(e.getMessage().contains(FailPoints.AFTER_OBJECT_WRITE), e.getMessage());
        assertDoesNotThrow(() -> f.hit(FailPoints.AFTER_OBJECT_WRITE), "only the 3rd hit fires");
        assertThrows(FailPoints.InjectedFailure.class, () -> f.hit(FailPoints.AFTER_COMMIT));
        assertThrows(FailPoints.InjectedFailure.class, () -> f.hit(FailPoints.AFTER_COMMIT));
        assertDoesNotThrow(() -> FailPoints.parse("x=sleep:1").hit("x"));
    }

    @Test
    void awaitBlocksUntilTheFileExistsAndSaysItWasReached(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path go = dir.resolve("go");
        FailPoints f = FailPoints.parse("x=await:" + go);
        Thread t = new Thread(() -> f.hit("x"));
        t.start();
        java.nio.file.Path reached = dir.resolve("go.reached");
        while (!java.nio.file.Files.exists(reached)) {
            Thread.onSpinWait();
        }
        t.join(200);
        assertTrue(t.isAlive(), "still waiting: the file does not exist yet");
        java.nio.file.Files.createFile(go);
        t.join(30_000);
        assertTrue(!t.isAlive(), "went on once the file exists");
    }

    @Test
    void badSpecsAreRefusedNamingTheEntry() {
        for (String bad : new String[] {"noequals", "=throw", "p=explode", "p=throw@x", "p=sleep:soon", "p=await:"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FailPoints.parse(bad), bad);
            assertTrue(e.getMessage().contains(bad.contains("=") ? bad.substring(bad.indexOf('=') + 1) : bad), e.getMessage());
        }
    }
}
