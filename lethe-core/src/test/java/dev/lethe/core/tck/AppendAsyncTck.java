package dev.lethe.core.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamAppend;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.store.WrongExpectedVersionException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * {@link dev.lethe.core.store.EventStore#appendAsync} on any engine: submission order is commit order,
 * every failure (a conflict, an invalid batch) arrives through the future, and a callback on the future
 * may append synchronously without stalling the engine. Every wait is bounded.
 */
public abstract class AppendAsyncTck extends ProjectionTck {
    private static final long WAIT_SECONDS = 20;

    private static <T> T await(CompletableFuture<T> future) throws Exception {
        try {
            return future.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("the future did not complete within " + WAIT_SECONDS + " s", e);
        }
    }

    /** The exception a failed future carries, unwrapped from its completion wrappers. */
    private static Throwable failureOf(CompletableFuture<?> future) throws Exception {
        try {
            future.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            while (cause instanceof CompletionException || cause instanceof ExecutionException) {
                cause = cause.getCause();
            }
            return cause;
        } catch (TimeoutException e) {
            throw new AssertionError("the future did not complete within " + WAIT_SECONDS + " s", e);
        }
        throw new AssertionError("the future completed normally; a failure was expected");
    }

    @Test
    void batches_submitted_one_after_another_by_one_thread_commit_in_that_order() throws Exception {
        StreamId stream = StreamId.of("order-1");
        List<CompletableFuture<AppendResult>> futures = new ArrayList<>();
        // Each batch expects the version the previous one leaves: only submission order satisfies all.
        for (int i = 0; i < 40; i++) {
            StreamId target = i % 4 == 3 ? StreamId.of("other-1") : stream;
            ExpectedVersion expected =
                    target.equals(stream) ? ExpectedVersion.exactly(3L * (i - i / 4) - 1) : ExpectedVersion.any();
            futures.add(store.appendAsync(target, expected, events(3)));
        }

        for (int i = 0; i < futures.size(); i++) {
            AppendResult result = await(futures.get(i));
            assertThat(result.firstPosition()).as("batch %d", i).isEqualTo(3L * i);
            assertThat(result.lastPosition()).as("batch %d", i).isEqualTo(3L * i + 2);
        }
        assertThat(store.streamInfo(stream).currentVersion()).isEqualTo(3L * 30 - 1);
        assertThat(store.readAll(0, 1000)).extracting(RecordedEvent::position).containsExactlyElementsOf(range(0, 120));
    }

    @Test
    void a_batch_given_a_recording_window_is_recorded_in_it_or_refused_whole() throws Exception {
        StreamId stream = StreamId.of("sealed-1");
        java.time.Instant farAhead = java.time.Instant.now().plus(java.time.Duration.ofDays(1));
        store.append(stream, ExpectedVersion.any(), events(1), null, farAhead);
        await(store.appendAsync(stream, ExpectedVersion.any(), events(1), null, farAhead));
        List<RecordedEvent> recorded = store.readStream(stream, 0, dev.lethe.core.store.Direction.FORWARD, 10);
        assertThat(recorded).extracting(RecordedEvent::recordedAt).allMatch(at -> at.isBefore(farAhead));

        // A start ahead of the clock (a batch sealed before the clock stepped back): recorded at it, and what follows
        // in the log after it.
        java.time.Instant ahead = java.time.Instant.now()
                .plus(java.time.Duration.ofMinutes(30))
                .truncatedTo(java.time.temporal.ChronoUnit.MICROS);
        await(store.appendAsync(stream, ExpectedVersion.any(), events(1), ahead, farAhead));
        store.append(StreamId.of("plain-1"), ExpectedVersion.any(), events(1));
        assertThat(store.readAll(2, 10)).extracting(RecordedEvent::recordedAt).containsExactly(ahead, ahead);

        // An end the store's time has passed: refused, nothing stored, through both calls; never recorded earlier
        // than the store's time (a read as of an instant must not gain events later).
        java.time.Instant passed = ahead.minus(1, java.time.temporal.ChronoUnit.MICROS);
        long head = store.headPosition();
        assertThat(failureOf(store.appendAsync(stream, ExpectedVersion.any(), events(1), null, passed)))
                .isInstanceOf(dev.lethe.core.store.LateRecordingException.class)
                .hasMessageContaining("append not stored");
        assertThatThrownBy(() -> store.append(stream, ExpectedVersion.any(), events(1), null, passed))
                .isInstanceOf(dev.lethe.core.store.LateRecordingException.class)
                .satisfies(e -> assertThat(((dev.lethe.core.store.LateRecordingException) e).storeTime())
                        .isAfterOrEqualTo(ahead));
        assertThat(store.headPosition()).isEqualTo(head);
        assertThat(store.streamInfo(stream).eventCount()).isEqualTo(3);
    }

    @Test
    void a_recording_window_that_is_empty_or_starts_far_past_the_store_s_time_is_refused_as_bad_input()
            throws Exception {
        StreamId stream = StreamId.of("sealed-2");
        long head = store.headPosition();
        java.time.Instant now = java.time.Instant.now();
        // Ends where it starts, or before: no retry can record it (it is no late recording).
        for (java.time.Instant before : List.of(now.plusSeconds(60), now.plusSeconds(59))) {
            assertThatThrownBy(
                            () -> store.append(stream, ExpectedVersion.any(), events(1), now.plusSeconds(60), before))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("is not after recordFrom");
        }
        // Years ahead: the batch, and every event after it, would be recorded in the future.
        java.time.Instant years = now.plus(java.time.Duration.ofDays(4 * 365));
        assertThatThrownBy(() -> store.append(stream, ExpectedVersion.any(), events(1), years, null))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("is more than 60 minutes past the store's time");
        assertThat(failureOf(store.appendAsync(stream, ExpectedVersion.any(), events(1), years, null)))
                .isInstanceOf(InvalidEventException.class);
        assertThat(store.headPosition()).isEqualTo(head);
        // Checked first, by both engines alike: before a retry is recognised, or a version compared.
        List<EventData> stored = List.of(events(1).get(0).withId(java.util.UUID.randomUUID()));
        store.append(StreamId.of("plain-3"), ExpectedVersion.any(), stored);
        assertThatThrownBy(() -> store.append(StreamId.of("plain-3"), ExpectedVersion.any(), stored, years, null))
                .isInstanceOf(InvalidEventException.class);
        assertThatThrownBy(
                        () -> store.append(StreamId.of("plain-3"), ExpectedVersion.exactly(5), events(1), years, null))
                .isInstanceOf(InvalidEventException.class);
        head = store.headPosition();
        store.append(StreamId.of("plain-2"), ExpectedVersion.any(), events(1));
        assertThat(store.readAll(head + 1, 1).get(0).recordedAt()).isBefore(now.plusSeconds(3600));
    }

    @Test
    void batches_appended_together_are_each_stored_or_refused_on_their_own() throws Exception {
        store.append(StreamId.of("taken-1"), ExpectedVersion.any(), events(1));
        List<CompletableFuture<AppendResult>> results = store.appendTogether(List.of(
                new StreamAppend(StreamId.of("fresh-1"), ExpectedVersion.noStream(), events(2)),
                new StreamAppend(StreamId.of("taken-1"), ExpectedVersion.noStream(), events(1)),
                new StreamAppend(StreamId.of("fresh-2"), ExpectedVersion.any(), List.of()),
                new StreamAppend(StreamId.of("fresh-3"), ExpectedVersion.any(), events(1))));
        assertThat(results).hasSize(4);
        assertThat(await(results.get(0)).count()).isEqualTo(2);
        assertThat(failureOf(results.get(1))).isInstanceOf(WrongExpectedVersionException.class);
        assertThat(failureOf(results.get(2)))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("empty");
        assertThat(await(results.get(3)).streamId()).isEqualTo(StreamId.of("fresh-3"));
        assertThat(store.streamInfo(StreamId.of("taken-1")).eventCount()).isEqualTo(1);
        assertThat(store.streamInfo(StreamId.of("fresh-2")).exists()).isFalse();
        assertThat(store.headPosition()).isEqualTo(3);
    }

    @Test
    void a_list_of_batches_that_is_empty_holds_null_or_too_many_events_is_refused_whole() {
        assertThatThrownBy(() -> store.appendTogether(null)).hasMessageContaining("none were given");
        assertThatThrownBy(() -> store.appendTogether(List.of()))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("none were given");
        List<StreamAppend> withNull = new ArrayList<>();
        withNull.add(new StreamAppend(StreamId.of("fine-1"), ExpectedVersion.any(), events(1)));
        withNull.add(null);
        assertThatThrownBy(() -> store.appendTogether(withNull)).hasMessageContaining("one of them is null");
        int half = EventStore.MAX_BATCH_EVENTS / 2 + 1;
        assertThatThrownBy(() -> store.appendTogether(List.of(
                        new StreamAppend(StreamId.of("big-1"), ExpectedVersion.any(), events(half)),
                        new StreamAppend(StreamId.of("big-2"), ExpectedVersion.any(), events(half)))))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("the limit is " + EventStore.MAX_BATCH_EVENTS);
        assertThat(store.headPosition()).isEqualTo(-1);
    }

    @Test
    void a_wrong_expected_version_fails_the_future_and_writes_nothing() throws Exception {
        StreamId stream = StreamId.of("order-1");
        store.append(stream, ExpectedVersion.any(), events(1));

        CompletableFuture<AppendResult> conflict = store.appendAsync(stream, ExpectedVersion.exactly(5), events(2));
        CompletableFuture<AppendResult> noStream = store.appendAsync(stream, ExpectedVersion.noStream(), events(2));

        assertThat(failureOf(conflict)).isInstanceOfSatisfying(WrongExpectedVersionException.class, e -> {
            assertThat(e.streamId()).isEqualTo(stream);
            assertThat(e.actual()).isEqualTo(0);
        });
        assertThat(failureOf(noStream)).isInstanceOf(WrongExpectedVersionException.class);
        assertThat(store.headPosition()).isZero();
    }

    @Test
    void an_invalid_batch_fails_the_future_instead_of_throwing() throws Exception {
        StreamId stream = StreamId.of("order-1");
        List<CompletableFuture<AppendResult>> invalid = List.of(
                store.appendAsync(stream, ExpectedVersion.any(), List.of()),
                store.appendAsync(null, ExpectedVersion.any(), events(1)),
                store.appendAsync(stream, null, events(1)),
                store.appendAsync(stream, ExpectedVersion.any(), null),
                store.appendAsync(
                        stream, ExpectedVersion.any(), events(dev.lethe.core.store.EventStore.MAX_BATCH_EVENTS + 1)));

        for (CompletableFuture<AppendResult> future : invalid) {
            assertThat(failureOf(future)).isInstanceOf(InvalidEventException.class);
        }
        assertThat(store.headPosition()).isEqualTo(-1);
        assertThat(await(store.appendAsync(stream, ExpectedVersion.noStream(), events(1)))
                        .lastVersion())
                .isZero();
    }

    @Test
    void a_callback_on_the_future_may_append_synchronously_without_deadlock() throws Exception {
        List<CompletableFuture<AppendResult>> chained = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            // Chained at once, while the batch is (on an engine with a writer thread) still in flight.
            chained.add(store.appendAsync(StreamId.of("order-" + i), ExpectedVersion.noStream(), events(2))
                    .thenApply(first -> store.append(
                            StreamId.of("order-" + first.streamId().value().substring(6)),
                            ExpectedVersion.exactly(first.lastVersion()),
                            List.of(EventData.of("Followed", "{}")))));
        }

        for (CompletableFuture<AppendResult> future : chained) {
            assertThat(await(future).lastVersion()).isEqualTo(2);
        }
        assertThat(store.headPosition()).isEqualTo(59);
    }
}
