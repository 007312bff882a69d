package dev.lethe.core.projection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.memory.InMemoryEventStore;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.subscription.Subscription;
import dev.lethe.core.subscription.SubscriptionRequest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Stopping a projection (close, rebuild) waits for the page in hand and then nothing more is folded; a
 * fold's own failures — an {@code Error} too, or an interrupt it leaves — are reported without its message;
 * a failure listener may restart its projection while the runtime closes.
 */
class ProjectionStopTest {
    private static void append(InMemoryEventStore store, int count) {
        for (int i = 0; i < count; i++) {
            store.append(
                    StreamId.of("counter-" + (i % 3)), ExpectedVersion.any(), List.of(EventData.of("Counted", "{}")));
        }
    }

    @Test
    void close_from_an_interrupted_thread_still_waits_for_the_listener_and_keeps_the_interrupt() throws Exception {
        try (InMemoryEventStore store = new InMemoryEventStore()) {
            append(store, 20);
            AtomicInteger delivered = new AtomicInteger();
            java.util.concurrent.atomic.AtomicBoolean inListener = new java.util.concurrent.atomic.AtomicBoolean();
            CountDownLatch first = new CountDownLatch(1);
            Subscription subscription = store.subscribe(SubscriptionRequest.allFromStart(), event -> {
                inListener.set(true);
                delivered.incrementAndGet();
                first.countDown();
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                inListener.set(false);
            });
            assertThat(first.await(10, TimeUnit.SECONDS)).isTrue();

            Thread.currentThread().interrupt();
            subscription.close();
            boolean stillInterrupted = Thread.interrupted();
            assertThat(inListener).as("the listener's call in hand is over").isFalse();
            int atClose = delivered.get();
            Thread.sleep(300);

            assertThat(stillInterrupted).as("the caller's interrupt is kept").isTrue();
            assertThat(delivered.get())
                    .as("never called after close() returned")
                    .isEqualTo(atClose);
        }
    }

    @Test
    void a_rebuild_asked_from_an_interrupted_thread_counts_every_event_once() throws Exception {
        try (InMemoryEventStore store = new InMemoryEventStore();
                ProjectionRuntime runtime = new ProjectionRuntime(store, new InMemoryProjectionStore())) {
            append(store, 300);
            java.util.Set<Thread> folding = java.util.concurrent.ConcurrentHashMap.newKeySet();
            java.util.concurrent.atomic.AtomicReference<java.util.Set<Thread>> stopped =
                    new java.util.concurrent.atomic.AtomicReference<>(java.util.Set.of());
            AtomicInteger lateFolds = new AtomicInteger();
            Projection<Integer> slow = Projection.global("count", Integer.class, 0)
                    .on("Counted", (count, event) -> {
                        folding.add(Thread.currentThread());
                        if (stopped.get().contains(Thread.currentThread())) {
                            lateFolds.incrementAndGet();
                        }
                        long until = System.nanoTime() + 1_000_000; // 1 ms a fold: the rebuild lands mid-page
                        while (System.nanoTime() < until) {
                            Thread.onSpinWait();
                        }
                        return count + 1;
                    })
                    .build();
            runtime.start(slow);
            Thread.sleep(50);

            // The old runner's thread, taken before the rebuild: the new runner may fold before this thread
            // looks again, and is not the one that must stop.
            java.util.Set<Thread> old = java.util.Set.copyOf(folding);
            Thread.currentThread().interrupt();
            runtime.rebuild("count");
            stopped.set(old); // it must fold no more
            assertThat(Thread.interrupted()).isTrue();

            assertThat(runtime.awaitPosition("count", 299, Duration.ofSeconds(30)))
                    .isTrue();
            assertThat(runtime.state(slow, Projection.GLOBAL_KEY)).contains(300);
            assertThat(lateFolds)
                    .as("folds by the old runner after rebuild() returned")
                    .hasValue(0);
        }
    }

