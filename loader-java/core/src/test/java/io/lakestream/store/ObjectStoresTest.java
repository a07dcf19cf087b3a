package io.lakestream.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ObjectStoresTest {
    @TempDir
    Path dir;

    @Test
    void unknownSchemeAndMalformedUrisAreClearErrors() {
        InvalidStreamUriException e = assertThrows(InvalidStreamUriException.class, () -> ObjectStores.open("gs://b/p", false));
        assertTrue(e.getMessage().contains("unknown URI scheme 'gs'"), e.getMessage());
        e = assertThrows(InvalidStreamUriException.class, () -> ObjectStores.open("/no/scheme", false));
        assertTrue(e.getMessage().contains("no scheme"), e.getMessage());
        e = assertThrows(InvalidStreamUriException.class, () -> ObjectStores.open("file://host/x", false));
        assertTrue(e.getMessage().contains("host"), e.getMessage());
        e = assertThrows(InvalidStreamUriException.class, () -> ObjectStores.open("file:///a/../b", false));
        assertTrue(e.getMessage().contains(".."), e.getMessage());
        assertThrows(InvalidStreamUriException.class, () -> ObjectStores.open("file:///a b^", false));
        assertThrows(InvalidStreamUriException.class, () -> ObjectStores.open("", false));
        e = assertThrows(InvalidStreamUriException.class, () -> ObjectStores.open("gs://b/p?key=secret", false));
        assertEquals("gs://b/p?…", e.stream(), "the URI it names has its query cut off");
        assertFalse(e.getMessage().contains("secret"), e.getMessage());
        assertTrue(e instanceof io.lakestream.LakestreamException);
    }

    @Test
    void fileOptionsAreCheckedByName() throws Exception {
        String base = "file://" + dir.resolve("opts");
        InvalidStreamUriException e = assertThrows(InvalidStreamUriException.class, () -> ObjectStores.open(base + "?direct=true", true));
        assertTrue(e.getMessage().contains("unknown option 'direct'") && e.getMessage().contains("direct_io"), e.getMessage());
        e = assertThrows(InvalidStreamUriException.class, () -> ObjectStores.open(base + "?direct_io=yes", true));
        assertTrue(e.getMessage().contains("direct_io must be true or false, got 'yes'"), e.getMessage());
        e = assertThrows(InvalidStreamUriException.class, () -> ObjectStores.open(base + "?direct_io", true));
        assertTrue(e.getMessage().contains("got no value"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("opts")), "nothing is created for a bad URI");
        try (ObjectStore s = ObjectStores.open(base + "?direct_io=true", true)) {
            s.put("k", new byte[] {7});
            assertEquals(7, s.get("k")[0]);
        }
        try (ObjectStore s = ObjectStores.open(base + "?direct_io=false", false)) {
            assertEquals(7, s.get("k")[0], "the same directory, whatever the option");
        }
    }

    @Test
    void missingFileStoreIsAnErrorUnlessCreating() {
        Path p = dir.resolve("missing");
        StreamNotFoundException e = assertThrows(StreamNotFoundException.class, () -> ObjectStores.open("file://" + p, false));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        assertEquals("file://" + p, e.stream());
        assertFalse(Files.exists(p));
        ObjectStores.open("file://" + p, true).close();
        assertTrue(Files.isDirectory(p));
    }

    @Test
    void keysThatEscapeTheRootAreRejectedAndNothingIsWritten() {
        ObjectStore fs = ObjectStores.open("file://" + dir.resolve("s"), true);
        for (String bad : new String[] {"../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", "", ".tmp", "a\\b"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> fs.put(bad, "x".getBytes(StandardCharsets.UTF_8)), bad);
            assertTrue(e.getMessage().contains("invalid object key"), e.getMessage());
        }
        assertFalse(Files.exists(dir.resolve("x")));
        assertEquals(0, fs.list("", null, 100).size());
    }
}
