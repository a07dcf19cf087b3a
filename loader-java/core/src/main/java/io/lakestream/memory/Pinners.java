package io.lakestream.memory;

/**
 * The process-wide default {@link Pinner}: the native shim when it loads, else
 * {@link Pinner#NONE} with one warning. Never throws: a machine without the shim (or with
 * native access denied) still reads data, only unpinned.
 */
public final class Pinners {
    private static final System.Logger LOG = System.getLogger(Pinners.class.getName());

    private Pinners() {}

    private static final class Default {
        static final Pinner INSTANCE = create();

        private static Pinner create() {
            var shims = NativeShims.get();
            if (shims.isPresent()) {
                return new ShimPinner(shims.get());
            }
            LOG.log(System.Logger.Level.WARNING, "Lakestream native shim unavailable ({0}); pool slabs stay unpinned",
                    NativeShims.unavailableReason());
            return Pinner.NONE;
        }
    }

    /** One pinner for every pool in the process (so "unpinned" is warned about once). */
    public static Pinner defaultPinner() {
        return Default.INSTANCE;
    }

    /** The mode the default pinner gives slabs, and why: for CLIs and Python to report. */
    public static String describe() {
        Pinner p = defaultPinner();
        if (p instanceof ShimPinner s) {
            return s.preferredMode() + " (" + s.shims().modeReason() + ")";
        }
        return Pinner.Mode.NONE + " (native shim unavailable: " + NativeShims.unavailableReason() + ")";
    }
}
