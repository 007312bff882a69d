package dev.lethe.bench;

import dev.lethe.sqlite.SqliteEventStore;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/** A full replay of a 1M-event log (pages of 10,000), in events per second. */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 5)
@Measurement(iterations = 3, time = 10)
@Fork(1)
@State(Scope.Benchmark)
public class ReplayBenchmark {
    static final int EVENTS = 1_000_000;
    private SqliteEventStore store;

    @Setup(Level.Trial)
    public void open() {
        store = SqliteEventStore.openReadOnly(BenchEvents.populated("log", EVENTS));
    }

    @TearDown(Level.Trial)
    public void close() {
        store.close();
    }

    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public long replayWholeLog() {
        long count = BenchEvents.readAll(store);
        if (count != EVENTS) {
            throw new IllegalStateException("replayed " + count + " events, expected " + EVENTS);
        }
        return count;
    }
}
