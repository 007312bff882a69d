package dev.lethe.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivacyCodec;
import dev.lethe.core.privacy.Redaction;
import dev.lethe.core.privacy.RevealedEvent;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.projection.Projection;
import dev.lethe.core.projection.ProjectionRuntime;
import dev.lethe.core.projection.ProjectionStatus;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * What REST and GraphQL share: reading and appending with the caller's principal, and the JSON form of
 * events, so that redaction and roles apply identically through both.
 */
final class Hub {
    /** Request bodies: numbers kept exactly (see {@link Json#exactMapper}), a member name twice refused. */
    static final ObjectMapper JSON = Json.exactMapper()
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            // Text after the body's JSON value is a mistake, not something to ignore.
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    static final int DEFAULT_LIMIT = 100;

    final SqliteLethe lethe;
    final ProjectionRuntime projections;
    final Metrics metrics;

    Hub(SqliteLethe lethe, ProjectionRuntime projections, Metrics metrics) {
        this.lethe = lethe;
        this.projections = projections;
        this.metrics = metrics;
    }

    EventStore store() {
        return lethe.store();
    }

    /**
     * Appends {@code [{"id"?, "type", "data", "metadata"?}]} for {@code principal}, whose role must be
     * one the data policy declares: a token or JWT role the policy does not know may neither read
     * personal data nor write.
     */
    AppendResult append(Principal principal, String stream, JsonNode expectedVersion, JsonNode events) {
        return append(principal, stream, expectedVersion, events, null);
    }

    /**
     * The stream, if {@code principal} may append to it: checked before a request's body is read, as well as
     * by {@link #append}.
     */
    StreamId requireMayAppend(Principal principal, String stream) {
        if (!lethe.policy().roles().containsKey(principal.role())) {
            throw new dev.lethe.core.privacy.AccessDeniedException(
                    principal, "append (role '" + principal.role() + "' is not declared in the data policy)");
        }
        StreamId streamId = StreamId.of(stream);
        if (!lethe.policy().mayAppend(principal, streamId)) {
            // Else any token could write into any customer's stream: a reader's too.
            throw new dev.lethe.core.privacy.AccessDeniedException(
                    principal,
                    "append to a stream of category '" + streamId.category() + "' (role '" + principal.role()
                            + "' may append to "
                            + lethe.policy()
                                    .roles()
                                    .get(principal.role())
                                    .appendable()
                                    .map(set -> set.isEmpty() ? "no stream" : "categories " + set)
                                    .orElse("any stream")
                            + ": its 'append' list in the data policy)");
        }
        return streamId;
    }

    /**
     * As {@link #append(Principal, String, JsonNode, JsonNode)}; {@code raw}, when given, holds each
     * event's {@code data} and {@code metadata} as the request wrote them ({@link #rawMembers}), which
     * are stored instead of the tree's serialisation: byte for byte, {@code -0.0} and {@code 1e2} too.
     */
    AppendResult append(
            Principal principal,
            String stream,
            JsonNode expectedVersion,
            JsonNode events,
            List<Map<String, byte[]>> raw) {
        StreamId streamId = requireMayAppend(principal, stream);
        if (expectedVersion != null && !expectedVersion.isValueNode()) {
            throw InvalidEventException.of(
                    "expectedVersion",
                    "must be a number or one of any, no_stream, stream_exists, not an "
                            + (expectedVersion.isArray() ? "array" : "object"));
        }
        ExpectedVersion expected = expectedVersion == null || expectedVersion.isNull()
                ? ExpectedVersion.any()
                : ExpectedVersion.parse(expectedVersion.asText());
        if (events == null || !events.isArray()) {
            throw InvalidEventException.of("events", "must be an array of {type, data, metadata?, id?}");
        }
        List<EventData> batch = new ArrayList<>();
        boolean aligned = raw != null && raw.size() == events.size();
        for (int i = 0; i < events.size(); i++) {
            batch.add(eventData(events.get(i), "events[" + i + "]", aligned ? raw.get(i) : Map.of()));
        }
        AppendResult result;
        try {
            result = lethe.privacy().append(streamId, expected, batch);
        } catch (dev.lethe.core.store.LetheException e) {
            if (e.isTransient()) {
                // A disk quota, a file size limit, an I/O error on a disk with room left: every append fails while
                // the free-space check sees nothing wrong. Readiness and the log say so after a few in a row.
                lastWriteFailure = e.getClass().getSimpleName();
                writeFailuresInARow.incrementAndGet();
            }
            throw e;
        }
        writeFailuresInARow.set(0);
        metrics.count("appended_events", batch.size());
        metrics.count("appends", 1);
        return result;
    }

