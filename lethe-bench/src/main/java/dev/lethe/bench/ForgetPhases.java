package dev.lethe.bench;

import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.keys.ErasureReceipt;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a forget's time goes, phase by phase, as {@code PrivateEventStore.forget} runs them: the key
 * store's commit (deletion, fence, receipt), its scrub (checkpoint and WAL truncation), then the
 * durable append of the audit entry. A plain main, not JMH (JMH measures the whole call in {@link
 * ForgetBenchmark}); prints a markdown table:
 *
 * <pre>java [-Dwarmup=2000] [-Dpause=5] -cp lethe-bench/target/benchmarks.jar dev.lethe.bench.ForgetPhases [forgets]</pre>
 *
 * {@code forgets} (default 2,600) includes the warm-up, {@code warmup} forgets (default 2,000: the JIT
 * needs well over 200 before the latency settles), which are not counted; {@code pause} is an idle time
 * in milliseconds after each forget (default 5), as forgets arrive in a running system and as between
 * the shots of a JMH single-shot run; 0 runs them back to back. Subjects have 10 events each; the store
 * is reopened after they are written, so forgets run on a store at rest.
 */
public final class ForgetPhases {
    private static final int WARM_UP = Integer.getInteger("warmup", 2_000);
    /** Idle time between forgets, as between the shots of a JMH single-shot run. */
    private static final int PAUSE_MILLIS = Integer.getInteger("pause", 5);

    private ForgetPhases() {}

    public static void main(String[] args) {
        int forgets = args.length > 0 ? Integer.parseInt(args[0]) : 2_600;
        if (forgets <= WARM_UP || WARM_UP < 0 || PAUSE_MILLIS < 0) {
            throw new IllegalArgumentException(
                    "give more forgets than the warm-up (" + WARM_UP + "), and a warm-up and a pause of 0 or more");
        }
        Path directory = BenchEvents.freshDirectory("forget-phases");
        List<SubjectId> subjects = new ArrayList<>(forgets);
        try (SqliteLethe lethe = SqliteLethe.open(directory)) {
            PrivateBenchEvents.register(lethe);
            for (int i = 0; i < forgets; i++) {
                String customer = String.format(Locale.ROOT, "P%07d", i);
                List<EventData> events = new ArrayList<>(10);
                for (int n = 0; n < 10; n++) {
                    events.add(PrivateBenchEvents.event(PrivateBenchEvents.SALE, n, customer));
                }
                lethe.privacy().append(StreamId.of("forget-" + customer), ExpectedVersion.any(), events);
                subjects.add(lethe.privacy().keys().resolve(customer));
            }
        }
        long[][] phases = new long[4][forgets - WARM_UP];
        try (SqliteLethe lethe = SqliteLethe.open(directory)) {
            for (int i = 0; i < forgets; i++) {
                long started = System.nanoTime();
                long[] committed = new long[1];
                ErasureReceipt receipt = lethe.privacy()
                        .keys()
                        .forget(
                                subjects.get(i),
                                "bench",
                                "GDPR Art. 17(1)(a)",
                                "phases",
                                stored -> committed[0] = System.nanoTime());
                long scrubbed = System.nanoTime();
                lethe.privacy()
                        .audit()
                        .record(
                                "SubjectForgotten",
                                PrivateBenchEvents.DPO,
                                Map.of("receipt", receipt.id().toString()));
                long done = System.nanoTime();
                if (i >= WARM_UP) {
                    int k = i - WARM_UP;
                    phases[0][k] = committed[0] - started;
                    phases[1][k] = scrubbed - committed[0];
                    phases[2][k] = done - scrubbed;
                    phases[3][k] = done - started;
                }
                if (PAUSE_MILLIS > 0) {
                    try {
                        Thread.sleep(PAUSE_MILLIS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }
        BenchEvents.deleteRecursively(directory);
        String[] names = {"key store commit", "scrub: checkpoint and WAL truncation", "audit append", "whole forget"};
        System.out.printf(Locale.ROOT, "%d forgets measured (after %d warm-up), ms%n%n", forgets - WARM_UP, WARM_UP);
        System.out.println("| phase | p50 | p95 | p99 | max |");
        System.out.println("|---|---|---|---|---|");
        for (int p = 0; p < names.length; p++) {
            long[] t = phases[p];
            Arrays.sort(t);
            System.out.printf(
                    Locale.ROOT,
                    "| %s | %.2f | %.2f | %.2f | %.2f |%n",
                    names[p],
                    t[t.length / 2] / 1e6,
                    t[t.length * 95 / 100] / 1e6,
                    t[t.length * 99 / 100] / 1e6,
                    t[t.length - 1] / 1e6);
        }
    }
}
