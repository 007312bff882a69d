package dev.lethe.core.projection;

import dev.lethe.core.store.RecordedEvent;
import java.util.Optional;
import java.util.Set;

/**
 * A read model: a left fold {@code (state, event) -> state} over the events it is interested in,
 * kept per key (one state per stream, or per any key derived from the event) or as one global state.
 *
 * <p>{@link #apply} must be a pure function of its arguments: a rebuild replays the same events and
 * must arrive at the same states. States are stored as JSON (Jackson), so {@link #stateType()} should
 * be a record or another type Jackson reads and writes; treat states as immutable values.
 *
 * <p>Build one with {@link #perStream}, {@link #keyed} or {@link #global}.
 */
public interface Projection<S> {
    /** The key of the one state of a global projection. */
    String GLOBAL_KEY = "global";

    /** A unique name, 1–100 characters: letters, digits, {@code - _ .}. */
    String name();

    Class<S> stateType();

    /** The state of a key before any event. */
    S initialState();

    /** The only category this projection reads, if it reads just one (a cheaper subscription). */
    Optional<String> category();

    /** The event types folded; all others are skipped. */
    Set<String> eventTypes();

    /** The key whose state this event changes; empty to skip the event. */
    Optional<String> keyOf(RecordedEvent event);

    /** The next state. */
    S apply(S state, RecordedEvent event);

    /** Whether this projection folds {@code event}. */
    default boolean handles(RecordedEvent event) {
        return eventTypes().contains(event.type());
    }

    /** A projection with one state per stream. */
    static <S> ProjectionBuilder<S> perStream(String name, Class<S> stateType, S initialState) {
        return new ProjectionBuilder<>(name, stateType, initialState, ProjectionBuilder.BY_STREAM);
    }

    /** A projection with one state per key that {@code keyOf} derives from each event. */
    static <S> ProjectionBuilder<S> keyed(
            String name,
            Class<S> stateType,
            S initialState,
            java.util.function.Function<RecordedEvent, Optional<String>> keyOf) {
        return new ProjectionBuilder<>(name, stateType, initialState, keyOf);
    }

    /** A projection with a single state, under the key {@value #GLOBAL_KEY}. */
    static <S> ProjectionBuilder<S> global(String name, Class<S> stateType, S initialState) {
        return new ProjectionBuilder<>(name, stateType, initialState, event -> Optional.of(GLOBAL_KEY));
    }
}
