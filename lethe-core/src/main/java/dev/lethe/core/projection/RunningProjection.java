package dev.lethe.core.projection;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lethe.core.projection.ProjectionStatus.Phase;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.subscription.BatchListener;
import dev.lethe.core.subscription.CheckpointFit;
import dev.lethe.core.subscription.Subscription;
import dev.lethe.core.subscription.SubscriptionRequest;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One projection's subscription and fold. States being folded live in a bounded cache; changed ones
 * are committed with the checkpoint after every page once live, and every {@value #CATCH_UP_COMMIT_EVENTS}
 * events or {@value #CATCH_UP_COMMIT_MILLIS} ms while catching up (fewer, larger transactions make a
 * rebuild fast; a crash only costs a refold since the last commit).
 */
final class RunningProjection<S> implements BatchListener {
    static final int CATCH_UP_COMMIT_EVENTS = 50_000;
    static final long CATCH_UP_COMMIT_MILLIS = 1_000;
    private static final int CACHE_ENTRIES = 100_000;
    private static final int PAGE_SIZE = 2_000;

    private final Projection<S> projection;
    private final EventStore store;
    private final ProjectionStore states;
    private final ObjectMapper json;
    private final Map<String, S> cache = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, S> eldest) {
            return size() > CACHE_ENTRIES && !dirty.containsKey(eldest.getKey());
        }
    };
    private final Map<String, S> dirty = new HashMap<>();
    private final Object committedMonitor = new Object();
    private volatile long committedNext;
    /** Committed, or skipped as irrelevant since the last commit: what queries can rely on. */
    private volatile long reachedNext;

    private volatile boolean live;
    private volatile String failure;
    /** Set, under {@code committedMonitor}, once the failure listener has run: waiters return then. */
    private boolean failureAnnounced;

    private volatile Throwable failureCause;
    private final java.util.function.Consumer<ProjectionStatus> onFailure;
    private volatile boolean stopped;
    private long pendingNext;
    /** The last event delivered or read, whose witness a commit at the position after it records. */
    private long lastSeenPosition = -1;

    /** Its witness, worked out when a commit needs it (null until then, or when it is read from the log). */
    private String lastSeenWitness;

    private RecordedEvent lastSeenEvent;
    private int pendingEvents;
    private long lastCommitNanos = System.nanoTime();
    private Subscription subscription;

    RunningProjection(
            Projection<S> projection,
            EventStore store,
            ProjectionStore states,
            ObjectMapper json,
            java.util.function.Consumer<ProjectionStatus> onFailure) {
        this.onFailure = onFailure;
        this.projection = projection;
        this.store = store;
        this.states = states;
        this.json = json;
    }

    Projection<S> projection() {
        return projection;
    }

    void start() {
        long from = states.checkpoint(projection.name()).orElse(0);
        String before = states.checkpointEvent(projection.name()).orElse(null);
        CheckpointFit fit = CheckpointFit.of(from, before, store);
        if (fit != CheckpointFit.FITS) {
            // The read model was restored from another copy than the log (or the log from an older one):
            // its states fold events the log does not hold, and new events would either get positions
            // below its checkpoint (ahead) or sit among positions it believes folded (another history),
            // and never reach it. Rebuild it from the log instead.
            String why = fit == CheckpointFit.AHEAD
                    ? "is ahead of the log (checkpoint " + from + ", head " + store.headPosition() + ")"
                    : "was folded from another history than this log's (the event at position " + (from - 1)
                            + " is not the one it folded up to)";
            System.getLogger(RunningProjection.class.getName())
                    .log(
                            System.Logger.Level.WARNING,
                            "projection " + projection.name() + " " + why + ": rebuilding it from the start");
            states.reset(projection.name());
            from = 0;
            before = null;
        }
        lastSeenPosition = from - 1;
        lastSeenWitness = before;
        committedNext = from;
        reachedNext = from;
        pendingNext = from;
        SubscriptionRequest request = projection
                .category()
                .map(SubscriptionRequest::categoryFromStart)
                .orElse(SubscriptionRequest.allFromStart())
                .from(from)
                .pageSize(PAGE_SIZE);
        subscription = store.subscribeBatches(request, this);
    }

    @Override
    public void onBatch(List<RecordedEvent> events) {
        for (RecordedEvent event : events) {
            if (stopped) {
                // Stopped (closed, rebuilt): nothing more is folded or committed — a rebuild's fresh runner may
                // already be folding from the start. What is not committed is folded again at the next start.
                dirty.clear();
                return;
            }
            if (projection.handles(event)) {
                fold(event);
            }
        }
        if (stopped) {
            return;
        }
        RecordedEvent last = events.get(events.size() - 1);
        lastSeenPosition = last.position();
        lastSeenEvent = last;
        lastSeenWitness = null;
        pendingNext = last.position() + 1;
        pendingEvents += events.size();
        boolean due = pendingEvents >= CATCH_UP_COMMIT_EVENTS
                || System.nanoTime() - lastCommitNanos > CATCH_UP_COMMIT_MILLIS * 1_000_000;
        if (live || due) {
            commit();
        }
    }

    /** What made the projection fail: the exception its fold or key function threw, as thrown. */
    Optional<Throwable> failureCause() {
        return Optional.ofNullable(failureCause);
    }

    /** A fold that threw, with the event it was folding: the failure an operator needs to see. */
    private static final class FoldFailed extends RuntimeException {
        FoldFailed(String step, RecordedEvent event, Throwable cause) {
            // Not the cause's message: it may quote the event's data, and this is logged and listed.
            super(
                    step + " " + event.type() + " at position " + event.position() + " threw "
                            + cause.getClass().getName(),
                    cause);
        }

        private FoldFailed(String message, Throwable cause) {
            super(message, cause);
        }

        /** A fault Lethe found itself (the fold threw nothing): said in Lethe's own words, which quote no data. */
        static FoldFailed found(String step, RecordedEvent event, RuntimeException fault) {
            return new FoldFailed(
                    step + " " + event.type() + " at position " + event.position() + ": " + fault.getMessage(), fault);
        }
    }

    /**
     * A key function or fold that threw, as the failure reported: an {@code Error} too (an {@code
     * AssertionError}, a {@code StackOverflowError}), whose message must not be reported either — but not an
     * {@code OutOfMemoryError}, which concerns the process, not the event.
     */
    private static FoldFailed failed(String step, RecordedEvent event, Throwable thrown) {
        if (thrown instanceof OutOfMemoryError oom) {
            throw oom;
        }
        return new FoldFailed(step, event, thrown);
    }

    private void fold(RecordedEvent event) {
        Optional<String> key;
        try {
            key = projection.keyOf(event);
        } catch (RuntimeException | Error e) {
            throw failed("keying", event, e);
        }
        if (key.isEmpty()) {
            return;
        }
        S state = cache.get(key.get());
        if (state == null) {
            state = states.loadState(projection.name(), key.get())
                    .map(this::decode)
                    .orElse(projection.initialState());
        }
        S next;
        try {
            next = projection.apply(state, event);
        } catch (RuntimeException | Error e) {
            throw failed("folding", event, e);
        }
        if (Thread.interrupted() && !stopped) {
            // Only close() interrupts this thread, and only while it waits for events: the fold did. Said here,
            // not later as a storage read "interrupted while waiting for a connection".
            throw FoldFailed.found(
                    "folding",
                    event,
                    new IllegalStateException("the fold left its thread interrupted; a fold must not interrupt it"));
        }
        if (next == null) {
            // Stored as null, it would reach the next fold as its state: a bug of the fold, said where it is.
            throw FoldFailed.found(
                    "folding",
                    event,
                    new NullPointerException("the fold returned null; a fold returns the next state"));
        }
        cache.put(key.get(), next);
        dirty.put(key.get(), next);
    }

    @Override
    public void onCaughtUp(long lastPosition) {
        // The subscription may have skipped past events of other categories: record that too.
        pendingNext = Math.max(pendingNext, lastPosition + 1);
        // LIVE is set with the commit, before the waiters it wakes: whoever sees LIVE finds every state
        // folded so far stored. (A waiter woken earlier, by a commit made while catching up, may still
        // read CATCHING_UP: awaitPosition promises the states, not the phase.)
        commit(true);
    }

    @Override
    public void onProgress(long nextPosition) {
        if (stopped) {
            return;
        }
        pendingNext = Math.max(pendingNext, nextPosition);
        if (!dirty.isEmpty() || !live) {
            return;
        }
        // Nothing folded since the last commit: the skipped events do not concern this projection.
        if (System.nanoTime() - lastCommitNanos > CATCH_UP_COMMIT_MILLIS * 1_000_000) {
            commit();
        } else {
            synchronized (committedMonitor) {
                reachedNext = pendingNext;
                committedMonitor.notifyAll();
            }
        }
    }

    @Override
    public void onError(Throwable error) {
        failureCause = error instanceof FoldFailed ? error.getCause() : error;
        failure = error instanceof FoldFailed
                ? error.getMessage()
                : error.getClass().getSimpleName() + ": " + error.getMessage();
        // Uncommitted folds are dropped; a restart refolds them from the committed checkpoint.
        cache.clear();
        dirty.clear();
        // The listener (an alert) runs before the waiters wake: whoever sees the failure in awaitPosition
        // knows the alert has been raised.
        onFailure.accept(status());
        synchronized (committedMonitor) {
            failureAnnounced = true;
            committedMonitor.notifyAll();
        }
    }

    private void commit() {
        commit(false);
    }

    private void commit(boolean caughtUp) {
        if (stopped) {
            // A page left part-folded by a stop: its states must not be stored with a checkpoint past events it
            // never folded (the subscription may still report progress before it sees that it is closed).
            return;
        }
        if (pendingNext == committedNext && dirty.isEmpty()) {
            if (caughtUp) {
                live = true;
            }
            return;
        }
        Map<String, String> encoded = new HashMap<>(dirty.size() * 2);
        dirty.forEach((key, state) -> {
            String text = encode(state);
            if (text.length() > MAX_STATE_CHARS) {
                // Every read of it, and every commit, would hold it whole: a few such states ran a server out of
                // memory. The key is not named: it may be personal data (an e-mail).
                throw new IllegalStateException("projection '" + projection.name() + "': the state of one key is "
                        + text.length() + " characters of JSON, over the limit of " + MAX_STATE_CHARS
                        + ": keep each key's state small (key it finer, keep counts or the last few items rather than"
                        + " every value), then rebuild it");
            }
            noteSealedTextOutsidePersonalValues(key, text);
            encoded.put(key, text);
        });
        commitRetrying(encoded);
        dirty.clear();
        pendingEvents = 0;
        lastCommitNanos = System.nanoTime();
        synchronized (committedMonitor) {
            committedNext = pendingNext;
            reachedNext = pendingNext;
            if (caughtUp) {
                live = true;
            }
            committedMonitor.notifyAll();
        }
    }

    /** The largest state one key may have, as JSON: 16 Mi characters. */
    public static final int MAX_STATE_CHARS = 16 * 1024 * 1024;

    /** How often a commit that the storage keeps refusing is said again in the log. */
    static final Duration COMMIT_RETRY_REMINDER = Duration.ofMinutes(5);

    /**
     * How long a commit refused for another reason that may pass than a full disk (a busy file, another
     * process holding projections.db's write lock, an I/O error) is tried again before the projection fails,
     * so that a failing disk is reported, not retried without end.
     */
    static final Duration COMMIT_RETRY = Duration.ofMinutes(5);

    /** Whether the storage refused for want of space: passes once space is freed, however late. */
    private static boolean diskFull(dev.lethe.core.store.StorageException e) {
        String message = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
        return message.contains("sqlite_full")
                || message.contains("disk is full")
                || message.contains("disk full")
                || message.contains("no space left");
    }

    /**
     * Commits, trying again when the storage refuses it for a reason that may pass ({@link
     * dev.lethe.core.store.StorageException#isTransient()}): until it can (or the projection stops) for a full
     * disk, so that space freed, however late, does not leave a read model failed until a restart; for up to
     * {@link #COMMIT_RETRY} for another (a busy file, an I/O error), then the projection fails and says why.
     * The states and checkpoint are still in memory, so a commit that fails changes nothing. Meanwhile no
     * event is folded (its lag grows), its status says why, and the log says so again every {@link
     * #COMMIT_RETRY_REMINDER}. A failure that will not pass (a corrupt file, a store open only to read) fails
     * the projection at once.
     */
    private void commitRetrying(Map<String, String> encoded) {
        long remindAt = System.nanoTime() + COMMIT_RETRY_REMINDER.toNanos();
        long deadline = System.nanoTime() + COMMIT_RETRY.toNanos();
        long pause = 250;
        for (int attempt = 1; ; attempt++) {
            try {
                // The witness may have to be read from the log: a read that may fail and pass, as the commit.
                states.commit(projection.name(), encoded, pendingNext, eventBefore(pendingNext));
                if (attempt > 1) {
                    retrying = null;
                    System.getLogger(RunningProjection.class.getName())
                            .log(
                                    System.Logger.Level.INFO,
                                    "projection " + projection.name() + " committed again, after " + attempt
                                            + " attempts");
                }
                return;
            } catch (dev.lethe.core.store.StorageException e) {
                if (!e.isTransient() || stopped || (!diskFull(e) && System.nanoTime() > deadline)) {
                    throw e;
                }
                if (attempt == 1 || System.nanoTime() > remindAt) {
                    remindAt = System.nanoTime() + COMMIT_RETRY_REMINDER.toNanos();
                    System.getLogger(RunningProjection.class.getName())
                            .log(
                                    System.Logger.Level.WARNING,
                                    "projection " + projection.name() + " cannot commit (" + e.getMessage()
                                            + "): trying again every 10 s at most, "
                                            + (diskFull(e)
                                                    ? "until space is freed"
                                                    : "for up to " + COMMIT_RETRY.toMinutes() + " minutes")
                                            + " (attempt " + attempt + ")");
                }
                retrying = "cannot commit, trying again: " + e.getMessage();
                try {
                    for (long slept = 0; slept < pause && !stopped; slept += 50) {
                        Thread.sleep(50);
                    }
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                pause = Math.min(pause * 2, 10_000);
            }
        }
    }

    /** Why commits are being tried again, while they are (shown as the status's failure, phase unchanged). */
    private volatile String retrying;

    /**
     * The witness of the event at {@code next - 1} ({@link CheckpointFit#witness}): the last one delivered, or, when the subscription has
     * since skipped past events of other categories, read from the log (one event, at most once a
     * commit).
     */
    private String eventBefore(long next) {
        if (next == 0) {
            return null;
        }
        if (lastSeenPosition != next - 1) {
            List<RecordedEvent> before = store.readAll(next - 1, 1);
            if (before.isEmpty() || before.get(0).position() != next - 1) {
                return null; // not readable (the store closing): the next commit records it
            }
            lastSeenPosition = next - 1;
            lastSeenEvent = before.get(0);
            lastSeenWitness = null;
        }
        if (lastSeenWitness == null) {
            lastSeenWitness = CheckpointFit.witness(store, lastSeenEvent);
        }
        return lastSeenWitness;
    }

    boolean awaitCommitted(long position, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (committedMonitor) {
            while (reachedNext <= position && !failureAnnounced && !stopped) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    return false;
                }
                committedMonitor.wait(Math.max(1, remaining / 1_000_000));
            }
            return reachedNext > position;
        }
    }

    ProjectionStatus status() {
        Phase phase = failure != null ? Phase.FAILED : stopped ? Phase.STOPPED : live ? Phase.LIVE : Phase.CATCHING_UP;
        return new ProjectionStatus(
                projection.name(),
                phase,
                reachedNext,
                store.headPosition(),
                Optional.ofNullable(failure != null ? failure : retrying));
    }

    void stop() {
        stopped = true;
        if (subscription != null) {
            subscription.close();
        }
        synchronized (committedMonitor) {
            committedMonitor.notifyAll();
        }
    }

    /** States that held sealed text checked so far for some outside a {@code PersonalValue} (at most the first 64). */
    private int sealedTextChecks;

    private static final int SEALED_TEXT_CHECKS = 64;

    /**
     * Warns, once, of a state (the first 64 that hold any sealed text) that keeps a personal field's stored value
     * outside a {@link dev.lethe.core.privacy.PersonalValue}, or is keyed by one: a fold copied, keyed by or computed
     * with it. There, no role can open it (it is not bound to its event and path), every role reads sealed text, and a
     * forget does not make it read as forgotten. Neither the value nor a name that may be personal is logged.
     */
    private void noteSealedTextOutsidePersonalValues(String key, String text) {
        if (sealedTextChecks >= SEALED_TEXT_CHECKS
                || !(text.contains(dev.lethe.core.privacy.Envelope.PREFIX)
                        || key.startsWith(dev.lethe.core.privacy.Envelope.PREFIX))) {
            return;
        }
        sealedTextChecks++;
        String where;
        if (key.startsWith(dev.lethe.core.privacy.Envelope.PREFIX)) {
            where = "its states are keyed by it";
        } else {
            try {
                where = sealedTextAt(
                        json.readTree(text), "state", projection.stateType().isRecord());
            } catch (JsonProcessingException e) {
                return; // written by the same mapper a moment ago; not this check's to report
            }
        }
        if (where == null) {
            return;
        }
        sealedTextChecks = SEALED_TEXT_CHECKS;
        System.getLogger(RunningProjection.class.getName())
                .log(
                        System.Logger.Level.WARNING,
                        "projection '" + projection.name() + "' keeps a personal field's sealed text outside a"
                                + " PersonalValue (" + where + "): a fold copied, keyed by or computed with the value"
                                + " as stored. There no role can open it, every role reads sealed text, and a forget"
                                + " does not show it as forgotten; keep it as PersonalValue.of(event, path), which"
                                + " reveals it at query time (docs/java-api.md §7), then rebuild the projection");
    }

    /** Where in {@code node} sealed text stands outside a {@code PersonalValue}: a path, or null for nowhere. */
    private static String sealedTextAt(com.fasterxml.jackson.databind.JsonNode node, String where, boolean record) {
        if (dev.lethe.core.privacy.PersonalValue.looksLikeOne(node)) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText().startsWith(dev.lethe.core.privacy.Envelope.PREFIX) ? "at " + where : null;
        }
        java.util.Iterator<Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>> members = node.fields();
        while (members.hasNext()) {
            Map.Entry<String, com.fasterxml.jackson.databind.JsonNode> member = members.next();
            String name = member.getKey();
            // Only a record state's own components are named: other names may be a map's keys (a customer's name).
            String inner = where.equals("state") && record
                    ? where + "."
                            + (dev.lethe.core.privacy.policy.PolicyLinter.showable(name) ? name : "(a name not shown)")
                    : where.endsWith(".…") ? where : where + ".…";
            if (name.startsWith(dev.lethe.core.privacy.Envelope.PREFIX)) {
                return "as a member name in " + where;
            }
            String found = sealedTextAt(member.getValue(), inner, record);
            if (found != null) {
                return found;
            }
        }
        for (int i = 0; node.isArray() && i < node.size(); i++) {
            String found = sealedTextAt(node.get(i), where + "[" + i + "]", record);
            if (found != null) {
                return found;
            }
        }
        return null;
    }

    private String encode(S state) {
        try {
            return json.writeValueAsString(state);
        } catch (JsonProcessingException e) {
            // An accessor's or serializer's own exception may quote the state it failed on (personal data), and
            // application code raises Jackson's own too (a serializer's JsonMappingException naming the value): its
            // class only, as the failure is shown to operators and logged; only Jackson's account of a type it
            // cannot write (InvalidDefinitionException) is quoted.
            Throwable cause = e.getCause();
            String why = e instanceof com.fasterxml.jackson.databind.exc.InvalidDefinitionException
                    ? e.getOriginalMessage()
                    : "writing it threw "
                            + (cause != null && !(cause instanceof JsonProcessingException) ? cause : e)
                                    .getClass()
                                    .getName();
            throw new IllegalStateException(
                    "projection '" + projection.name() + "': state cannot be written as JSON: " + why, e);
        }
    }

    private S decode(String text) {
        try {
            return json.readValue(text, projection.stateType());
        } catch (IOException e) {
            throw ProjectionRuntime.unreadableState(projection.name(), projection.stateType(), e);
        }
    }
}
