package dev.lethe.bench;

import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.sqlite.SqliteLethe;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * A full replay of a log of 200,000 sealed events (1,000 or 20,000 customers, two personal fields per event),
 * in events per second: {@code revealWholeLog} decrypts every event for a DPO through
 * {@code readAllRevealed} (pages read ahead and decrypted on every core), {@code revealWholeLogOneThread}
 * does the same with {@code reveal} on one thread, pages of 10,000, {@code revealWholeLogRestricted} for a role
 * that may read no group, and {@code replayWholeLog} reads the
 * same log without revealing, the reference.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 5)
@Measurement(iterations = 3, time = 10)
@Fork(1)
@State(Scope.Benchmark)
public class PrivacyReplayBenchmark {
    static final int EVENTS = 200_000;
    private static final int CUSTOMERS = 1_000;

    /**
     * How many customers the events are spread over: 1,000, whose data keys all fit in the key service's
     * cache, or 20,000 (40,000 data keys, two groups each), which do not.
     */
    @Param({"1000", "20000"})
    public int customers;

    private SqliteLethe lethe;

    @Setup(Level.Trial)
    public void open() {
        lethe = SqliteLethe.open(populated(customers));
    }

    @TearDown(Level.Trial)
    public void close() {
        lethe.close();
    }

    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public long revealWholeLog(Blackhole sink) {
        long count = lethe.privacy().readAllRevealed(0, PrivateBenchEvents.DPO, sink::consume);
        if (count < EVENTS) {
            throw new IllegalStateException("replayed " + count + " events, expected " + EVENTS);
        }
        return count;
    }

    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public long revealWholeLogOneThread(Blackhole sink) {
        return replay(event -> sink.consume(lethe.privacy().reveal(event, PrivateBenchEvents.DPO)));
    }

    /**
     * As {@link #revealWholeLogOneThread} for a role that may read no group (the default policy's analyst): no
     * key is opened, every personal field reads {@code restricted} after its envelope's header is checked.
     */
    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public long revealWholeLogRestricted(Blackhole sink) {
        return replay(event -> sink.consume(lethe.privacy().reveal(event, ANALYST)));
    }

    private static final dev.lethe.core.privacy.Principal ANALYST =
            new dev.lethe.core.privacy.Principal("bench", "analyst");

    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public long replayWholeLog(Blackhole sink) {
        return replay(sink::consume);
    }

    /**
     * Reads the whole log. Besides the sealed events it holds the schema registrations and the audit
     * entries of earlier runs (two key releases per run): a few events beside 200,000.
     */
    private long replay(Consumer<RecordedEvent> reader) {
        long count = 0;
        for (long next = 0; ; ) {
            List<RecordedEvent> page = lethe.store().readAll(next, EventStore.MAX_READ_LIMIT);
            page.forEach(reader);
            count += page.size();
            if (page.size() < EventStore.MAX_READ_LIMIT) {
                if (count < EVENTS) {
                    throw new IllegalStateException("replayed " + count + " events, expected " + EVENTS);
                }
                return count;
            }
            next = page.get(page.size() - 1).position() + 1;
        }
    }

    /** The sealed log under {@code target/bench-data}, written once and reused by later runs. */
    static Path populated() {
        return populated(CUSTOMERS);
    }

    static Path populated(int customers) {
        Path directory = Path.of(
                "target", "bench-data", "privacy-log-" + EVENTS + (customers == CUSTOMERS ? "" : "-" + customers));
        Path marker = directory.resolve("complete");
        if (Files.exists(marker)) {
            return directory;
        }
        BenchEvents.deleteRecursively(directory);
        try (SqliteLethe lethe = SqliteLethe.open(directory)) {
            PrivateBenchEvents.register(lethe);
            int batch = 1_000;
            for (long n = 0; n < EVENTS; n += batch) {
                lethe.privacy()
                        .append(
                                PrivateBenchEvents.stream(n / batch),
                                ExpectedVersion.any(),
                                PrivateBenchEvents.batch(PrivateBenchEvents.NOTICE, n, batch, customers));
            }
            Files.writeString(marker, Integer.toString(EVENTS));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return directory;
    }
}