    @Test
    void a_stop_in_the_middle_of_a_page_stores_nothing_of_it_though_progress_is_reported_after() {
        // The interleaving a close() can meet: the stop lands while the page is being folded, and the
        // subscription, not yet closed, reports the page's end before it stops.
        try (InMemoryEventStore store = new InMemoryEventStore()) {
            append(store, 10);
            InMemoryProjectionStore states = new InMemoryProjectionStore();
            java.util.concurrent.atomic.AtomicReference<RunningProjection<Integer>> runner =
                    new java.util.concurrent.atomic.AtomicReference<>();
            Projection<Integer> counting = Projection.global("count", Integer.class, 0)
                    .on("Counted", (count, event) -> {
                        if (event.position() == 2) {
                            runner.get().stop();
                        }
                        return count + 1;
                    })
                    .build();
            runner.set(new RunningProjection<>(
                    counting, store, states, new com.fasterxml.jackson.databind.ObjectMapper(), status -> {}));

            runner.get().onBatch(store.readAll(0, 10));
            runner.get().onProgress(10);
            runner.get().onCaughtUp(9);

            assertThat(states.checkpoint("count"))
                    .as("no checkpoint past events never folded")
                    .isEmpty();
            assertThat(states.loadState("count", Projection.GLOBAL_KEY)).isEmpty();
        }
    }

    @Test
    void a_fold_that_throws_an_error_fails_naming_the_event_not_the_message() throws Exception {
        try (dev.lethe.core.testing.LogCapture log = dev.lethe.core.testing.LogCapture.of(ProjectionRuntime.class);
                InMemoryEventStore store = new InMemoryEventStore();
                ProjectionRuntime runtime = new ProjectionRuntime(store, new InMemoryProjectionStore())) {
            append(store, 3);
            runtime.start(Projection.global("asserting", Integer.class, 0)
                    .on("Counted", (count, event) -> {
                        throw new AssertionError("bad value ada@example.com");
                    })
                    .build());

            assertThat(runtime.awaitPosition("asserting", 0, Duration.ofSeconds(10)))
                    .isFalse();
            ProjectionStatus status = runtime.status("asserting");
            assertThat(status.phase()).isEqualTo(ProjectionStatus.Phase.FAILED);
            assertThat(status.failure().orElseThrow())
                    .isEqualTo("folding Counted at position 0 threw java.lang.AssertionError")
                    .doesNotContain("ada@");
            assertThat(runtime.failureCause("asserting")).containsInstanceOf(AssertionError.class);
            // With no failure listener set, the failure is not silent: one warning, without the message.
            assertThat(log.records())
                    .singleElement()
                    .satisfies(record -> assertThat(record.getLevel()).isEqualTo(java.util.logging.Level.WARNING))
                    .satisfies(record -> assertThat(record.getMessage())
                            .isEqualTo("projection asserting failed at position 0; its states stay at its last"
                                    + " checkpoint until it is started again: folding Counted at position 0 threw"
                                    + " java.lang.AssertionError"));
        }
    }

    /** A state whose accessor throws with what it holds, as application code may. */
    record Noisy(int count) {
        @Override
        public int count() {
            if (count > 1) {
                throw new IllegalArgumentException("cannot write note for ada@example.com");
            }
            return count;
        }
    }

    @Test
    void a_state_that_cannot_be_written_fails_naming_the_exception_class_not_its_message() throws Exception {
        try (InMemoryEventStore store = new InMemoryEventStore();
                ProjectionRuntime runtime = new ProjectionRuntime(store, new InMemoryProjectionStore())) {
            append(store, 3);
            runtime.start(Projection.global("noisy", Noisy.class, new Noisy(0))
                    .on("Counted", (state, event) -> new Noisy(state.count + 1))
                    .build());

            assertThat(runtime.awaitPosition("noisy", 2, Duration.ofSeconds(10)))
                    .isFalse();
            assertThat(runtime.status("noisy").failure().orElseThrow())
                    .contains("state cannot be written as JSON: writing it threw java.lang.IllegalArgumentException")
                    .doesNotContain("ada@");
        }
    }

