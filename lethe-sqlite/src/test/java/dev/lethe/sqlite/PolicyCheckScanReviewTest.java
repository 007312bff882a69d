package dev.lethe.sqlite;

import dev.lethe.core.privacy.policy.PolicyLinter;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Review of 67251f1: what POST /v1/policy/check now does inside one request, on 200k streams. */
class PolicyCheckScanReviewTest {
    @TempDir
    Path directory;

    @Test
    void scan_time_and_findings_held_in_memory() {
        try (SqliteEventStore store = SqliteEventStore.open(directory)) {
            List<CompletableFuture<AppendResult>> pending = new ArrayList<>();
            for (int i = 0; i < 200_000; i++) {
                pending.add(store.appendAsync(
                        StreamId.of("customer-" + (351912000000L + i)),
                        ExpectedVersion.any(),
                        List.of(EventData.of("A", "{}"))));
            }
            pending.forEach(CompletableFuture::join);
            List<PolicyLinter.Finding> findings = new ArrayList<>();
            long t0 = System.nanoTime();
            long n = PolicyLinter.checkStreamIds(store, findings::add, s -> {});
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.println("scanned " + n + " stream ids in " + ms + " ms; findings held: " + findings.size());
        }
    }
}
