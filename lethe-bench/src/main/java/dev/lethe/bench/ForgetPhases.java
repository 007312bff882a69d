package dev.lethe.bench;

import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.store.AppendResult;
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
import java.util.concurrent.CompletableFuture;

/**
 * Where a forget's time goes, phase by phase, as {@code PrivateEventStore.forget} runs them: the key
 * store's commit (deletion, fence, receipt), its scrub (checkpoint and WAL truncation, while the audit
 * entry is appended), and what is left of the audit append after the scrub. A plain main, not JMH (JMH
 * measures the whole call in {@link ForgetBenchmark}); prints a markdown table:
 *
 * <pre>java -cp lethe-bench/target/benchmarks.jar dev.lethe.bench.ForgetPhases [forgets, default 700]</pre>
 *
 * The first 200 forgets warm up and are not counted. Subjects have 10 events each; the store is
 * reopened after they are written, so forgets run on a store at rest.
 */
public final class ForgetPhases {
    private static final int WARM_UP = 200;

    private ForgetPhases() {}

    public static void main(String[] args) {
        int forgets = args.length > 0 ? Integer.parseInt(args[0]) : 700;
        if (forgets <= WARM_UP) {
            throw new IllegalArgumentException("give more than " + WARM_UP + " forgets (the warm-up)");
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
                subjects.add(lethe.privacy().subjectFor(customer));
            }
        }
        long[][] phases = new long[4][forgets - WARM_UP];
        try (SqliteLethe lethe = SqliteLethe.open(directory)) {
            for (int i = 0; i < forgets; i++) {
                long started = System.nanoTime();
                long[] committed = new long[1];
                List<CompletableFuture<AppendResult>> audit = new ArrayList<>(1);
                lethe.privacy().keys().forget(subjects.get(i), "bench", "GDPR Art. 17(1)(a)", "phases", receipt -> {
                    committed[0] = System.nanoTime();
                    audit.add(lethe.privacy()
                            .audit()
                            .recordAsync(
                                    "SubjectForgotten",
                                    PrivateBenchEvents.DPO,
                                    Map.of("receipt", receipt.id().toString())));
                });
                long scrubbed = System.nanoTime();
                audit.get(0).join();
                long done = System.nanoTime();
                if (i >= WARM_UP) {
                    int k = i - WARM_UP;
                    phases[0][k] = committed[0] - started;
                    phases[1][k] = scrubbed - committed[0];
                    phases[2][k] = done - scrubbed;
                    phases[3][k] = done - started;
                }
            }
        }
        BenchEvents.deleteRecursively(directory);
        String[] names = {
            "key store commit", "scrub (audit append alongside)", "audit wait after the scrub", "whole forget"
        };
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