    /** A state whose serializer refuses a value the way application code does, through Jackson's own exception. */
    record Referenced(
            @com.fasterxml.jackson.databind.annotation.JsonSerialize(using = Refusing.class)
            String ref) {}

    static final class Refusing extends com.fasterxml.jackson.databind.JsonSerializer<String> {
        @Override
        public void serialize(
                String value,
                com.fasterxml.jackson.core.JsonGenerator gen,
                com.fasterxml.jackson.databind.SerializerProvider provider)
                throws java.io.IOException {
            throw com.fasterxml.jackson.databind.JsonMappingException.from(
                    gen, "not a valid customer reference: " + value);
        }
    }

    @Test
    void a_serializer_refusing_a_state_through_jackson_is_named_by_class_not_message() throws Exception {
        try (InMemoryEventStore store = new InMemoryEventStore();
                ProjectionRuntime runtime = new ProjectionRuntime(store, new InMemoryProjectionStore())) {
            append(store, 3);
            runtime.start(Projection.global("refs", Referenced.class, new Referenced(null))
                    .on("Counted", (state, event) -> new Referenced("ada@example.com"))
                    .build());

            assertThat(runtime.awaitPosition("refs", 2, Duration.ofSeconds(10))).isFalse();
            assertThat(runtime.status("refs").failure().orElseThrow())
                    .contains("state cannot be written as JSON: writing it threw"
                            + " com.fasterxml.jackson.databind.JsonMappingException")
                    .doesNotContain("ada@");
        }
    }

    @Test
    void a_fold_that_leaves_its_thread_interrupted_fails_saying_so() throws Exception {
        try (InMemoryEventStore store = new InMemoryEventStore();
                ProjectionRuntime runtime = new ProjectionRuntime(store, new InMemoryProjectionStore())) {
            append(store, 3);
            runtime.start(Projection.global("interrupting", Integer.class, 0)
                    .on("Counted", (count, event) -> {
                        Thread.currentThread().interrupt();
                        return count + 1;
                    })
                    .build());

            assertThat(runtime.awaitPosition("interrupting", 0, Duration.ofSeconds(10)))
                    .isFalse();
            assertThat(runtime.status("interrupting").failure().orElseThrow())
                    .isEqualTo("folding Counted at position 0: the fold left its thread interrupted; a fold must not"
                            + " interrupt it");
            assertThat(runtime.failureCause("interrupting").orElseThrow())
                    .hasMessage("the fold left its thread interrupted; a fold must not interrupt it");
        }
    }

    @Test
    void a_failure_listener_that_rebuilds_does_not_hold_up_close() throws Exception {
        InMemoryEventStore store = new InMemoryEventStore();
        ProjectionRuntime runtime = new ProjectionRuntime(store, new InMemoryProjectionStore());
        append(store, 3);
        CountDownLatch listening = new CountDownLatch(1);
        runtime.onFailure(status -> {
            listening.countDown();
            try {
                Thread.sleep(300); // while close() runs
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            runtime.rebuild(status.name()); // refused: the runtime is closed (the refusal is ignored)
        });
        runtime.start(Projection.global("failing", Integer.class, 0)
                .on("Counted", (count, event) -> {
                    throw new IllegalArgumentException("no");
                })
                .build());
        assertThat(listening.await(10, TimeUnit.SECONDS)).isTrue();

        Thread closing = new Thread(runtime::close);
        closing.start();
        closing.join(5_000);
        assertThat(closing.isAlive()).as("close() returned").isFalse();
        store.close();
    }

    @Test
    void a_second_runtime_over_one_store_may_not_run_a_name_the_first_runs() throws Exception {
        try (InMemoryEventStore store = new InMemoryEventStore()) {
            append(store, 10);
            InMemoryProjectionStore states = new InMemoryProjectionStore();
            Projection<Integer> count = Projection.global("count", Integer.class, 0)
                    .on("Counted", (n, event) -> n + 1)
                    .build();
            Projection<Integer> other = Projection.global("count", Integer.class, 0)
                    .on("Counted", (n, event) -> n + 1000)
                    .build();
            ProjectionRuntime first = new ProjectionRuntime(store, states);
            first.start(count);
            assertThat(first.awaitPosition("count", store.headPosition(), Duration.ofSeconds(10)))
                    .isTrue();
            try (ProjectionRuntime second = new ProjectionRuntime(store, states)) {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> second.start(other))
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("projection 'count' is already running in another ProjectionRuntime");
                // Another name is its own; and once the first runtime is closed, the name is free.
                second.start(Projection.global("other", Integer.class, 0)
                        .on("Counted", (n, event) -> n + 1)
                        .build());
                first.close();
                second.start(count);
                assertThat(second.awaitPosition("count", store.headPosition(), Duration.ofSeconds(10)))
                        .isTrue();
                assertThat(second.stateJson("count", Projection.GLOBAL_KEY)).contains("10");
            }
            // A runtime over another store is not concerned.
            try (ProjectionRuntime elsewhere = new ProjectionRuntime(store, new InMemoryProjectionStore())) {
                elsewhere.start(count);
            }
        }
    }

