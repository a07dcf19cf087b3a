package io.lakestream.store;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** Opens the store behind a stream URI. */
public final class ObjectStores {
    private ObjectStores() {}

    /**
     * Opens {@code uri}. Supported: {@code file:///absolute/dir} (the embedded store).
     *
     * @param create whether a missing {@code file://} directory may be created
     * @throws IllegalArgumentException for a malformed URI or an unknown scheme
     */
    public static ObjectStore open(String uri, boolean create) {
        URI u = parse(uri);
        String scheme = u.getScheme();
        if (scheme == null) {
            throw new IllegalArgumentException("stream URI '" + uri + "' has no scheme (use file:///path or s3://bucket/prefix)");
        }
        switch (scheme.toLowerCase(java.util.Locale.ROOT)) {
            case "file": {
                if (u.getAuthority() != null && !u.getAuthority().isEmpty() && !u.getAuthority().equals("localhost")) {
                    throw new IllegalArgumentException("file URI '" + uri + "' names host '" + u.getAuthority()
                            + "'; use file:///absolute/path");
                }
                String path = u.getPath();
                if (path == null || path.isEmpty() || !path.startsWith("/")) {
                    throw new IllegalArgumentException("file URI '" + uri + "' needs an absolute path: file:///absolute/path");
                }
                if (("/" + path + "/").contains("/../")) {
                    throw new IllegalArgumentException("file URI '" + uri + "' must not contain '..'");
                }
                return FileStore.open(Path.of(path), create);
            }
            case "s3":
                return openS3(u, uri);
            default:
                throw new IllegalArgumentException("unknown URI scheme '" + scheme + "' in '" + uri
                        + "' (supported: file://, s3://)");
        }
    }

    private static ObjectStore openS3(URI u, String uri) {
        // The S3 store lives in its own package; loaded reflectively so the core has no hard
        // dependency on the AWS SDK being on the class path.
        try {
            Class<?> c = Class.forName("io.lakestream.store.s3.S3Store");
            return (ObjectStore) c.getMethod("open", URI.class).invoke(null, u);
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("s3:// streams are not available in this build ('" + redact(uri) + "')");
        } catch (java.lang.reflect.InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new StoreException("cannot open " + redact(uri) + ": " + e.getCause(), null, e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new StoreException("cannot open " + redact(uri) + ": " + e, null, e);
        }
    }

    /** The URI with any query string (which may carry credentials) removed. */
    public static String redact(String uri) {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q) + "?…";
    }

    private static URI parse(String uri) {
        if (uri == null || uri.isBlank()) {
            throw new IllegalArgumentException("stream URI is empty");
        }
        try {
            return new URI(uri);
        } catch (URISyntaxException e) {
            // getMessage() would repeat the whole input, query (and any key in it) included
            throw new IllegalArgumentException("malformed stream URI '" + redact(uri) + "': " + e.getReason()
                    + (e.getIndex() >= 0 ? " at index " + e.getIndex() : ""));
        }
    }
}
