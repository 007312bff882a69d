package dev.lethe.core.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.subscription.CheckpointStore;
import dev.lethe.core.subscription.EventListener;
import dev.lethe.core.subscription.Subscription;
import dev.lethe.core.subscription.SubscriptionRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** Subscriptions across the catch-up/live switch, on any engine. */
public abstract class SubscriptionTck extends EventStoreTck {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void a_subscription_catches_up_then_follows_live_with_no_gap_and_no_duplicate() throws Exception {
        for (int i = 0; i < 100; i++) {
            store.append(StreamId.of("s-" + (i % 10)), ExpectedVersion.any(), events(10));
        }
        List<Long> seen = new CopyOnWriteArrayList<>();
        Thread writer = new Thread(() -> {
            for (int i = 0; i < 200; i++) {
                store.append(StreamId.of("w-" + (i % 5)), ExpectedVersion.any(), events(5));
            }
        });
        // A small page makes the catch-up take many reads while the writer is appending.
        try (Subscription subscription =
                store.subscribe(SubscriptionRequest.allFromStart().pageSize(7), event -> seen.add(event.position()))) {
            writer.start();
            writer.join();
            assertThat(subscription.awaitPosition(1999, WAIT)).isTrue();
            assertThat(subscription.awaitLive(WAIT)).isTrue();
        }
        assertThat(seen).containsExactlyElementsOf(range(0, 2000));
    }

    @Test
    void a_subscription_to_a_closed_store_is_refused_at_once() {
        store.close();
        assertThatThrownBy(() -> store.subscribe(SubscriptionRequest.allFromStart(), event -> {}))
                .isInstanceOf(dev.lethe.core.store.StorageException.class)
                .hasMessageContaining("the event store is closed");
        assertThatThrownBy(() -> store.subscribeBatches(SubscriptionRequest.allFromStart(), events -> {}))
                .isInstanceOf(dev.lethe.core.store.StorageException.class)
                .hasMessageContaining("the event store is closed");
    }

    @Test
    void a_read_within_a_byte_budget_stops_after_the_event_that_reaches_it() {
        String payload = "{\"v\":\"" + "x".repeat(1_000) + "\"}";
        for (int i = 0; i < 5; i++) {
            store.append(
                    StreamId.of("big-1"),
                    ExpectedVersion.any(),
                    List.of(dev.lethe.core.store.EventData.of("Big", payload)));
        }
        store.append(StreamId.of("small-1"), ExpectedVersion.any(), events(1));
        List<RecordedEvent> all = store.readAll(0, 10);
        assertThat(all).hasSize(6);
        long budget = EventStore.sizeOf(all.get(0)) + EventStore.sizeOf(all.get(1)) + 1;

        List<RecordedEvent> page = store.readAll(0, 10, budget);
        assertThat(page).extracting(RecordedEvent::position).containsExactly(0L, 1L, 2L);
        assertThat(EventStore.mayContinue(page, 10, budget)).isTrue();
        assertThat(store.readCategory("big", 0, 10, budget)).hasSize(3);
        assertThat(store.readAll(0, 10, 1)).hasSize(1); // at least one event, however large
        List<RecordedEvent> whole = store.readAll(0, 10, Long.MAX_VALUE);
        assertThat(whole).hasSize(6);
        assertThat(EventStore.mayContinue(whole, 10, Long.MAX_VALUE)).isFalse();
        assertThat(EventStore.mayContinue(store.readAll(0, 6, Long.MAX_VALUE), 6, Long.MAX_VALUE))
                .isTrue();
        assertThatThrownBy(() -> store.readAll(0, 10, 0))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("max bytes");
    }

    @Test
    void a_subscription_over_events_larger_than_its_byte_budget_delivers_them_all_and_goes_live() throws Exception {
        // 6 MB of events against a 4 MiB page: the first page is cut, and the subscription reads on.
        String large = "{\"v\":\"" + "x".repeat(1_000_000) + "\"}";
        for (int i = 0; i < 6; i++) {
            store.append(
                    StreamId.of("big-" + i),
                    ExpectedVersion.any(),
                    List.of(dev.lethe.core.store.EventData.of("Big", large)));
        }
        List<Long> seen = new CopyOnWriteArrayList<>();
        try (Subscription subscription =
                store.subscribe(SubscriptionRequest.categoryFromStart("big"), event -> seen.add(event.position()))) {
            assertThat(subscription.awaitLive(WAIT)).isTrue();
            assertThat(seen).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
            long next = store.append(StreamId.of("big-9"), ExpectedVersion.any(), events(1))
                    .lastPosition();
            assertThat(subscription.awaitPosition(next, WAIT)).isTrue();
        }
        assertThat(seen).hasSize(7);
    }

