package dev.lethe.bench;

import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
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
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * The latency of {@code privacy().forget} (key and blind index deleted, fence raised, WAL truncated,
 * the {@code SubjectForgotten} audit entry appended, all durable) for subjects with 10 events, in
 * milliseconds. {@link ForgetLatency}, a load tool, measures the same call for subjects with 10 and with
 * 100,000 events without JMH's per-shot overhead.
 *
 * <p>Every forget needs a subject not yet forgotten, so the run is single-shot: each measured iteration
 * forgets exactly one subject from a pool written in the setup, and JMH's percentiles are over those
 * iterations: 500 shots, so that p99 is about the fifth slowest, not the maximum, after 2,000 warm-up
 * forgets (the JIT needs a couple of thousand before the latency settles). The store is reopened after
 * the pool is written, so forgets are measured on a store at rest, not beside the setup's checkpoint.
 * Between shots JMH reports each one to its parent process, on the same two cores: that noise is in
 * these figures.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 20, batchSize = 100)
@Measurement(iterations = 500, batchSize = 1)
@Fork(1)
@State(Scope.Benchmark)
public class ForgetBenchmark {
    static final int WARM_UP_EVENTS = 10;
    private static final int BATCH = 1_000;
    private static final int IN_FLIGHT = 4;

    private final Queue<SubjectId> pool = new ArrayDeque<>();
    private Path directory;
    private SqliteLethe lethe;

    /** How many events each measured subject has. */
    static final int EVENTS = 10;

    @Setup(Level.Trial)
    public void open(BenchmarkParams params) {
        directory = BenchEvents.freshDirectory("forget");
        lethe = SqliteLethe.open(directory);
        PrivateBenchEvents.register(lethe);
        long started = System.nanoTime();
        int warmUp = params.getWarmup().getCount() * params.getWarmup().getBatchSize();
        int measured =
                params.getMeasurement().getCount() * params.getMeasurement().getBatchSize();
        for (int i = 0; i < warmUp + measured; i++) {
            pool.add(subjectWith(lethe, i < warmUp ? WARM_UP_EVENTS : EVENTS, i));
        }
        lethe.close();
        lethe = SqliteLethe.open(directory);
        System.out.printf(
                Locale.ROOT,
                "pool: %d subjects with %d events and %d with %d events, written in %.1f s%n",
                warmUp,
                WARM_UP_EVENTS,
                measured,
                EVENTS,
                (System.nanoTime() - started) / 1e9);
    }

    /** A subject with {@code count} events in a stream of its own, written with a few batches in flight. */
    static SubjectId subjectWith(SqliteLethe lethe, int count, int index) {
        String customer = String.format(Locale.ROOT, "F%07d", index);
        StreamId stream = StreamId.of("forget-" + customer);
        ArrayDeque<CompletableFuture<AppendResult>> inFlight = new ArrayDeque<>();
        for (int from = 0; from < count; from += BATCH) {
            List<EventData> batch = new ArrayList<>(BATCH);
            for (int n = from; n < Math.min(count, from + BATCH); n++) {
                batch.add(PrivateBenchEvents.event(PrivateBenchEvents.SALE, n, customer));
            }
            inFlight.add(lethe.privacy().appendAsync(stream, ExpectedVersion.any(), batch));
            while (inFlight.size() > IN_FLIGHT) {
                inFlight.poll().join();
            }
        }
        inFlight.forEach(CompletableFuture::join);
        return lethe.privacy().keys().resolve(customer);
    }

    @TearDown(Level.Trial)
    public void close() {
        lethe.close();
        BenchEvents.deleteRecursively(directory);
    }

    @Benchmark
    public Object forget() {
        SubjectId subject = pool.poll();
        if (subject == null) {
            throw new IllegalStateException("the pool of subjects to forget is exhausted");
        }
        return lethe.privacy().forget(subject, "GDPR Art. 17(1)(a)", "benchmark", PrivateBenchEvents.DPO);
    }
}
