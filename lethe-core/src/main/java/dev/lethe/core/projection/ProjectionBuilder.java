package dev.lethe.core.projection;

import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.RecordedEvent;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.regex.Pattern;

/** Builds a {@link Projection} from one fold function per event type. */
public final class ProjectionBuilder<S> {
    private static final Pattern VALID_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.\\-]{0,99}");

    private final String name;
    private final Class<S> stateType;
    private final S initialState;
    private final Function<RecordedEvent, Optional<String>> keyOf;
    private final Map<String, BiFunction<S, RecordedEvent, S>> handlers = new LinkedHashMap<>();
    private String category;

    ProjectionBuilder(
            String name, Class<S> stateType, S initialState, Function<RecordedEvent, Optional<String>> keyOf) {
        if (name == null || !VALID_NAME.matcher(name).matches()) {
            throw InvalidEventException.of(
                    "projection name",
                    "'" + name + "' must be 1-100 letters, digits, - _ . starting with a letter or digit");
        }
        if (stateType == null) {
            throw InvalidEventException.of(
                    "projection " + name, "needs its state's type (the class states are stored as)");
        }
        if (initialState == null) {
            // The first fold of every key would get null: a fold returns the next state, never null, and starts
            // from one.
            throw InvalidEventException.of(
                    "projection " + name,
                    "needs an initial state (the state of a key before its first event), not null");
        }
        this.name = name;
        this.stateType = stateType;
        this.initialState = initialState;
        this.keyOf = keyOf;
    }

    /** Reads only this category's events. */
    public ProjectionBuilder<S> category(String onlyCategory) {
        dev.lethe.core.spi.AppendRules.checkCategory(onlyCategory);
        this.category = onlyCategory;
        return this;
    }

    /** Folds events of {@code type} with {@code fold}. */
    public ProjectionBuilder<S> on(String type, BiFunction<S, RecordedEvent, S> fold) {
        if (type == null || fold == null) {
            throw InvalidEventException.of(
                    "projection " + name,
                    "on(type, fold) needs both; " + (type == null ? "the type" : "the fold") + " is missing");
        }
        if (handlers.putIfAbsent(type, fold) != null) {
            throw new IllegalArgumentException("projection '" + name + "' already folds events of type " + type);
        }
        return this;
    }

    /** The key of a per-stream projection: the stream id. */
    static final Function<RecordedEvent, Optional<String>> BY_STREAM =
            event -> Optional.of(event.streamId().value());

    /** Whether {@code projection} was built here with another key than the stream's (global, derived). */
    static boolean builtWithOtherKeys(Projection<?> projection) {
        return projection instanceof Definition<?> definition && definition.keyFunction() != BY_STREAM;
    }

    public Projection<S> build() {
        if (handlers.isEmpty()) {
            throw new IllegalStateException(
                    "projection '" + name + "' folds no event type; add one with on(type, fold)");
        }
        return new Definition<>(
                name, stateType, initialState, Optional.ofNullable(category), Map.copyOf(handlers), keyOf);
    }

    private record Definition<S>(
            String name,
            Class<S> stateType,
            S initialState,
            Optional<String> category,
            Map<String, BiFunction<S, RecordedEvent, S>> handlers,
            Function<RecordedEvent, Optional<String>> keyFunction)
            implements Projection<S> {

        @Override
        public Set<String> eventTypes() {
            return handlers.keySet();
        }

        @Override
        public Optional<String> keyOf(RecordedEvent event) {
            return keyFunction.apply(event);
        }

        @Override
        public S apply(S state, RecordedEvent event) {
            BiFunction<S, RecordedEvent, S> fold = handlers.get(event.type());
            return fold == null ? state : fold.apply(state, event);
        }
    }
}
