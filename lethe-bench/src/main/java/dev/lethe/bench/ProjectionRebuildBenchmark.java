package dev.lethe.bench;

import dev.lethe.core.projection.Projection;
import dev.lethe.core.projection.ProjectionRuntime;
import dev.lethe.sqlite.SqliteEventStore;
import dev.lethe.sqlite.SqliteProjectionStore;
import java.nio.file.Path;
import java.time.Duration;
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

/**
 * A rebuild from zero of a keyed projection (one state per customer, 10,000 keys) over 1M events,
 * with states and checkpoint committed to projections.db: seconds per rebuild.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(1)
@State(Scope.Benchmark)
public class ProjectionRebuildBenchmark {
    public record CustomerTotals(long purchases, double amount) {}

    static final Projection<CustomerTotals> TOTALS = Projection.keyed(
                    "customer-totals",
                    CustomerTotals.class,
                    new CustomerTotals(0, 0),
                    e -> java.util.Optional.of(e.data().asTree().get("customer").asText()))
            .on(
                    "ProductSold",
                    (s, e) -> new CustomerTotals(
                            s.purchases() + 1,
                            s.amount() + e.data().asTree().get("amount").asDouble()))
            .build();

    private SqliteEventStore store;
    private Path statesDirectory;
    private SqliteProjectionStore states;

    @Setup(Level.Trial)
    public void open() {
        store = SqliteEventStore.openReadOnly(BenchEvents.populated("log", ReplayBenchmark.EVENTS));
        statesDirectory = BenchEvents.freshDirectory("rebuild");
        states = SqliteProjectionStore.open(statesDirectory);
    }

    @Setup(Level.Invocation)
    public void reset() {
        states.reset(TOTALS.name());
    }

    @TearDown(Level.Trial)
    public void close() {
        states.close();
        store.close();
        BenchEvents.deleteRecursively(statesDirectory);
    }

    @Benchmark
    public long rebuild1MEvents() throws InterruptedException {
        try (ProjectionRuntime runtime = new ProjectionRuntime(store, states)) {
            runtime.start(TOTALS);
            if (!runtime.awaitPosition(TOTALS.name(), ReplayBenchmark.EVENTS - 1, Duration.ofMinutes(5))) {
                throw new IllegalStateException("rebuild did not finish: " + runtime.status(TOTALS.name()));
            }
            return runtime.status(TOTALS.name()).nextPosition();
        }
    }
}
