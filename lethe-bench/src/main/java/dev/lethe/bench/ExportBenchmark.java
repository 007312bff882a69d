package dev.lethe.bench;

import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.sqlite.SqliteLethe;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * A subject access export (Art. 15) from the log of {@link PrivacyReplayBenchmark} (200,000 sealed
 * events, 1,000 customers, so 200 events each), in milliseconds per export: {@code exportOneSubject}
 * is {@code privacy().export} for one customer, audit entry included, with the subject index ({@code
 * index=true}: the subject's 200 events read from {@code projections.db}, after bringing the index up to
 * date) or without it ({@code index=false}: the whole log scanned, as before the index); {@code
 * scanWholeLog} reads the same log page by page without looking into any event, the reference an export
 * that scans the log cannot beat.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
@Fork(1)
@State(Scope.Benchmark)
public class ExportBenchmark {
    @org.openjdk.jmh.annotations.Param({"true", "false"})
    public boolean index;

    private SqliteLethe lethe;
    private SubjectId subject;

    @Setup(Level.Trial)
    public void open() {
        lethe = SqliteLethe.open(PrivacyReplayBenchmark.populated());
        subject = lethe.privacy().keys().lookup(PrivateBenchEvents.customer(42)).orElseThrow();
        if (!index) {
            lethe.privacy().useSubjectIndex(null);
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        lethe.close();
    }

    @Benchmark
    public Json exportOneSubject() {
        Json export = lethe.privacy().export(subject, PrivateBenchEvents.DPO);
        if (export.asTree().path("events").size() != 200) {
            throw new IllegalStateException(
                    "exported " + export.asTree().path("events").size() + " events, expected 200");
        }
        return export;
    }

    @Benchmark
    public long scanWholeLog(Blackhole sink) {
        long count = 0;
        for (long next = 0; ; ) {
            List<RecordedEvent> page = lethe.store().readAll(next, EventStore.MAX_READ_LIMIT);
            page.forEach(sink::consume);
            count += page.size();
            if (page.size() < EventStore.MAX_READ_LIMIT) {
                return count;
            }
            next = page.get(page.size() - 1).position() + 1;
        }
    }
}
