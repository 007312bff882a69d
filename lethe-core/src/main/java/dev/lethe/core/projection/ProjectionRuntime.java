package dev.lethe.core.projection;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs projections over an event store: each starts from its stored checkpoint, catches up, follows
 * live, and commits its changed states together with its checkpoint. Thread-safe.
 *
 * <p>Queries ({@link #state}) read committed states: after an append at position {@code p}, {@link
 * #awaitPosition} waits until a projection has committed past {@code p} (read your writes).
 */
public final class ProjectionRuntime implements AutoCloseable {
    private final EventStore store;
    private final ProjectionStore states;
    private final ObjectMapper json;
    private final Map<String, RunningProjection<?>> running = new ConcurrentHashMap<>();
    /** Until {@link #onFailure} sets another: a warning, so that a projection that stops is never silent. */
    private volatile java.util.function.Consumer<ProjectionStatus> failureListener = ProjectionRuntime::logFailure;
    /** Guarded by this. */
    private boolean closed;

    /** Reads the trees of {@code Json} states: numbers as written. */
    private static final ObjectMapper EXACT = dev.lethe.core.store.Json.exactMapper();

    /**
     * Lethe's own {@link dev.lethe.core.store.Json} as a state (or a part of one) is kept as the JSON it holds,
     * numbers exactly: read as a bean, it was stored as {@code {"object":true}}, its content lost (a state an
     * earlier release stored so reads as that object: rebuild the projection). A JSON {@code null} reads as a
     * Java {@code null}, not a {@code Json} of null.
     */
    private static com.fasterxml.jackson.databind.Module jsonValues() {
        com.fasterxml.jackson.databind.module.SimpleModule module =
                new com.fasterxml.jackson.databind.module.SimpleModule("lethe-json");
        module.addSerializer(
                dev.lethe.core.store.Json.class,
                new com.fasterxml.jackson.databind.JsonSerializer<dev.lethe.core.store.Json>() {
                    @Override
                    public void serialize(
                            dev.lethe.core.store.Json value,
                            com.fasterxml.jackson.core.JsonGenerator generator,
                            com.fasterxml.jackson.databind.SerializerProvider provider)
                            throws IOException {
                        generator.writeTree(value.asTree());
                    }
                });
        module.addDeserializer(
                dev.lethe.core.store.Json.class,
                new com.fasterxml.jackson.databind.JsonDeserializer<dev.lethe.core.store.Json>() {
                    @Override
                    public dev.lethe.core.store.Json deserialize(
                            com.fasterxml.jackson.core.JsonParser parser,
                            com.fasterxml.jackson.databind.DeserializationContext context)
                            throws IOException {
                        // Numbers as written (1.50 stays 1.50, 1e400 no Infinity), as a Json holds them.
                        com.fasterxml.jackson.databind.JsonNode tree = EXACT.readTree(parser);
                        return dev.lethe.core.store.Json.ofBytes(
                                tree.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    }
                });
        return module;
    }

    public ProjectionRuntime(EventStore store, ProjectionStore states) {
        this.store = store;
        this.states = states;
        // java.time values as ISO-8601 text, as events carry them (states written before as epoch numbers still
        // read), and Optional components as their value or null.
        // Map keys as long as values: states key maps by event values (Json.factory()).
        this.json = new ObjectMapper(dev.lethe.core.store.Json.factory())
                .registerModule(new JavaTimeModule())
                .registerModule(new com.fasterxml.jackson.datatype.jdk8.Jdk8Module())
                .registerModule(jsonValues())
                .disable(com.fasterxml.jackson.databind.SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
        // A stored member the state type no longer has fails the read (and names it): a renamed member read
        // as a new one would start again from 0 or null without a word; a rebuild folds the states anew.
        // What the type itself writes besides its members (a derived isEmpty(), getTotal()) reads as nothing.
        json.addHandler(new com.fasterxml.jackson.databind.deser.DeserializationProblemHandler() {
            @Override
            public boolean handleUnknownProperty(
                    com.fasterxml.jackson.databind.DeserializationContext context,
                    com.fasterxml.jackson.core.JsonParser parser,
                    com.fasterxml.jackson.databind.JsonDeserializer<?> deserializer,
                    Object beanOrClass,
                    String name)
                    throws IOException {
                Class<?> type = beanOrClass instanceof Class<?> c ? c : beanOrClass.getClass();
                java.util.Set<String> names = writtenNames(type);
                if (!(beanOrClass instanceof Class<?>)) {
                    // A builder (@JsonPOJOBuilder, Lombok's @Jacksonized): the names of the type it builds.
                    names = builtType(type)
                            .map(ProjectionRuntime.this::writtenNames)
                            .orElse(names);
                }
                if (!names.contains(name)) {
                    return false;
                }
                parser.skipChildren();
                return true;
            }
        });
    }

    /**
     * Starts a projection from its checkpoint. A projection that failed (or was stopped) may be
     * started again: it resumes from its last committed checkpoint.
     */
    public void start(Projection<?> projection) {
        dev.lethe.core.spi.AppendRules.require(projection, "projection");
        String name = projection.name();
        RunningProjection<?> existing;
        synchronized (this) {
            requireOpen();
            existing = running.get(name);
            if (existing != null) {
                ProjectionStatus.Phase phase = existing.status().phase();
                if (phase != ProjectionStatus.Phase.FAILED && phase != ProjectionStatus.Phase.STOPPED) {
                    throw new IllegalStateException("projection '" + name + "' is already running");
                }
            }
            claim(name);
        }
        try {
            if (existing != null) {
                existing.stop(); // not under this lock, as in rebuild
            }
            synchronized (this) {
                requireOpen();
                requireStill(name, existing);
                RunningProjection<?> runner = new RunningProjection<>(projection, store, states, json, this::failed);
                startListed(name, runner);
            }
        } finally {
            started(name);
        }
    }

    /**
     * Per projection store in this process, which runtime holds each name: two runtimes over one store, each
     * running a projection of one name, would both commit to its states and checkpoint (review AF: the states
     * of one folded into by the other's definition, silently). Weak keys, and weak references to the runtimes
     * (which hold their store): a store or a runtime dropped without a close takes its names along.
     */
    private static final Map<ProjectionStore, Map<String, java.lang.ref.WeakReference<ProjectionRuntime>>> CLAIMS =
            new java.util.WeakHashMap<>();

    /** Names this runtime is starting or rebuilding, with how many calls are at it (guarded by {@link #CLAIMS}). */
    private final Map<String, Integer> starting = new java.util.HashMap<>();

    /** Set once {@link #close} begins: its names stay held until its projections have stopped. */
    private volatile boolean releasing;

    /**
     * Takes {@code name} for this runtime over its store, for a start or a rebuild about to begin ({@link
     * #started} ends it), unless another runtime holds it: one that is starting or rebuilding it, runs it (neither
     * failed nor stopped), or is closing.
     */
    private void claim(String name) {
        synchronized (CLAIMS) {
            Map<String, java.lang.ref.WeakReference<ProjectionRuntime>> names =
                    CLAIMS.computeIfAbsent(states, store -> new java.util.HashMap<>());
            names.values().removeIf(dropped -> dropped.get() == null); // runtimes dropped without a close
            java.lang.ref.WeakReference<ProjectionRuntime> held = names.get(name);
            ProjectionRuntime holder = held == null ? null : held.get();
            if (holder != null && holder != this && holder.holds(name)) {
                throw new IllegalStateException("projection '" + name + "' is already running in another"
                        + " ProjectionRuntime over this projection store: two would commit to the same states and"
                        + " checkpoint. Run each projection in one runtime per store (close the other, or stop the"
                        + " projection there, first)");
            }
            if (holder != this) {
                names.put(name, new java.lang.ref.WeakReference<>(this));
            }
            starting.merge(name, 1, Integer::sum);
        }
    }

    /** Ends what {@link #claim} began: the name stays this runtime's while its projection runs. */
    private void started(String name) {
        synchronized (CLAIMS) {
            starting.computeIfPresent(name, (key, calls) -> calls == 1 ? null : calls - 1);
        }
    }

    /** Whether this runtime holds {@code name} (under {@link #CLAIMS}'s lock): see {@link #claim}. */
    private boolean holds(String name) {
        if (releasing || starting.containsKey(name)) {
            return true;
        }
        RunningProjection<?> runner = running.get(name);
        if (runner == null) {
            return false;
        }
        ProjectionStatus.Phase phase = runner.status().phase();
        return phase != ProjectionStatus.Phase.FAILED && phase != ProjectionStatus.Phase.STOPPED;
    }

    /**
     * Rebuilds a running projection from the first event: stops it, deletes its states and checkpoint,
     * and starts it again. Returns at once; follow the rebuild with {@link #status}.
     */
    public void rebuild(String name) {
        RunningProjection<?> old;
        synchronized (this) {
            requireOpen();
            old = runner(name);
            claim(name); // the name may have gone to another runtime once this one's projection failed
        }
        try {
            // Waits for the page in hand, not under this lock: a failure listener, on the thread waited for, may
            // itself be calling start or rebuild.
            old.stop();
            synchronized (this) {
                requireOpen();
                requireStill(name, old);
                states.reset(name);
                RunningProjection<?> fresh =
                        new RunningProjection<>(old.projection(), store, states, json, this::failed);
                startListed(name, fresh);
            }
        } finally {
            started(name);
        }
    }

    /**
     * Starts {@code runner} and lists it; one whose start fails (its checkpoint unreadable, the store closed) is
     * listed as failed, with the reason, rather than as catching up for good or as the runner it replaced.
     */
    private void startListed(String name, RunningProjection<?> runner) {
        RunningProjection<?> before = running.get(name);
        try {
            runner.start();
        } catch (RuntimeException e) {
            runner.onError(e); // its failure listener may start the projection again: that one stays listed
            running.compute(name, (key, now) -> now == before ? runner : now);
            throw e;
        }
        running.put(name, runner);
    }

    /** Refuses a start or rebuild that another one overtook while the old projection stopped. */
    private void requireStill(String name, RunningProjection<?> stopped) {
        RunningProjection<?> now = running.get(name);
        if (now != stopped) {
            throw new IllegalStateException("projection '" + name + "' was started or rebuilt by another caller"
                    + " meanwhile; see its status");
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("this projection runtime is closed");
        }
    }

    /**
     * Called, on the projection's thread, with the status of every projection that fails from now on
     * (a fold that throws): for a log line or an alert. It runs before {@link #awaitPosition} returns
     * {@code false} for that failure, so keep it short. A failing listener is ignored. It may start or
     * rebuild the projection again (once the runtime is closed, both are refused).
     */
    public void onFailure(java.util.function.Consumer<ProjectionStatus> listener) {
        this.failureListener = java.util.Objects.requireNonNull(listener, "listener");
    }

    /**
     * The default failure listener: one warning on {@code System.Logger} "dev.lethe.core.projection.ProjectionRuntime"
     * with the projection, its next position and its failure as {@link ProjectionStatus#failure} says it (the
     * event type, position and exception class of a fold that threw: never its message, which may quote data).
     */
    private static void logFailure(ProjectionStatus status) {
        System.getLogger(ProjectionRuntime.class.getName())
                .log(
                        System.Logger.Level.WARNING,
                        "projection " + status.name() + " failed at position " + status.nextPosition()
                                + "; its states stay at its last checkpoint until it is started again: "
                                + status.failure().orElse("?"));
    }

    private void failed(ProjectionStatus status) {
        try {
            failureListener.accept(status);
        } catch (RuntimeException ignored) {
            // The projection has failed either way; a listener must not hide it.
        }
    }

    /** The committed state of one key, if the projection has folded any event for it. */
    public <S> Optional<S> state(Projection<S> projection, String key) {
        return states.loadState(projection.name(), key)
                .map(text -> decode(projection.name(), projection.stateType(), text));
    }

    /** The committed state of one key, as JSON; works for projections not running in this process. */
    public Optional<String> stateJson(String projection, String key) {
        return states.loadState(projection, key);
    }

    /**
     * The state a per-stream projection had for one stream as of an instant: the fold of that stream's
     * events recorded at or before {@code asOf}, computed from the log (not from stored states).
     */
    public <S> S stateAsOf(Projection<S> projection, StreamId streamId, Instant asOf) {
        requireOfItsCategory(projection, streamId);
        S state = projection.initialState();
        long from = 0;
        while (true) {
            List<RecordedEvent> page = store.readStreamAsOf(streamId, asOf, from, EventStore.MAX_READ_LIMIT);
            for (RecordedEvent event : page) {
                if (projection.handles(event)) {
                    requireKeyedByStream(projection, event);
                    state = projection.apply(state, event);
                }
            }
            if (page.size() < EventStore.MAX_READ_LIMIT) {
                return state;
            }
            from = page.get(page.size() - 1).version() + 1;
        }
    }

    /** The state of one stream as of its version {@code version}, folded from the log. */
    public <S> S stateAsOfVersion(Projection<S> projection, StreamId streamId, long version) {
        requireOfItsCategory(projection, streamId);
        S state = projection.initialState();
        for (long from = 0; from <= version; ) {
            long remaining = version - from;
            int limit = remaining >= EventStore.MAX_READ_LIMIT ? EventStore.MAX_READ_LIMIT : (int) remaining + 1;
            List<RecordedEvent> page = store.readStream(streamId, from, Direction.FORWARD, limit);
            for (RecordedEvent event : page) {
                if (projection.handles(event)) {
                    requireKeyedByStream(projection, event);
                    state = projection.apply(state, event);
                }
            }
            if (page.size() < limit) {
                break;
            }
            from += limit;
        }
        return state;
    }

    /** A state as of a time is one stream's fold: a stream the projection does not read has none. */
    private static void requireOfItsCategory(Projection<?> projection, StreamId streamId) {
        if (projection == null || streamId == null) {
            throw dev.lethe.core.store.InvalidEventException.of(
                    "as-of", projection == null ? "projection: is missing" : "stream id: is missing");
        }
        if (ProjectionBuilder.builtWithOtherKeys(projection)) {
            throw notKeyedByStream(projection);
        }
        projection
                .category()
                .filter(category -> !category.equals(streamId.category()))
                .ifPresent(category -> {
                    throw dev.lethe.core.store.InvalidEventException.of(
                            "as-of",
                            "stream '" + streamId + "' is not of projection '" + projection.name() + "''s category '"
                                    + category + "': it has no state for it");
                });
    }

    /**
     * Only a per-stream projection's state is the fold of one stream: a global or derived-key projection's
     * state folds events of many streams, and one stream's fold would be a state it never had.
     */
    private static void requireKeyedByStream(Projection<?> projection, RecordedEvent event) {
        java.util.Optional<String> key = projection.keyOf(event);
        if (key.isPresent() && !key.get().equals(event.streamId().value())) {
            throw notKeyedByStream(projection);
        }
    }

    private static dev.lethe.core.store.InvalidEventException notKeyedByStream(Projection<?> projection) {
        return dev.lethe.core.store.InvalidEventException.of(
                "as-of",
                "projection '" + projection.name() + "' keys its states by something else than the stream (a global"
                        + " or derived key): a state as of a time is folded from one stream, which is none of its"
                        + " states; read its current state instead");
    }

    public ProjectionStatus status(String name) {
        return runner(name).status();
    }

    public List<ProjectionStatus> statuses() {
        return running.values().stream().map(RunningProjection::status).toList();
    }

    /**
     * The exception that made a projection fail, as its fold (or key function) threw it, with its message
     * and stack trace: for the developer's log. {@link ProjectionStatus#failure()} names only its class and
     * the event (a message may quote the event's data, and statuses are listed and logged); this may, so
     * log it where event data may go. Empty while the projection has not failed.
     */
    public Optional<Throwable> failureCause(String name) {
        return runner(name).failureCause();
    }

    /**
     * Waits until the projection has committed every event up to {@code position}: true once it has,
     * false when the timeout passed first or the projection failed or stopped ({@link #status} tells which).
     */
    public boolean awaitPosition(String name, long position, Duration timeout) throws InterruptedException {
        return runner(name).awaitCommitted(position, timeout);
    }

    private RunningProjection<?> runner(String name) {
        RunningProjection<?> runner = running.get(name);
        if (runner == null) {
            throw InvalidEventException.of(
                    "projection",
                    "'" + name + "' was never started in this runtime; started: "
                            + new java.util.TreeSet<>(running.keySet()));
        }
        return runner;
    }

    private <S> S decode(String projection, Class<S> type, String text) {
        try {
            return json.readValue(text, type);
        } catch (IOException e) {
            throw unreadableState(projection, type, e);
        }
    }

    private final Map<Class<?>, java.util.Set<String>> written = new ConcurrentHashMap<>();

    /** What a builder builds: the type its {@code build()} returns, if it has one. */
    private static Optional<Class<?>> builtType(Class<?> builder) {
        try {
            Class<?> built = builder.getMethod("build").getReturnType();
            return built == void.class ? Optional.empty() : Optional.of(built);
        } catch (NoSuchMethodException notABuilder) {
            return Optional.empty();
        }
    }

    /** The names Jackson writes for {@code type}: its members, and what its getters derive. */
    private java.util.Set<String> writtenNames(Class<?> type) {
        return written.computeIfAbsent(
                type,
                t -> json.getSerializationConfig().introspect(json.constructType(t)).findProperties().stream()
                        .filter(com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition::couldSerialize)
                        .map(com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition::getName)
                        .collect(java.util.stream.Collectors.toUnmodifiableSet()));
    }

    /**
     * A stored state that does not read as the projection's state type: the type changed since (a member
     * removed, renamed or retyped). Names the member, never a value or a map's key: states hold data.
     */
    static dev.lethe.core.store.StorageException unreadableState(String projection, Class<?> type, IOException e) {
        String at = "";
        if (e instanceof com.fasterxml.jackson.databind.JsonMappingException mapping
                && !mapping.getPath().isEmpty()) {
            StringBuilder path = new StringBuilder();
            for (com.fasterxml.jackson.databind.JsonMappingException.Reference step : mapping.getPath()) {
                if (step.getFrom() instanceof java.util.Map<?, ?>) {
                    path.append(path.length() == 0 ? "" : ".").append("{…}"); // a key may be data (an e-mail)
                } else if (step.getFieldName() != null) {
                    // A name that is no identifier may be a key of a map the type no longer has (an e-mail).
                    String name = step.getFieldName();
                    path.append(path.length() == 0 ? "" : ".")
                            .append(
                                    name.matches("[A-Za-z_$][A-Za-z0-9_$]{0,63}")
                                                    && dev.lethe.core.privacy.policy.PolicyLinter.personalDataInName(
                                                                    name)
                                                            .isEmpty()
                                            ? name
                                            : "{…}");
                } else if (step.getIndex() >= 0) {
                    path.append('[').append(step.getIndex()).append(']');
                }
            }
            at = " at '" + path + "'";
        }
        return dev.lethe.core.store.StorageException.permanent(
                "projection '" + projection + "': a stored state does not read as " + type.getSimpleName() + at
                        + " (the state type changed since it was stored): rebuild the projection"
                        + " (ProjectionRuntime.rebuild(\"" + projection + "\"), lethe projections rebuild " + projection
                        + ") to fold its states again as " + type.getSimpleName(),
                e);
    }

    /** Stops every projection; committed states stay. */
    @Override
    public void close() {
        List<RunningProjection<?>> stopping;
        synchronized (this) {
            closed = true;
            releasing = true; // its names stay held until its projections have stopped
            stopping = new java.util.ArrayList<>(running.values());
            running.clear();
        }
        // Each waits for its page in hand, not under this lock: a failure listener, on a thread waited for, may
        // be calling start or rebuild (refused now, as the runtime is closed).
        stopping.forEach(RunningProjection::stop);
        synchronized (CLAIMS) { // once they have stopped: another runtime may take their names now
            Map<String, java.lang.ref.WeakReference<ProjectionRuntime>> names = CLAIMS.get(states);
            if (names != null) {
                names.values().removeIf(held -> held.get() == this || held.get() == null);
            }
        }
    }
}
