package dev.lethe.bench;

import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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

/**
 * Durable appends of batches of 100 ~300-byte events, in events per second: {@code encrypted} through
 * {@code privacy().append} (three personal fields sealed per event, the customer resolved through the
 * blind index), and {@code plaintext} the same JSON under an unregistered type through the plain
 * store. The ratio of the two is the cost of encryption. The {@code …Pipelined} pair submits the same
 * batches through {@code appendAsync} from one thread with up to {@value #IN_FLIGHT} in flight, so the
 * next batch is sealed while the previous ones commit.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
@Fork(1)
@State(Scope.Benchmark)
public class PrivacyAppendBenchmark {
    /** Customers the events are spread over; each is a subject, created in the setup. */
    static final int CUSTOMERS = 1_000;

    private static final int POOL = 100_000;
    private static final int BATCH = 100;
    private static final int IN_FLIGHT = 4;
    private final java.util.ArrayDeque<CompletableFuture<AppendResult>> inFlight = new java.util.ArrayDeque<>();

    private final List<EventData> sealedPool = PrivateBenchEvents.batch(PrivateBenchEvents.SALE, 0, POOL, CUSTOMERS);
    private final List<EventData> plainPool =
            PrivateBenchEvents.batch(PrivateBenchEvents.PLAIN_SALE, 0, POOL, CUSTOMERS);
    private List<EventData> presealedPool;
    private long sequence;
    private Path directory;
    private SqliteLethe lethe;

    @Setup(Level.Trial)
    public void open() {
        directory = BenchEvents.freshDirectory("privacy-append");
        lethe = SqliteLethe.open(directory);
        PrivateBenchEvents.register(lethe);
        // Every customer's first event creates its subject; measure the steady state, where it is a lookup.
        for (int from = 0; from < CUSTOMERS; from += BATCH) {
            lethe.privacy()
                    .append(
                            PrivateBenchEvents.stream(from / BATCH),
                            ExpectedVersion.any(),
                            sealedPool.subList(from, from + BATCH));
        }
        sequence = CUSTOMERS;
        presealedPool = presealed();
    }

    /**
     * The pool as the privacy layer stores it (sealed fields, metadata record), under new ids: rows of
     * the sealed events' size and shape for {@link #presealedPipelined}, which appends them without
     * sealing. Written once through {@code privacy().append} to a stream of its own and read back.
     */
    private List<EventData> presealed() {
        StreamId stream = StreamId.of("presealed-pool");
        for (int from = 0; from < POOL; from += 1_000) {
            lethe.privacy().append(stream, ExpectedVersion.any(), sealedPool.subList(from, from + 1_000));
        }
        List<EventData> out = new ArrayList<>(POOL);
        for (long version = 0; version < POOL; version += EventStore.MAX_READ_LIMIT) {
            for (RecordedEvent stored :
                    lethe.store().readStream(stream, version, Direction.FORWARD, EventStore.MAX_READ_LIMIT)) {
                // Under a type without a schema: the raw log refuses classified types it did not see sealed.
                out.add(new EventData(null, "PresealedSale", stored.data(), stored.metadata()));
            }
        }
        return out;
    }

    @TearDown(Level.Trial)
    public void close() {
        lethe.close();
        BenchEvents.deleteRecursively(directory);
    }

    private int next() {
        long n = sequence;
        sequence += BATCH;
        return (int) (n % (POOL - BATCH));
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void encrypted() {
        int from = next();
        lethe.privacy()
                .append(
                        PrivateBenchEvents.stream(from / BATCH),
                        ExpectedVersion.any(),
                        sealedPool.subList(from, from + BATCH));
    }

    /** Customer numbers past the pool's, each named by one event only. */
    private long newCustomers = 10_000_000L;

    /**
     * Every event names a customer never seen before (a bulk import): each is a new subject, its key
     * created and stored in the key store, besides the sealing.
     */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void encryptedNewCustomers() {
        long first = newCustomers;
        newCustomers += BATCH;
        lethe.privacy()
                .append(
                        PrivateBenchEvents.stream(first / BATCH),
                        ExpectedVersion.any(),
                        PrivateBenchEvents.batch(PrivateBenchEvents.SALE, first, BATCH, Integer.MAX_VALUE));
    }

    /** Pipelined: at most {@value #IN_FLIGHT} batches submitted and not yet committed. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void encryptedPipelined() {
        int from = next();
        pipeline(lethe.privacy()
                .appendAsync(
                        PrivateBenchEvents.stream(from / BATCH),
                        ExpectedVersion.any(),
                        sealedPool.subList(from, from + BATCH)));
    }

    /** The gap's other half: sealed-size rows, pipelined, with no sealing in the measured path. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void presealedPipelined() {
        int from = next();
        pipeline(lethe.store()
                .appendAsync(
                        PrivateBenchEvents.stream(from / BATCH),
                        ExpectedVersion.any(),
                        presealedPool.subList(from, from + BATCH)));
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void plaintextPipelined() {
        int from = next();
        pipeline(lethe.store()
                .appendAsync(
                        PrivateBenchEvents.stream(from / BATCH),
                        ExpectedVersion.any(),
                        plainPool.subList(from, from + BATCH)));
    }

    private void pipeline(CompletableFuture<AppendResult> submitted) {
        inFlight.add(submitted);
        while (inFlight.size() > IN_FLIGHT) {
            inFlight.poll().join();
        }
    }

    @TearDown(Level.Iteration)
    public void drain() {
        while (!inFlight.isEmpty()) {
            inFlight.poll().join();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void plaintext() {
        int from = next();
        lethe.store()
                .append(
                        PrivateBenchEvents.stream(from / BATCH),
                        ExpectedVersion.any(),
                        plainPool.subList(from, from + BATCH));
    }
}
