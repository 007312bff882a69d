package dev.lethe.core.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.DuplicateEventException;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.store.StreamInfo;
import dev.lethe.core.store.WrongExpectedVersionException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The conformance suite every storage engine runs unchanged: appends, expected versions, idempotency,
 * batch atomicity, reads and temporal reads. Subscriptions, concurrency and projections are in the
 * sibling suites. An engine test extends this class and says how to open a fresh, empty store.
 *
 * <p>Deliberately not asserted here: durability across restarts and crashes (engine-specific tests do
 * that), and performance.
 */
public abstract class EventStoreTck {
    protected EventStore store;

    /** A fresh, empty store. */
    protected abstract EventStore openEmptyStore() throws Exception;

    @BeforeEach
    void openStore() throws Exception {
        store = openEmptyStore();
    }

    @AfterEach
    void closeStore() {
        store.close();
    }

    protected static EventData event(String type, String json) {
        return EventData.of(type, json);
    }

    protected static List<EventData> events(int count) {
        return IntStream.range(0, count)
                .mapToObj(i -> event("Counted", "{\"n\":" + i + "}"))
                .toList();
    }

    @Test
    void first_append_to_a_stream_gets_versions_from_zero_and_dense_positions() {
        AppendResult first = store.append(StreamId.of("order-1"), ExpectedVersion.noStream(), events(3));
        AppendResult second = store.append(StreamId.of("order-2"), ExpectedVersion.any(), events(2));

        assertThat(first).isEqualTo(new AppendResult(StreamId.of("order-1"), 0, 2, 0, 2));
        assertThat(second).isEqualTo(new AppendResult(StreamId.of("order-2"), 0, 1, 3, 4));
        assertThat(store.headPosition()).isEqualTo(4);
        assertThat(store.readAll(0, 100)).extracting(RecordedEvent::position).containsExactly(0L, 1L, 2L, 3L, 4L);
    }

    @Test
    void stored_event_keeps_id_type_data_and_metadata() {
        UUID id = UUID.randomUUID();
        EventData data = event("CustomerRegistered", "{\"customer\":\"c-1\",\"tier\":\"gold\"}")
                .withId(id)
                .withMetadata(Json.parse("{\"correlationId\":\"abc\"}"));
        store.append(StreamId.of("customer-1"), ExpectedVersion.any(), List.of(data));

        RecordedEvent read = store.readStream(StreamId.of("customer-1"), 0, Direction.FORWARD, 10)
                .get(0);
        assertThat(read.id()).isEqualTo(id);
        assertThat(read.type()).isEqualTo("CustomerRegistered");
        assertThat(read.data().asTree().get("tier").asText()).isEqualTo("gold");
        assertThat(read.metadata().asTree().get("correlationId").asText()).isEqualTo("abc");
        assertThat(read.streamId()).isEqualTo(StreamId.of("customer-1"));
        assertThat(read.category()).isEqualTo("customer");
        assertThat(read.recordedAt()).isBeforeOrEqualTo(Instant.now());
        assertThat(store.containsEvent(id)).isTrue();
        assertThat(store.containsEvent(UUID.randomUUID())).isFalse();
        List<UUID> many = new java.util.ArrayList<>();
        for (int i = 0; i < 1_200; i++) {
            many.add(UUID.randomUUID());
        }
        assertThat(store.containsAnyEvent(many)).isFalse();
        many.set(1_100, id); // in the third query of 500
        assertThat(store.containsAnyEvent(many)).isTrue();
        assertThat(store.containsAnyEvent(List.of(UUID.randomUUID(), id))).isTrue();
        assertThat(store.containsAnyEvent(List.of())).isFalse();
        long position = read.position();
        assertThat(store.storedEvents(many))
                .containsExactly(java.util.Map.entry(
                        id,
                        new dev.lethe.core.spi.AppendRules.StoredEvent(
                                StreamId.of("customer-1"), read.version(), position)));
        assertThat(store.storedEvents(List.of(UUID.randomUUID()))).isEmpty();
    }

