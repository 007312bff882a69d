package dev.lethe.server.cli;

import java.io.PrintWriter;

/** One line of progress, rewritten in place. */
final class Progress {
    private Progress() {}

    static void print(PrintWriter err, String what, long done, long total, long startedNanos) {
        double seconds = Math.max(1e-3, (System.nanoTime() - startedNanos) / 1e9);
        long percent = total == 0 ? 100 : Math.min(100, done * 100 / total);
        err.printf("\r%s: %,d / %,d events (%d%%), %,.0f events/s   ", what, done, total, percent, done / seconds);
        err.flush();
    }
}