    /** Appends that failed for a reason that passes (503), in a row, since the last one that succeeded. */
    final java.util.concurrent.atomic.AtomicLong writeFailuresInARow = new java.util.concurrent.atomic.AtomicLong();

    /**
     * The class of the last of them: /health/ready, which needs no token, says no more (a message may name a
     * subject or a path); the log has the message.
     */
    volatile String lastWriteFailure;

    /** From this many appends failed in a row, the server is not well: readiness says degraded, the log error. */
    static final int WRITE_FAILURES_DEGRADED = 3;

    /** What readiness says while appends keep failing, if they do. */
    java.util.Optional<String> writeProblem() {
        long failures = writeFailuresInARow.get();
        return failures < WRITE_FAILURES_DEGRADED
                ? java.util.Optional.empty()
                : java.util.Optional.of("the last " + failures + " appends failed (" + lastWriteFailure + ": the"
                        + " server log says why); they resume by themselves once the cause is fixed (a disk quota, a"
                        + " file size limit, an I/O error, the master key out of reach)");
    }

    /** A member as the request wrote it, when known, else as the tree serialises it. */
    private static Json member(JsonNode node, String name, Map<String, byte[]> raw, String where) {
        byte[] written = raw.get(name);
        if (written == null) {
            return Json.of(node.get(name));
        }
        try {
            return Json.ofBytes(written);
        } catch (InvalidEventException e) {
            throw e.at(where + "." + name);
        }
    }

    /**
     * The {@code data} and {@code metadata} of each element of a body's {@code events} array, as
     * written; null when the body is not shaped so (the tree, then, names the problem).
     */
    static List<Map<String, byte[]>> rawMembers(byte[] body) {
        try (com.fasterxml.jackson.core.JsonParser parser = JSON.getFactory().createParser(body)) {
            if (parser.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                return null;
            }
            List<Map<String, byte[]>> out = null;
            while (parser.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                com.fasterxml.jackson.core.JsonToken value = parser.nextToken();
                if (!name.equals("events") || value != com.fasterxml.jackson.core.JsonToken.START_ARRAY) {
                    parser.skipChildren();
                    continue;
                }
                out = new ArrayList<>();
                com.fasterxml.jackson.core.JsonToken element;
                while ((element = parser.nextToken()) == com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                    Map<String, byte[]> members = new java.util.HashMap<>();
                    while (parser.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                        String member = parser.currentName();
                        parser.nextToken();
                        long start = parser.currentTokenLocation().getByteOffset();
                        parser.skipChildren();
                        parser.finishToken();
                        long end = parser.currentLocation().getByteOffset();
                        if (member.equals("data") || member.equals("metadata")) {
                            members.put(member, java.util.Arrays.copyOfRange(body, (int) start, (int) end));
                        }
                    }
                    out.add(members);
                }
                if (element != com.fasterxml.jackson.core.JsonToken.END_ARRAY) {
                    return null;
                }
            }
            return out;
        } catch (IOException | RuntimeException unreadable) {
            return null; // the tree's reading names what is wrong
        }
    }