    @Test
    void no_stream_on_an_existing_stream_is_a_conflict_naming_stream_expected_and_actual() {
        store.append(StreamId.of("order-1"), ExpectedVersion.noStream(), events(2));

        assertThatThrownBy(() -> store.append(StreamId.of("order-1"), ExpectedVersion.noStream(), events(1)))
                .isInstanceOfSatisfying(WrongExpectedVersionException.class, e -> {
                    assertThat(e.streamId()).isEqualTo(StreamId.of("order-1"));
                    assertThat(e.expected()).isEqualTo(ExpectedVersion.noStream());
                    assertThat(e.actual()).isEqualTo(1);
                    assertThat(e.getMessage()).contains("order-1", "expected no stream", "actual version 1");
                });
        assertThat(store.streamInfo(StreamId.of("order-1")).currentVersion()).isEqualTo(1);
    }

    @Test
    void exact_expected_version_appends_only_at_that_version() {
        StreamId stream = StreamId.of("order-1");
        store.append(stream, ExpectedVersion.exactly(-1), events(1));
        store.append(stream, ExpectedVersion.exactly(0), events(2));

        assertThatThrownBy(() -> store.append(stream, ExpectedVersion.exactly(1), events(1)))
                .isInstanceOf(WrongExpectedVersionException.class)
                .hasMessageContaining("expected version 1, actual version 2");
        assertThat(store.append(stream, ExpectedVersion.exactly(2), events(1)).lastVersion())
                .isEqualTo(3);
    }

    @Test
    void stream_exists_requires_an_event_and_any_always_appends() {
        StreamId stream = StreamId.of("order-9");
        assertThatThrownBy(() -> store.append(stream, ExpectedVersion.streamExists(), events(1)))
                .isInstanceOfSatisfying(
                        WrongExpectedVersionException.class,
                        e -> assertThat(e.actual()).isEqualTo(StreamInfo.NO_VERSION))
                .hasMessageContaining("actual no stream");
        store.append(stream, ExpectedVersion.any(), events(1));
        store.append(stream, ExpectedVersion.streamExists(), events(1));
        store.append(stream, ExpectedVersion.any(), events(1));
        assertThat(store.streamInfo(stream).currentVersion()).isEqualTo(2);
    }

