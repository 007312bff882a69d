package dev.lethe.core.privacy;

import java.util.function.Supplier;

/**
 * Marks the batches the privacy layer itself hands to the raw log: events it has sealed, and its own
 * entries in {@code $audit}, {@code $schemas} and {@code $erasures}. {@link PrivateEventStore#refuseUnsealed}
 * lets those by; any other append of a classified type to the raw log is refused, system streams included.
 * The mark is the calling thread's, set only while the batch is handed over (the engines check it before
 * they queue the batch, on that thread).
 */
final class RawLog {
    private static final ThreadLocal<Boolean> OURS = new ThreadLocal<>();

    private RawLog() {}

    /** Runs {@code append} with this thread's batches marked as the privacy layer's. */
    static <T> T handOver(Supplier<T> append) {
        Boolean before = OURS.get();
        OURS.set(Boolean.TRUE);
        try {
            return append.get();
        } finally {
            if (before == null) {
                OURS.remove();
            }
        }
    }

    /** Whether the batch being appended on this thread is the privacy layer's own. */
    static boolean handingOver() {
        return Boolean.TRUE.equals(OURS.get());
    }
}