    @Test
    void a_category_subscription_sees_only_its_category_in_order() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        store.append(StreamId.of("customer-1"), ExpectedVersion.any(), events(2));
        store.append(StreamId.of("order-1"), ExpectedVersion.any(), events(2));
        try (Subscription subscription = store.subscribe(
                SubscriptionRequest.categoryFromStart("customer"),
                event -> seen.add(event.streamId() + "@" + event.version()))) {
            assertThat(subscription.awaitLive(WAIT)).isTrue();
            store.append(StreamId.of("order-2"), ExpectedVersion.any(), events(3));
            long last = store.append(StreamId.of("customer-2"), ExpectedVersion.any(), events(1))
                    .lastPosition();
            assertThat(subscription.awaitPosition(last, WAIT)).isTrue();
        }
        assertThat(seen).containsExactly("customer-1@0", "customer-1@1", "customer-2@0");
    }

    @Test
    void a_subscription_from_the_end_sees_only_new_events() throws Exception {
        store.append(StreamId.of("old-1"), ExpectedVersion.any(), events(5));
        List<RecordedEvent> seen = new CopyOnWriteArrayList<>();
        try (Subscription subscription =
                store.subscribe(SubscriptionRequest.allFromStart().from(SubscriptionRequest.FROM_END), seen::add)) {
            assertThat(subscription.awaitLive(WAIT)).isTrue();
            long last = store.append(StreamId.of("new-1"), ExpectedVersion.any(), events(2))
                    .lastPosition();
            assertThat(subscription.awaitPosition(last, WAIT)).isTrue();
        }
        assertThat(seen).extracting(RecordedEvent::position).containsExactly(5L, 6L);
    }

    @Test
    void a_missing_request_or_listener_is_refused_by_name_in_the_callers_thread() {
        assertThatThrownBy(() -> store.subscribe(null, e -> {}))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessage("subscription request: is missing");
        assertThatThrownBy(() -> store.subscribe(SubscriptionRequest.allFromStart(), (EventListener) null))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessage("listener: is missing");
        assertThatThrownBy(() -> store.subscribeBatches(SubscriptionRequest.allFromStart(), null))
                .hasMessage("listener: is missing");
    }

    @Test
    void a_start_past_the_head_is_refused_rather_than_skipping_the_events_appended_next() {
        store.append(StreamId.of("a-1"), ExpectedVersion.any(), events(3));
        assertThatThrownBy(
                        () -> store.subscribe(SubscriptionRequest.allFromStart().from(5), e -> {}))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("position 5 is past the log's head (2)")
                .hasMessageContaining("at most 3");
        try (Subscription next =
                store.subscribe(SubscriptionRequest.allFromStart().from(3), e -> {})) {
            assertThat(next.failure()).as("the next position is fine").isEmpty();
        }
    }

    @Test
    void a_checkpoint_that_does_not_fit_the_log_is_refused_rather_than_skipping_events() throws Exception {
        MapCheckpoints checkpoints = new MapCheckpoints();
        store.append(StreamId.of("a-1"), ExpectedVersion.any(), events(10));
        SubscriptionRequest request = SubscriptionRequest.allFromStart().checkpointed("feed", checkpoints);
        try (Subscription subscription = store.subscribe(request, e -> {})) {
            assertThat(subscription.awaitPosition(9, WAIT)).isTrue();
        }
        assertThat(checkpoints.loadEventBefore("feed"))
                .as("saved with the witness (id and recorded instant) of the event before it")
                .contains(dev.lethe.core.subscription.CheckpointFit.witness(
                        store, store.readAll(9, 1).get(0)));

        // As a log restored from an older copy and appended to since leaves it: another event before it,
        // even one a client appended again with the same id (the store's clock tells them apart).
        RecordedEvent ninth = store.readAll(9, 1).get(0);
        checkpoints.save("feed", 10, ninth.id() + "@" + ninth.recordedAt() + "#another-session");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> store.subscribe(request, e -> {}))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("subscription feed")
                .hasMessageContaining("follows another event than the log holds at position 9");
        checkpoints.save("feed", 50, java.util.UUID.randomUUID() + "@" + java.time.Instant.now());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> store.subscribe(request, e -> {}))
                .hasMessageContaining("is past the log's head (9)");

        // The subscriber chooses where to resume: it saves that position.
        checkpoints.save("feed", 0);
        List<Long> again = new CopyOnWriteArrayList<>();
        try (Subscription subscription = store.subscribe(request, e -> again.add(e.position()))) {
            assertThat(subscription.awaitPosition(9, WAIT)).isTrue();
        }
        assertThat(again).containsExactlyElementsOf(range(0, 10));
    }

    @Test
    void a_checkpointed_category_subscription_saves_the_event_before_it_past_other_categories() throws Exception {
        MapCheckpoints checkpoints = new MapCheckpoints();
        store.append(StreamId.of("a-1"), ExpectedVersion.any(), events(3));
        long other = store.append(StreamId.of("b-1"), ExpectedVersion.any(), events(2))
                .lastPosition();
        SubscriptionRequest request = SubscriptionRequest.categoryFromStart("a").checkpointed("a-feed", checkpoints);
        try (Subscription subscription = store.subscribe(request, e -> {})) {
            assertThat(subscription.awaitPosition(other, WAIT)).isTrue();
        }
        long next = checkpoints.load("a-feed").orElseThrow();
        assertThat(next).isEqualTo(other + 1);
        assertThat(checkpoints.loadEventBefore("a-feed"))
                .contains(dev.lethe.core.subscription.CheckpointFit.witness(
                        store, store.readAll(other, 1).get(0)));
        try (Subscription subscription = store.subscribe(request, e -> {})) {
            assertThat(subscription.nextPosition()).isEqualTo(next);
        }
    }

    @Test
    void a_checkpointed_subscription_resumes_after_the_last_handled_page() throws Exception {
        CheckpointStore checkpoints = new MapCheckpoints();
        store.append(StreamId.of("a-1"), ExpectedVersion.any(), events(10));
        List<Long> first = new CopyOnWriteArrayList<>();
        SubscriptionRequest request = SubscriptionRequest.allFromStart().checkpointed("reporter", checkpoints);
        try (Subscription subscription = store.subscribe(request, e -> first.add(e.position()))) {
            assertThat(subscription.awaitPosition(9, WAIT)).isTrue();
        }
        store.append(StreamId.of("a-1"), ExpectedVersion.any(), events(5));
        List<Long> second = new CopyOnWriteArrayList<>();
        try (Subscription subscription = store.subscribe(request, e -> second.add(e.position()))) {
            assertThat(subscription.awaitPosition(14, WAIT)).isTrue();
        }
        assertThat(first).containsExactlyElementsOf(range(0, 10));
        assertThat(second).containsExactlyElementsOf(range(10, 15));
    }

    @Test
    void a_listener_that_closes_its_subscription_gets_no_later_event_and_resumes_after_its_last() throws Exception {
        CheckpointStore checkpoints = new MapCheckpoints();
        store.append(StreamId.of("a-1"), ExpectedVersion.any(), events(10));
        SubscriptionRequest request = SubscriptionRequest.allFromStart().checkpointed("until-3", checkpoints);
        List<Long> first = new CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicReference<Subscription> self =
                new java.util.concurrent.atomic.AtomicReference<>();
        CountDownLatch closed = new CountDownLatch(1);
        self.set(store.subscribe(request, e -> {
            first.add(e.position());
            if (e.position() == 3) {
                while (self.get() == null) {
                    Thread.onSpinWait();
                }
                self.get().close();
                closed.countDown();
            }
        }));
        assertThat(closed.await(WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS))
                .isTrue();
        Thread.sleep(50);
        self.get().close();
        assertThat(first).containsExactlyElementsOf(range(0, 4));
        List<Long> second = new CopyOnWriteArrayList<>();
        try (Subscription again = store.subscribe(request, e -> second.add(e.position()))) {
            assertThat(again.awaitPosition(9, WAIT)).isTrue();
        }
        assertThat(second).containsExactlyElementsOf(range(4, 10));
    }

    @Test
    void a_failing_listener_stops_its_subscription_and_reports_why() throws Exception {
        store.append(StreamId.of("a-1"), ExpectedVersion.any(), events(3));
        CountDownLatch failed = new CountDownLatch(1);
        EventListener listener = new EventListener() {
            @Override
            public void onEvent(RecordedEvent event) {
                if (event.position() == 1) {
                    throw new IllegalStateException("cannot handle " + event.position());
                }
            }

            @Override
            public void onError(Throwable error) {
                failed.countDown();
            }
        };
        try (Subscription subscription = store.subscribe(SubscriptionRequest.allFromStart(), listener)) {
            assertThat(failed.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(subscription.failure())
                    .get()
                    .extracting(Throwable::getMessage)
                    .isEqualTo("cannot handle 1");
            assertThat(subscription.isLive()).isFalse();
        }
        // Writers are unaffected.
        store.append(StreamId.of("a-1"), ExpectedVersion.any(), events(1));
    }

    @Test
    void a_listener_that_leaves_its_thread_interrupted_stops_its_subscription_and_says_so() throws Exception {
        store.append(StreamId.of("a-1"), ExpectedVersion.any(), events(3));
        CountDownLatch failed = new CountDownLatch(1);
        EventListener listener = new EventListener() {
            @Override
            public void onEvent(RecordedEvent event) {
                if (event.position() == 1) {
                    Thread.currentThread().interrupt(); // a listener that restored the flag of an interrupt it caught
                }
            }

            @Override
            public void onError(Throwable error) {
                failed.countDown();
            }
        };
        try (Subscription subscription = store.subscribe(SubscriptionRequest.allFromStart(), listener)) {
            assertThat(failed.await(30, java.util.concurrent.TimeUnit.SECONDS))
                    .as("reported, not a subscription that passes for live and delivers nothing more")
                    .isTrue();
            assertThat(subscription.failure())
                    .get()
                    .extracting(Throwable::getMessage)
                    .asString()
                    .contains("interrupted though the subscription was not closed");
            assertThat(subscription.isLive()).isFalse();
        }
    }

    @Test
    void a_stalled_subscriber_does_not_block_writers() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (Subscription subscription =
                store.subscribe(SubscriptionRequest.allFromStart().pageSize(10), e -> {
                    release.await();
                })) {
            for (int i = 0; i < 200; i++) {
                store.append(StreamId.of("busy-1"), ExpectedVersion.any(), events(5));
            }
            assertThat(store.headPosition()).isEqualTo(999);
            release.countDown();
            assertThat(subscription.awaitPosition(999, WAIT)).isTrue();
        }
    }

    @Test
    void concurrent_writers_lose_no_event_and_keep_positions_and_versions_dense() throws Exception {
        int writers = 8;
        int appendsEach = 1_000;
        Thread[] threads = new Thread[writers];
        for (int w = 0; w < writers; w++) {
            int writer = w;
            threads[w] = new Thread(() -> {
                for (int i = 0; i < appendsEach; i++) {
                    // Half to the writer's own stream, half to one stream shared by all.
                    StreamId stream = StreamId.of(i % 2 == 0 ? "own-" + writer : "shared-1");
                    store.append(stream, ExpectedVersion.any(), events(1));
                }
            });
            threads[w].start();
        }
        for (Thread thread : threads) {
            thread.join();
        }
        int total = writers * appendsEach;
        List<RecordedEvent> log = readWholeLog(store);
        assertThat(log).extracting(RecordedEvent::position).containsExactlyElementsOf(range(0, total));
        Map<StreamId, Long> nextVersion = new ConcurrentHashMap<>();
        for (RecordedEvent event : log) {
            long expected = nextVersion.getOrDefault(event.streamId(), 0L);
            assertThat(event.version()).as("version in %s", event.streamId()).isEqualTo(expected);
            nextVersion.put(event.streamId(), expected + 1);
        }
        assertThat(nextVersion.get(StreamId.of("shared-1"))).isEqualTo(total / 2);
    }

    @Test
    void concurrent_writers_at_the_same_expected_version_have_exactly_one_winner() throws Exception {
        StreamId stream = StreamId.of("contended-1");
        store.append(stream, ExpectedVersion.any(), events(1));
        int writers = 8;
        CountDownLatch start = new CountDownLatch(1);
        List<Boolean> outcomes = new CopyOnWriteArrayList<>();
        Thread[] threads = new Thread[writers];
        for (int w = 0; w < writers; w++) {
            threads[w] = new Thread(() -> {
                try {
                    start.await();
                    store.append(stream, ExpectedVersion.exactly(0), events(1));
                    outcomes.add(true);
                } catch (dev.lethe.core.store.WrongExpectedVersionException e) {
                    outcomes.add(false);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            threads[w].start();
        }
        start.countDown();
        for (Thread thread : threads) {
            thread.join();
        }
        assertThat(outcomes).hasSize(writers).containsOnlyOnce(true);
        assertThat(store.streamInfo(stream).currentVersion()).isEqualTo(1);
    }

    protected static List<RecordedEvent> readWholeLog(EventStore store) {
        List<RecordedEvent> all = new java.util.ArrayList<>();
        while (true) {
            List<RecordedEvent> page = store.readAll(all.size(), EventStore.MAX_READ_LIMIT);
            all.addAll(page);
            if (page.size() < EventStore.MAX_READ_LIMIT) {
                return all;
            }
        }
    }

    private static final class MapCheckpoints implements CheckpointStore {
        private final Map<String, Long> positions = new ConcurrentHashMap<>();
        private final Map<String, String> before = new ConcurrentHashMap<>();

        @Override
        public void save(String name, long nextPosition, String eventBefore) {
            positions.put(name, nextPosition);
            if (eventBefore == null) {
                before.remove(name);
            } else {
                before.put(name, eventBefore);
            }
        }

        @Override
        public java.util.Optional<String> loadEventBefore(String name) {
            return java.util.Optional.ofNullable(before.get(name));
        }

        @Override
        public OptionalLong load(String name) {
            Long next = positions.get(name);
            return next == null ? OptionalLong.empty() : OptionalLong.of(next);
        }

        @Override
        public void save(String name, long nextPosition) {
            positions.put(name, nextPosition);
        }
    }
}
