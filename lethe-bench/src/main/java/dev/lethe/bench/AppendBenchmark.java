package dev.lethe.bench;

import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.sqlite.SqliteEventStore;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Durable appends on the embedded engine (WAL, synchronous=FULL), in events per second: batches of 1
 * and 100 from one writer, and single events from 1 and from 16 concurrent writers (group commit).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
@Fork(1)
@State(Scope.Benchmark)
public class AppendBenchmark {
    private final AtomicLong sequence = new AtomicLong();
    private Path directory;
    private SqliteEventStore store;

    @Setup(Level.Trial)
    public void open() {
        directory = BenchEvents.freshDirectory("append");
        store = SqliteEventStore.open(directory);
    }

    @TearDown(Level.Trial)
    public void close() {
        store.close();
        BenchEvents.deleteRecursively(directory);
    }

    /**
     * Events are built before the measurement (JSON validation, about 1 µs per event, is the
     * client's cost), and cycled through.
     */
    private static final int POOL = 100_000;

    private final java.util.List<dev.lethe.core.store.EventData> pool = BenchEvents.batch(0, POOL);

    private void append(int size) {
        long n = sequence.getAndAdd(size);
        int from = (int) (n % (POOL - 100));
        store.append(BenchEvents.customer(n / 100), ExpectedVersion.any(), pool.subList(from, from + size));
    }

    @Benchmark
    public void batchOf1() {
        append(1);
    }

    @Benchmark
    @OperationsPerInvocation(100)
    public void batchOf100() {
        append(100);
    }

    @Benchmark
    @Threads(1)
    public void singleEvents1Writer() {
        append(1);
    }

    @Benchmark
    @Threads(16)
    public void singleEvents16Writers() {
        append(1);
    }
}