    @Test
    void expected_version_below_minus_one_is_rejected() {
        assertThatThrownBy(() -> ExpectedVersion.exactly(-2))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("-2 is below -1");
        assertThatThrownBy(() -> ExpectedVersion.parse("sometimes"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("'sometimes'");
    }

    @Test
    void reappending_the_same_ids_returns_the_first_result_and_writes_nothing() {
        List<EventData> batch = List.of(
                event("A", "{}").withId(UUID.randomUUID()), event("B", "{}").withId(UUID.randomUUID()));
        store.append(StreamId.of("other-1"), ExpectedVersion.any(), events(1));
        AppendResult first = store.append(StreamId.of("order-1"), ExpectedVersion.noStream(), batch);
        store.append(StreamId.of("order-1"), ExpectedVersion.any(), events(1));

        AppendResult retry = store.append(StreamId.of("order-1"), ExpectedVersion.noStream(), batch);

        assertThat(retry).isEqualTo(first);
        assertThat(store.headPosition()).isEqualTo(3);
        assertThat(store.streamInfo(StreamId.of("order-1")).currentVersion()).isEqualTo(2);
    }

    @Test
    void a_batch_mixing_stored_and_new_ids_is_rejected_whole() {
        EventData stored = event("A", "{}").withId(UUID.randomUUID());
        store.append(StreamId.of("order-1"), ExpectedVersion.any(), List.of(stored));

        assertThatThrownBy(() -> store.append(
                        StreamId.of("order-1"),
                        ExpectedVersion.any(),
                        List.of(event("B", "{}").withId(UUID.randomUUID()), stored)))
                .isInstanceOfSatisfying(
                        DuplicateEventException.class,
                        e -> assertThat(e.eventId()).isEqualTo(stored.id()));
        assertThatThrownBy(() -> store.append(StreamId.of("order-2"), ExpectedVersion.any(), List.of(stored)))
                .isInstanceOf(DuplicateEventException.class)
                .hasMessageContaining("in another stream than 'order-2'")
                .hasMessageNotContaining("order-1"); // a stream id may be personal data
        assertThat(store.headPosition()).isZero();
    }

    @Test
    void bad_batches_are_rejected_with_the_problem_named_and_nothing_written() {
        StreamId stream = StreamId.of("order-1");
        UUID twice = UUID.randomUUID();
        assertThatThrownBy(() -> store.append(stream, ExpectedVersion.any(), List.of()))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("empty");
        assertThatThrownBy(() -> store.append(stream, ExpectedVersion.any(), null))
                .isInstanceOf(InvalidEventException.class)
                .hasMessage("events: is missing (null): an append needs a list of at least one event");
        assertThatThrownBy(() -> store.append(
                        stream,
                        ExpectedVersion.any(),
                        List.of(event("A", "{}").withId(twice), event("B", "{}").withId(twice))))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("appears twice");
        assertThatThrownBy(() -> store.append(stream, ExpectedVersion.any(), events(EventStore.MAX_BATCH_EVENTS + 1)))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("limit is " + EventStore.MAX_BATCH_EVENTS);
        assertThat(store.headPosition()).isEqualTo(-1);
        assertThat(store.streamInfo(stream).exists()).isFalse();
    }

    @Test
    void invalid_stream_ids_types_json_and_oversized_events_are_named() {
        assertThatThrownBy(() -> StreamId.of("customer 1")).hasMessageContaining("stream id");
        assertThatThrownBy(() -> StreamId.of("")).hasMessageContaining("must not be empty");
        assertThatThrownBy(() -> StreamId.of("a".repeat(201))).hasMessageContaining("limit is 200");
        assertThatThrownBy(() -> event("Bad Type", "{}")).hasMessageContaining("type");
        assertThatThrownBy(() -> event("A", "{\"a\":")).hasMessageContaining("invalid JSON");
        assertThatThrownBy(() -> event("A", "{} {}")).hasMessageContaining("content after");
        assertThatThrownBy(() -> event("A", "{}").withMetadata(Json.parse("[1]")))
                .hasMessageContaining("metadata");
        String big = "{\"blob\":\"" + "x".repeat(EventData.MAX_SIZE) + "\"}";
        assertThatThrownBy(() -> event("A", big))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("1 MiB");
    }

    @Test
    void missing_arguments_are_named_not_thrown_as_null_pointers() {
        StreamId stream = StreamId.of("order-1");
        assertThatThrownBy(() -> store.append(null, ExpectedVersion.any(), events(1)))
                .hasMessageContaining("stream id");
        assertThatThrownBy(() -> store.append(stream, null, events(1))).hasMessageContaining("expected version");
        assertThatThrownBy(() -> store.readStream(null, 0, Direction.FORWARD, 1))
                .hasMessageContaining("stream id");
        assertThatThrownBy(() -> store.readStream(stream, 0, null, 1)).hasMessageContaining("direction");
        assertThatThrownBy(() -> store.readStreamAsOf(stream, null, 0, 1)).hasMessageContaining("as-of");
        assertThatThrownBy(() -> store.streamInfo(null)).hasMessageContaining("stream id");
        assertThat(store.readStreamAsOfVersion(stream, Long.MAX_VALUE, 10)).isEmpty();
        assertThat(store.headPosition()).isEqualTo(-1);
    }

    @Test
    void an_event_of_almost_one_mebibyte_is_stored_whole() {
        String almost = "{\"blob\":\"" + "y".repeat(EventData.MAX_SIZE - 100) + "\"}";
        store.append(StreamId.of("big-1"), ExpectedVersion.any(), List.of(event("Big", almost)));
        assertThat(store.readAll(0, 1).get(0).data().toString()).isEqualTo(almost);
    }

    @Test
    void a_conflicting_batch_writes_none_of_its_events() {
        store.append(StreamId.of("order-1"), ExpectedVersion.any(), events(1));
        assertThatThrownBy(() -> store.append(StreamId.of("order-1"), ExpectedVersion.exactly(5), events(50)))
                .isInstanceOf(WrongExpectedVersionException.class);
        assertThat(store.readAll(0, 100)).hasSize(1);
    }

    @Test
    void streams_read_forward_and_backward_from_a_version_with_a_limit() {
        StreamId stream = StreamId.of("order-1");
        store.append(stream, ExpectedVersion.any(), events(10));

        assertThat(store.readStream(stream, 3, Direction.FORWARD, 4))
                .extracting(RecordedEvent::version)
                .containsExactly(3L, 4L, 5L, 6L);
        assertThat(store.readStream(stream, 3, Direction.BACKWARD, 10))
                .extracting(RecordedEvent::version)
                .containsExactly(3L, 2L, 1L, 0L);
        assertThat(store.readStream(stream, Long.MAX_VALUE, Direction.BACKWARD, 2))
                .extracting(RecordedEvent::version)
                .containsExactly(9L, 8L);
        assertThat(store.readStream(stream, 10, Direction.FORWARD, 5)).isEmpty();
        assertThat(store.readStream(StreamId.of("nothing-here"), 0, Direction.FORWARD, 5))
                .isEmpty();
        assertThatThrownBy(() -> store.readStream(stream, -1, Direction.FORWARD, 5))
                .hasMessageContaining("negative");
        assertThatThrownBy(() -> store.readStream(stream, 0, Direction.FORWARD, 0))
                .hasMessageContaining("limit");
    }

    @Test
    void the_log_and_a_category_read_from_a_position_with_a_limit() {
        for (int i = 0; i < 5; i++) {
            store.append(StreamId.of("customer-" + i), ExpectedVersion.any(), events(1));
            store.append(StreamId.of("order-" + i), ExpectedVersion.any(), events(1));
        }
        assertThat(store.readAll(4, 3)).extracting(RecordedEvent::position).containsExactly(4L, 5L, 6L);
        assertThat(store.readCategory("order", 2, 3))
                .extracting(RecordedEvent::position)
                .containsExactly(3L, 5L, 7L);
        assertThat(store.readCategory("customer", 0, 100))
                .extracting(e -> e.streamId().value())
                .containsExactly("customer-0", "customer-1", "customer-2", "customer-3", "customer-4");
        assertThat(store.readAll(10, 5)).isEmpty();
        assertThatThrownBy(() -> store.readCategory("order-1", 0, 5)).hasMessageContaining("must not contain '-'");
    }

    @Test
    void a_stream_as_of_an_instant_holds_only_what_was_recorded_by_then() throws Exception {
        StreamId stream = StreamId.of("customer-1");
        store.append(stream, ExpectedVersion.any(), List.of(event("AddressChanged", "{\"city\":\"Lisbon\"}")));
        Instant between = pauseAndMark();
        store.append(stream, ExpectedVersion.any(), List.of(event("AddressChanged", "{\"city\":\"Porto\"}")));

        List<RecordedEvent> then = store.readStreamAsOf(stream, between, 0, 100);
        assertThat(then).extracting(RecordedEvent::version).containsExactly(0L);
        assertThat(store.readStreamAsOf(stream, Instant.now(), 0, 100)).hasSize(2);
        assertThat(store.readStreamAsOf(stream, Instant.EPOCH, 0, 100)).isEmpty();
        assertThat(store.readStreamAsOfVersion(stream, 0, 100))
                .extracting(RecordedEvent::version)
                .containsExactly(0L);
    }

    @Test
    void recorded_at_never_decreases_along_the_log() {
        for (int i = 0; i < 50; i++) {
            store.append(StreamId.of("s-" + (i % 7)), ExpectedVersion.any(), events(2));
        }
        List<RecordedEvent> log = store.readAll(0, 1000);
        for (int i = 1; i < log.size(); i++) {
            assertThat(log.get(i).recordedAt()).isAfterOrEqualTo(log.get(i - 1).recordedAt());
        }
    }

    @Test
    void stream_info_tells_existence_version_and_first_and_last_recorded_at() throws Exception {
        StreamId stream = StreamId.of("customer-1");
        assertThat(store.streamInfo(stream).exists()).isFalse();
        store.append(stream, ExpectedVersion.any(), events(2));
        pauseAndMark();
        store.append(stream, ExpectedVersion.any(), events(1));

        StreamInfo info = store.streamInfo(stream);
        List<RecordedEvent> events = store.readStream(stream, 0, Direction.FORWARD, 10);
        assertThat(info.exists()).isTrue();
        assertThat(info.currentVersion()).isEqualTo(2);
        assertThat(info.firstRecordedAt()).isEqualTo(events.get(0).recordedAt());
        assertThat(info.lastRecordedAt()).isEqualTo(events.get(2).recordedAt());
        assertThat(info.lastRecordedAt()).isAfter(info.firstRecordedAt());
    }

    @Test
    void stream_ids_are_listed_once_each_in_order_page_by_page() {
        assertThat(store.readStreamIds(null, 10)).isEmpty();
        for (String id : List.of("order-2", "customer-b", "$audit", "order-10", "customer-a")) {
            store.append(StreamId.of(id), ExpectedVersion.any(), events(3));
        }
        store.append(StreamId.of("customer-b"), ExpectedVersion.any(), events(2));

        List<StreamId> first = store.readStreamIds(null, 2);
        List<StreamId> second = store.readStreamIds(first.get(1), 2);
        List<StreamId> last = store.readStreamIds(second.get(1), 2);

        assertThat(first).extracting(StreamId::value).containsExactly("$audit", "customer-a");
        assertThat(second).extracting(StreamId::value).containsExactly("customer-b", "order-10");
        assertThat(last).extracting(StreamId::value).containsExactly("order-2");
        assertThat(store.readStreamIds(StreamId.of("order-2"), 2)).isEmpty();
        assertThat(store.readStreamIds(StreamId.of("customer-ab"), 10))
                .extracting(StreamId::value)
                .containsExactly("customer-b", "order-10", "order-2");
    }

    @Test
    void a_stream_id_page_is_bounded_by_the_read_limit() {
        assertThatThrownBy(() -> store.readStreamIds(null, 0))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("limit");
        assertThatThrownBy(() -> store.readStreamIds(null, EventStore.MAX_READ_LIMIT + 1))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("limit");
    }

    /** Waits a few milliseconds on both sides of the returned instant, so the clock has moved past it. */
    protected static Instant pauseAndMark() throws InterruptedException {
        Thread.sleep(5);
        Instant mark = Instant.now();
        Thread.sleep(5);
        return mark;
    }

    protected static List<Long> range(long fromInclusive, long toExclusive) {
        List<Long> out = new ArrayList<>();
        for (long i = fromInclusive; i < toExclusive; i++) {
            out.add(i);
        }
        return out;
    }

    @Test
    void an_event_with_a_generated_id_keeps_it_is_no_retry_and_a_second_use_of_the_id_writes_nothing() {
        UUID id = UUID.randomUUID();
        StreamId stream = StreamId.of("generated-1");
        EventData event = EventData.of("Generated", "{\"n\":1}").withGeneratedId(id);
        assertThat(event.clientId()).isEmpty();

        store.append(stream, ExpectedVersion.noStream(), List.of(event));
        assertThat(store.readStream(stream, 0, Direction.FORWARD, 10))
                .extracting(RecordedEvent::id)
                .containsExactly(id);

        // Not a client's retry: the same generated id again is refused, whatever the expected version.
        assertThatThrownBy(() -> store.append(stream, ExpectedVersion.any(), List.of(event)))
                .isInstanceOf(DuplicateEventException.class);
        assertThat(store.readStream(stream, 0, Direction.FORWARD, 10)).hasSize(1);
        assertThat(store.append(stream, ExpectedVersion.exactly(0), List.of(EventData.of("Generated", "{}")))
                        .firstVersion())
                .isEqualTo(1);
    }
}
