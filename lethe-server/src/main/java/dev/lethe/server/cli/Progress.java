package dev.lethe.server.cli;

import java.io.PrintWriter;

/** One line of progress, rewritten in place. */
final class Progress {
    private Progress() {}

    static void print(PrintWriter err, String what, long done, long total, long startedNanos) {
        print(err, what, done, total, "events", startedNanos);
    }

    /**
     * For a re-wrap of every key (rotation, a move into an HSM): (keys done, keys in all) printed once it
     * has taken half a second (many keys, or an HSM), then until the end, with a word about the commit.
     */
    static java.util.function.BiConsumer<Long, Long> ofKeys(PrintWriter err) {
        long started = System.nanoTime();
        boolean[] shown = {false};
        return (done, total) -> {
            if (shown[0] || System.nanoTime() - started > 500_000_000L) {
                shown[0] = true;
                print(err, "re-wrapping keys", done, total, "keys", started);
                if (done.equals(total)) {
                    err.println();
                    err.println("writing the re-wrapped keys to keys.db (one transaction)...");
                    err.flush();
                }
            }
        };
    }

    /** As {@link #print(PrintWriter, String, long, long, long)}, counting {@code unit} ("keys"). */
    static void print(PrintWriter err, String what, long done, long total, String unit, long startedNanos) {
        double seconds = Math.max(1e-3, (System.nanoTime() - startedNanos) / 1e9);
        long percent = total == 0 ? 100 : Math.min(100, done * 100 / total);
        err.printf("\r%s: %,d / %,d %s (%d%%), %,.0f %s/s   ", what, done, total, unit, percent, done / seconds, unit);
        err.flush();
    }
}
