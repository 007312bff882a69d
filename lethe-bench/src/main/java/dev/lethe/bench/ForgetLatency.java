package dev.lethe.bench;

import dev.lethe.core.privacy.SubjectId;
import dev.lethe.sqlite.SqliteLethe;
import dev.lethe.sqlite.SqliteOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The latency of {@code privacy().forget}, the public call, as a load tool: forgets arrive one at a
 * time with an idle pause after each, as they do in a running system, and every one is timed. A plain
 * main, not JMH: JMH's single-shot mode (in {@link ForgetBenchmark}) reports each shot to its parent
 * process between forgets, which on two cores adds its own noise to a millisecond-scale latency. Prints
 * a markdown row:
 *
 * <pre>java [-Dwarmup=2000] [-Dpause=5] [-Djournal=on] -cp lethe-bench/target/benchmarks.jar dev.lethe.bench.ForgetLatency [events per subject, default 10] [measured forgets, default 2000]</pre>
 *
 * Warm-up forgets take subjects with 10 events; measured ones take subjects with the given number of
 * events (100,000 × 100 subjects writes 10M sealed events first: several minutes and ~7 GB). The store
 * is reopened after the pool is written, so forgets run on a store at rest. Last, the store is opened
 * twice more and both opens are timed: before the first, the key store's note of how far the audit trail
 * was checked is reset, as in a {@code keys.db} restored from before all those forgets, so that open
 * checks every {@code SubjectForgotten} entry against the key store; the second has nothing new to check
 * (a writer notes the trail's end as it closes). With {@code -Djournal=on}, the policy names a receipt
 * journal (beside the data directory), so each forget also appends and syncs its receipt there, and both
 * opens read the whole journal too.
 */
public final class ForgetLatency {
    private ForgetLatency() {}

    public static void main(String[] args) throws InterruptedException {
        int events = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int measured = args.length > 1 ? Integer.parseInt(args[1]) : 2_000;
        int warmUp = Integer.getInteger("warmup", 2_000);
        int pauseMillis = Integer.getInteger("pause", 5);
        if (events < 1 || measured < 1 || warmUp < 0 || pauseMillis < 0) {
            throw new IllegalArgumentException("give events ≥ 1, measured forgets ≥ 1, warmup ≥ 0 and pause ≥ 0");
        }
        SqliteOptions options = SqliteOptions.DEFAULT;
        Path directory = BenchEvents.freshDirectory("forget-latency");
        boolean withJournal = "on".equals(System.getProperty("journal", "off"));
        Path journal = directory.toAbsolutePath().resolveSibling(directory.getFileName() + "-receipts.jsonl");
        if (withJournal) {
            SqliteLethe.open(directory, options).close(); // writes the default policy, then names the journal
            try {
                java.nio.file.Files.writeString(
                        directory.resolve(SqliteLethe.POLICY_FILE),
                        "\nreceiptJournal: " + journal + "\n",
                        java.nio.file.StandardOpenOption.APPEND);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        List<SubjectId> subjects = new ArrayList<>(warmUp + measured);
        long started = System.nanoTime();
        try (SqliteLethe lethe = SqliteLethe.open(directory, options)) {
            PrivateBenchEvents.register(lethe);
            for (int i = 0; i < warmUp + measured; i++) {
                subjects.add(
                        ForgetBenchmark.subjectWith(lethe, i < warmUp ? ForgetBenchmark.WARM_UP_EVENTS : events, i));
                if (i >= warmUp && (i - warmUp + 1) % 10 == 0 && events >= 10_000) {
                    System.err.printf(Locale.ROOT, "pool: %d of %d subjects written%n", i - warmUp + 1, measured);
                }
            }
        }
        System.err.printf(Locale.ROOT, "pool written in %.1f s%n", (System.nanoTime() - started) / 1e9);
        long[] latency = new long[measured];
        try (SqliteLethe lethe = SqliteLethe.open(directory, options)) {
            for (int i = 0; i < warmUp + measured; i++) {
                long start = System.nanoTime();
                lethe.privacy().forget(subjects.get(i), "GDPR Art. 17(1)(a)", "latency", PrivateBenchEvents.DPO);
                long took = System.nanoTime() - start;
                if (i >= warmUp) {
                    latency[i - warmUp] = took;
                }
                Thread.sleep(pauseMillis);
            }
        }
        double[] opens = new double[2];
        long trail;
        try {
            try (SqliteLethe lethe = SqliteLethe.openReadOnly(directory)) {
                trail = lethe.store()
                        .streamInfo(dev.lethe.core.privacy.AuditLog.STREAM)
                        .eventCount();
            }
            try (dev.lethe.sqlite.SqliteKeyStore keys = dev.lethe.sqlite.SqliteKeyStore.open(directory)) {
                keys.setNote(dev.lethe.core.privacy.PrivateEventStore.FORGETS_CHECKED_NOTE, "0");
                if (withJournal) {
                    // OFFSET FINGERPRINT PATH: from the start of the same file.
                    String note = keys.note(dev.lethe.core.privacy.PrivateEventStore.JOURNAL_CHECKED_NOTE)
                            .orElseThrow();
                    keys.setNote(
                            dev.lethe.core.privacy.PrivateEventStore.JOURNAL_CHECKED_NOTE,
                            "0" + note.substring(note.indexOf(' ')));
                }
            }
            for (int i = 0; i < opens.length; i++) {
                long start = System.nanoTime();
                SqliteLethe.open(directory, options).close();
                opens[i] = (System.nanoTime() - start) / 1e6;
            }
        } finally {
            BenchEvents.deleteRecursively(directory);
            try {
                java.nio.file.Files.deleteIfExists(journal);
            } catch (java.io.IOException e) {
                System.err.println("cannot delete " + journal + ": " + e);
            }
        }
        Arrays.sort(latency);
        System.out.println(
                "| events per subject | receipt journal | forgets measured | p50 ms | p95 | p99 | p99.9 | max |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        System.out.printf(
                Locale.ROOT,
                "| %,d | %s | %,d (after %,d warm-up, %d ms apart) | %.2f | %.2f | %.2f | %.2f | %.2f |%n",
                events,
                withJournal ? "on" : "off",
                measured,
                warmUp,
                pauseMillis,
                percentile(latency, 0.50),
                percentile(latency, 0.95),
                percentile(latency, 0.99),
                percentile(latency, 0.999),
                latency[measured - 1] / 1e6);
        System.out.printf(
                Locale.ROOT,
                "open and close with the whole audit trail"
                        + (withJournal ? " and receipt journal" : "")
                        + " to check (%,d entries, %,d of them SubjectForgotten):"
                        + " %.1f ms; then with nothing new to check: %.1f ms%n",
                trail,
                warmUp + measured,
                opens[0],
                opens[1]);
    }

    /** The nearest-rank percentile, in milliseconds. */
    private static double percentile(long[] sorted, double p) {
        int rank = (int) Math.ceil(p * sorted.length);
        return sorted[Math.max(0, rank - 1)] / 1e6;
    }
}