    private static EventData eventData(JsonNode node, String where, Map<String, byte[]> raw) {
        if (node == null || !node.isObject()) {
            throw InvalidEventException.of(where, "must be an object with type and data");
        }
        for (java.util.Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!List.of("type", "data", "metadata", "id").contains(name)) {
                // A misspelt "metdata" would be dropped without a word.
                throw InvalidEventException.of(
                        where,
                        "has the unknown member " + dev.lethe.core.privacy.policy.PolicyLinter.quotedName(name)
                                + "; an event has type, data, metadata and id");
            }
        }
        JsonNode type = node.get("type");
        if (type == null || !type.isTextual()) {
            throw InvalidEventException.of(where + ".type", "is missing or not a string");
        }
        if (!node.has("data")) {
            throw InvalidEventException.of(where + ".data", "is missing");
        }
        UUID id = null;
        if (node.hasNonNull("id")) {
            try {
                id = UUID.fromString(node.get("id").asText());
            } catch (IllegalArgumentException e) {
                throw InvalidEventException.of(
                        // Not repeated: a client that put an e-mail there would find it in logs of errors.
                        where + ".id", "is not a UUID (8-4-4-4-12 hexadecimal digits)");
            }
        }
        Json data = member(node, "data", raw, where);
        Json metadata = node.hasNonNull("metadata") ? member(node, "metadata", raw, where) : null;
        try {
            return new EventData(id, type.asText(), data, metadata);
        } catch (InvalidEventException e) {
            throw e.at(where + "." + e.subject());
        }
    }

    /**
     * The most bytes of events (data and metadata, as stored) one page reads: a page ends there, before its
     * limit, and says where the next begins. 10,000 events of up to 1 MiB each would otherwise be read,
     * revealed and written out in memory at once (a few such requests ran a server out of memory).
     */
    static final long PAGE_BYTES = 4L * 1024 * 1024;

    /**
     * Events are read at most this many at a time, and at first {@value #FIRST_CHUNK}: later reads take as
     * many as the sizes seen so far say fit in what the page has left, so that a page of large events
     * stops soon after {@link #PAGE_BYTES} without first reading 100 of them (90 MB of 900 KB events).
     */
    private static final int CHUNK = 100;

    private static final int FIRST_CHUNK = 8;

    /**
     * Pages read, revealed and written out at once (REST pages of events, GraphQL queries): one per 64 MiB
     * of the heap, at least one. A page holds up to {@link #PAGE_BYTES} as stored, about 10 MB of heap once
     * revealed and written as JSON, held until the client has taken it; without a bound, a few dozen
     * concurrent reads by any token, or clients that do not read, ran a server out of memory.
     */
    private final java.util.concurrent.Semaphore pageReads = new java.util.concurrent.Semaphore(
            (int) Math.max(
                    1, Math.min(256, (Runtime.getRuntime().maxMemory() - 64L * 1024 * 1024) / (64L * 1024 * 1024))),
            true);

    private final int pagePermits = pageReads.availablePermits();

    /** How many page turns a read-model state takes besides its request's: up to 16 MiB, about 100 MB of heap once read. */
    static final int STATE_PAGES = 2;

    /**
     * What one principal may hold of the page budget at once: half of it, so that one token whose clients do
     * not read (each page held until the idle timeout) cannot take every turn — but at least what one state
     * read takes: fewer turns for a state let several be read at once on a small heap, which ran one out of
     * memory (two 45 MB states at 384 MiB).
     */
    private final int pagePermitsPerPrincipal = Math.max(1 + STATE_PAGES, pagePermits / 2);

    /** Each principal's share of the page budget (one entry per principal seen, a few bytes each). */
    private final Map<String, java.util.concurrent.Semaphore> principalPages =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** The most turns one request takes: a request that would need more reads less at once (or is refused). */
    int turnsPerRequest() {
        return Math.min(pagePermits, pagePermitsPerPrincipal);
    }

    /** Runs {@code read} (a page read and written out) when a page's share of the heap is free: 503 after 10 s. */
    <T> T withPageBudget(String principal, java.util.function.Supplier<T> read) {
        return withPageBudget(principal, 1, read);
    }

    /**
     * As {@link #withPageBudget(String, java.util.function.Supplier)}, taking {@code pages} turns (at most
     * {@link #turnsPerRequest}) at once, before anything is read: a request that took some and waited for
     * more while holding them could wait on another that does the same.
     */
    <T> T withPageBudget(String principal, int pages, java.util.function.Supplier<T> read) {
        int turns = Math.max(1, Math.min(pages, turnsPerRequest()));
        java.util.concurrent.Semaphore mine = principalPages.computeIfAbsent(
                principal, p -> new java.util.concurrent.Semaphore(pagePermitsPerPrincipal, true));
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        try {
            if (!mine.tryAcquire(turns, 10, java.util.concurrent.TimeUnit.SECONDS)) {
                throw busy("principal " + principal + " is reading as much at once already as its share of this"
                        + " server's memory allows (" + pagePermitsPerPrincipal + " page turns): try again shortly");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw busy("interrupted while waiting for a page turn");
        }
        try {
            boolean acquired;
            try {
                acquired = pageReads.tryAcquire(
                        turns, Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                acquired = false;
            }
            if (!acquired) {
                throw busy("too many pages of events are being read at once for this server's memory: try again"
                        + " shortly");
            }
            try {
                return read.get();
            } finally {
                pageReads.release(turns);
            }
        } finally {
            mine.release(turns);
        }
    }

    private static ApiException busy(String detail) {
        return new ApiException(503, "Service unavailable", detail).retryAfter(2);
    }

    /** A page read, and whether it ended at {@link #PAGE_BYTES} before its limit (more may follow). */
    record Page(List<RevealedEvent> events, boolean cut) {}

    /**
     * The events {@code keep} accepts among up to {@code limit} read, {@value #CHUNK} at a time from {@code
     * from}, until those kept hold {@link #PAGE_BYTES}: {@code read} reads n events from a place, {@code
     * nextOf} is the place after an event (negative: none).
     */
    private static Bounded bounded(
            long from,
            int limit,
            java.util.function.BiFunction<Long, Integer, List<RecordedEvent>> read,
            java.util.function.ToLongFunction<RecordedEvent> nextOf,
            java.util.function.Predicate<RecordedEvent> keep) {
        List<RecordedEvent> events = new ArrayList<>(Math.min(limit, CHUNK));
        long bytes = 0;
        long readBytes = 0; // of every event read, kept or not: what a chunk costs
        long next = from;
        int readCount = 0;
        while (readCount < limit) {
            long average = readCount == 0 ? 0 : Math.max(1, readBytes / readCount);
            int fits =
                    average == 0 ? FIRST_CHUNK : (int) Math.min(CHUNK, Math.max(1, (PAGE_BYTES - bytes) / average + 1));
            int chunk = Math.min(fits, limit - readCount);
            List<RecordedEvent> part = read.apply(next, chunk);
            for (RecordedEvent event : part) {
                readCount++;
                long size = event.data().size() + event.metadata().size();
                readBytes += size;
                if (!keep.test(event)) {
                    continue;
                }
                events.add(event);
                bytes += size;
                if (bytes >= PAGE_BYTES && readCount < limit) {
                    return new Bounded(events, true);
                }
            }
            if (part.size() < chunk) {
                break;
            }
            next = nextOf.applyAsLong(part.get(part.size() - 1));
            if (next < 0) {
                break;
            }
        }
        return new Bounded(events, false);
    }

    private record Bounded(List<RecordedEvent> events, boolean cut) {}

    /**
     * A page of a stream: the events {@code keep} accepts, revealed (the others' keys are not released),
     * and whether the page ended at {@link #PAGE_BYTES}.
     */
    Page readStreamPage(
            String stream,
            long from,
            int limit,
            Direction direction,
            String asOf,
            Principal who,
            java.util.function.Predicate<RecordedEvent> keep) {
        StreamId streamId = StreamId.of(stream);
        java.time.Instant instant = asOf == null ? null : parseInstant("asOf", asOf);
        Bounded read = bounded(
                from,
                limit,
                (at, n) -> instant == null
                        ? lethe.store().readStream(streamId, at, direction, n)
                        : lethe.store().readStreamAsOf(streamId, instant, at, n),
                event -> direction == Direction.FORWARD ? event.version() + 1 : event.version() - 1,
                keep);
        return new Page(reveal(read.events(), who), read.cut());
    }

    /** A page of the log or one category, revealed. */
    List<RevealedEvent> readLog(String category, long from, int limit, Principal who) {
        return readLogPage(category, from, limit, who, event -> true).events();
    }

    /**
     * A page of the log or one category: the events {@code keep} accepts, revealed (the others' keys are
     * not released), and whether the page ended at {@link #PAGE_BYTES}.
     */
    Page readLogPage(
            String category, long from, int limit, Principal who, java.util.function.Predicate<RecordedEvent> keep) {
        Bounded read = bounded(
                from,
                limit,
                (at, n) -> category == null
                        ? lethe.store().readAll(at, n)
                        : lethe.store().readCategory(category, at, n),
                event -> event.position() + 1,
                keep);
        return new Page(reveal(read.events(), who), read.cut());
    }

    /** Counts a forget done over HTTP or GraphQL, and logs it: ids only, as both answer it. */
    void forgotten(dev.lethe.core.privacy.keys.ErasureReceipt receipt, JsonLog log) {
        metrics.count("forgets", 1);
        log.info(
                "subject forgotten",
                Map.of(
                        "subject",
                        receipt.subject().toString(),
                        "receipt",
                        receipt.id().toString()));
    }

    /** Logs a forget scheduled, through REST or GraphQL alike; returns it. */
    dev.lethe.core.privacy.PrivateEventStore.ScheduledForget scheduled(
            dev.lethe.core.privacy.PrivateEventStore.ScheduledForget schedule, JsonLog log) {
        log.info(
                "forget scheduled",
                Map.of(
                        "subject",
                        schedule.subject().toString(),
                        "schedule",
                        schedule.id(),
                        "at",
                        schedule.at().toString()));
        return schedule;
    }

    /** Logs a scheduled forget cancelled, through REST or GraphQL alike; returns it. */
    dev.lethe.core.privacy.PrivateEventStore.CancelledForget cancelled(
            dev.lethe.core.privacy.PrivateEventStore.CancelledForget cancel, JsonLog log) {
        log.info(
                "scheduled forget cancelled",
                Map.of(
                        "schedule",
                        cancel.scheduleId(),
                        "subject",
                        cancel.subject().toString()));
        return cancel;
    }

    List<RevealedEvent> reveal(List<RecordedEvent> events, Principal who) {
        metrics.count("read_events", events.size());
        List<RevealedEvent> out = new ArrayList<>(events.size());
        for (RecordedEvent event : events) {
            out.add(lethe.privacy().reveal(event, who));
        }
        return out;
    }

    static ObjectNode eventJson(RevealedEvent revealed) {
        return dev.lethe.server.EventJson.of(revealed);
    }

    static ArrayNode redactions(List<Redaction> redactions) {
        return dev.lethe.server.EventJson.redactions(redactions);
    }

    static ObjectNode appendJson(AppendResult result) {
        ObjectNode node = JSON.createObjectNode();
        node.put("stream", result.streamId().value());
        node.put("firstVersion", result.firstVersion());
        node.put("lastVersion", result.lastVersion());
        node.put("firstPosition", result.firstPosition());
        node.put("lastPosition", result.lastPosition());
        return node;
    }

    ArrayNode schemasJson() {
        ArrayNode array = JSON.createArrayNode();
        for (SchemaRegistry.Registered registered : lethe.privacy().schemas().all()) {
            ObjectNode node = array.addObject();
            node.put("name", registered.eventType());
            node.put("version", registered.version());
            node.put("notation", registered.notation().name());
            ArrayNode fields = node.putArray("fields");
            registered.schema().fields().forEach(f -> {
                ObjectNode field = fields.addObject()
                        .put("path", f.path())
                        .put("pii", f.personal())
                        .put("key", f.subjectKey());
                f.group().ifPresentOrElse(g -> field.put("dataGroup", g.name()), () -> field.putNull("dataGroup"));
            });
            node.set("source", registered.source().asTree());
        }
        return array;
    }

    /** The most keys one page of {@link #projectionKeys} lists. */
    static final int MAX_KEYS_PAGE = 1_000;

    /** The characters of keys after which a page of {@link #projectionKeys} stops (its first key is always listed). */
    static final long KEYS_PAGE_CHARS = 1 << 20;

    /**
     * A page of a read model's keys, in key order, after {@code after} (exclusive; null: from the first), with
     * {@code next} (the last key listed, to pass as {@code after}) when more follow: for a screen that lists what
     * it can show. Keys are stream ids, or what a keyed projection's fold chose (a key made of sealed text is
     * ciphertext, and warned of by the runtime); as the command line's {@code projections show NAME}, any role may
     * list them.
     */
    ObjectNode projectionKeys(String name, String after, Integer limit) {
        int max = limit == null ? DEFAULT_LIMIT : limit;
        if (max < 1 || max > MAX_KEYS_PAGE) {
            throw InvalidEventException.of("limit", max + " is outside 1.." + MAX_KEYS_PAGE);
        }
        boolean known = lethe.projections().list().stream()
                        .anyMatch(p -> p.name().equals(name))
                || projections.statuses().stream().anyMatch(p -> p.name().equals(name));
        if (!known) {
            throw ApiException.notFound("projection '" + name + "' does not exist (GET /v1/projections lists them)");
        }
        List<String> keys = lethe.projections().keys(name, after, max + 1);
        ObjectNode node = JSON.createObjectNode();
        node.put("name", name);
        com.fasterxml.jackson.databind.node.ArrayNode listed = node.putArray("keys");
        // Keys have no length limit (a keyed projection's fold chooses them): a page stops at about 1 MiB of them.
        long chars = 0;
        int taken = 0;
        while (taken < Math.min(max, keys.size())
                && (taken == 0 || chars + keys.get(taken).length() <= KEYS_PAGE_CHARS)) {
            chars += keys.get(taken).length();
            listed.add(keys.get(taken++));
        }
        node.put("next", keys.size() > taken ? keys.get(taken - 1) : null);
        return node;
    }

    /**
     * A projection's state of one key, with personal values opened for the caller; read within the page
     * budget, {@value #STATE_PAGES} turns more than a page (a state is up to 16 MiB).
     */
    ObjectNode projectionState(String name, String key, Principal who) {
        // Read before the state: the state read after it folds at least the events before this checkpoint.
        var stored = lethe.projections().list().stream()
                .filter(p -> p.name().equals(name))
                .findFirst();
        var running = projections.statuses().stream()
                .filter(p -> p.name().equals(name))
                .findFirst();
        if (stored.isEmpty() && running.isEmpty()) {
            throw ApiException.notFound("projection '" + name + "' does not exist (GET /v1/projections lists them)");
        }
        long head = lethe.store().headPosition();
        // The running read model's is where its committed states are complete to (events of other categories
        // passed since its last commit included), never beyond what is stored.
        long checkpoint = Math.max(
                stored.map(p -> p.nextPosition()).orElse(0L),
                running.map(ProjectionStatus::nextPosition).orElse(0L));
        String state = lethe.projections()
                .loadState(name, key)
                .orElseThrow(() -> ApiException.notFound("projection '" + name
                        + "' has no state for this key (keys are stream ids for per-stream projections, '"
                        + Projection.GLOBAL_KEY
                        + "' for a global one)"));
        PrivacyCodec.RevealedState revealed = lethe.privacy().revealState(Json.parse(state), who);
        ObjectNode node = JSON.createObjectNode();
        node.put("name", name);
        node.put("key", key);
        node.set("state", revealed.state().asTree());
        node.set("redacted", redactions(revealed.redactions()));
        // How fresh it is, so that a dashboard can tell a state still catching up from a final one: it folds
        // at least the log's events before `checkpoint`; `lag` events of the log (of any category) were not
        // yet looked at when it was read; `phase` is the read model's in this server ("stored" when not run).
        node.put("checkpoint", checkpoint);
        // States not folded from this log (a read model restored from another copy) have no lag to give.
        dev.lethe.core.subscription.CheckpointFit fit =
                stored.map(p -> p.fit(lethe.store())).orElse(dev.lethe.core.subscription.CheckpointFit.FITS);
        node.put("fit", fit.name());
        if (fit == dev.lethe.core.subscription.CheckpointFit.FITS) {
            node.put("lag", Math.max(0, head + 1 - checkpoint));
        } else {
            node.putNull("lag");
        }
        node.put("phase", running.map(p -> p.phase().name()).orElse("stored"));
        return node;
    }

    List<RevealedEvent> audit(int limit, Principal who) {
        long count =
                lethe.store().streamInfo(dev.lethe.core.privacy.AuditLog.STREAM).eventCount();
        long from = Math.max(0, count - limit);
        return reveal(
                lethe.store().readStream(dev.lethe.core.privacy.AuditLog.STREAM, from, Direction.FORWARD, limit), who);
    }

    /**
     * Refuses a log position past the head's next: a position from another store, or kept from before the log was
     * restored from an older copy, would otherwise read an empty page for ever and then, once the log grows, other
     * events than the client thinks (as a subscription's {@code from}, which is refused alike).
     */
    static long logFrom(EventStore store, long from) {
        long head = store.headPosition();
        if (from > head + 1) {
            throw InvalidEventException.of(
                    "from",
                    from + " is past the log's head (" + head + "): read from at most " + (head + 1)
                            + " (a position kept from before the log was restored from an older copy, or from another"
                            + " store?)");
        }
        return from;
    }

    static int limit(Integer limit) {
        if (limit == null) {
            return DEFAULT_LIMIT;
        }
        if (limit < 1 || limit > EventStore.MAX_READ_LIMIT) {
            throw InvalidEventException.of("limit", limit + " is outside 1.." + EventStore.MAX_READ_LIMIT);
        }
        return limit;
    }

    /**
     * What retention runs will destroy, and when (as {@code lethe retention plan}): every live period key
     * with the end of its retention and whether a run as of {@code now} (default: now) destroys it; the
     * scheduled forgets due by then, for a role with the forget permission (else absent). Destroys nothing.
     */
    Map<String, Object> retentionPlan(String nowText, Principal who) {
        Instant now = nowText == null ? Instant.now() : parseInstant("now", nowText);
        Map<String, Object> plan = new java.util.LinkedHashMap<>();
        plan.put("now", now.toString());
        plan.put(
                "periodKeys",
                lethe.privacy().keys().periodExpiries().stream()
                        .map(key -> key.asMap(now))
                        .toList());
        if (lethe.policy().may(who, dev.lethe.core.privacy.policy.DataPolicy.Permission.FORGET)) {
            plan.put(
                    "scheduledForgetsDue",
                    lethe.privacy().scheduledForgets(null, who).stream()
                            .filter(schedule -> !schedule.at().isAfter(now))
                            .map(dev.lethe.core.privacy.PrivateEventStore.ScheduledForget::asMap)
                            .toList());
        }
        return plan;
    }

    /** An ISO-8601 instant, or a date meaning the end of that day (UTC). */
    static Instant parseInstant(String name, String text) {
        // One parser for the command line and HTTP: an instant, a date-time with offset, or a date (its end).
        return dev.lethe.server.Instants.parse(name, text);
    }
}