    @Test
    void of_two_runtimes_starting_one_name_at_once_exactly_one_runs_it_and_a_rebuild_cannot_take_it_back()
            throws Exception {
        try (InMemoryEventStore store = new InMemoryEventStore()) {
            append(store, 5);
            Projection<Integer> count = Projection.global("q", Integer.class, 0)
                    .on("Counted", (n, event) -> n + 1)
                    .build();
            java.util.concurrent.ExecutorService two = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                for (int round = 0; round < 50; round++) {
                    InMemoryProjectionStore states = new InMemoryProjectionStore();
                    try (ProjectionRuntime a = new ProjectionRuntime(store, states);
                            ProjectionRuntime b = new ProjectionRuntime(store, states)) {
                        java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(2);
                        List<java.util.concurrent.Future<Boolean>> started = two.invokeAll(
                                List.of(() -> startsAfter(together, a, count), () -> startsAfter(together, b, count)));
                        int winners = 0;
                        for (java.util.concurrent.Future<Boolean> each : started) {
                            winners += each.get() ? 1 : 0;
                        }
                        assertThat(winners).as("round " + round).isEqualTo(1);
                    }
                }
            } finally {
                two.shutdownNow();
            }
            // A failed projection's name may go to another runtime; the first may not take it back by a rebuild.
            InMemoryProjectionStore states = new InMemoryProjectionStore();
            try (ProjectionRuntime a = new ProjectionRuntime(store, states);
                    ProjectionRuntime b = new ProjectionRuntime(store, states)) {
                a.start(Projection.global("q", Integer.class, 0)
                        .on("Counted", (n, event) -> {
                            throw new IllegalStateException("fails");
                        })
                        .build());
                a.awaitPosition("q", store.headPosition(), Duration.ofSeconds(10));
                assertThat(a.status("q").phase()).isEqualTo(ProjectionStatus.Phase.FAILED);
                b.start(count);
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> a.rebuild("q"))
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("already running in another ProjectionRuntime");
                assertThat(b.awaitPosition("q", store.headPosition(), Duration.ofSeconds(10)))
                        .isTrue();
                assertThat(b.stateJson("q", Projection.GLOBAL_KEY)).contains("5");
            }
        }
    }

    /** Starts {@code projection} in {@code runtime} once both parties are at the barrier; whether it was taken. */
    private static boolean startsAfter(
            java.util.concurrent.CyclicBarrier together, ProjectionRuntime runtime, Projection<?> projection)
            throws Exception {
        together.await(10, TimeUnit.SECONDS);
        try {
            runtime.start(projection);
            return true;
        } catch (IllegalStateException refused) {
            return false;
        }
    }
}
