package dev.lethe.core.privacy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The audit trail: forgets, exports, key rotations, retention runs, policy changes and key releases,
 * appended to the system stream {@value #STREAM_NAME}. Entries name principals, roles, groups and
 * pseudonyms — never personal data. Key releases are recorded per principal and data group, at most
 * once per {@link #KEY_RELEASE_WINDOW}, not per event.
 */
public final class AuditLog {
    public static final String STREAM_NAME = "$audit";
    public static final StreamId STREAM = StreamId.of(STREAM_NAME);
    public static final Duration KEY_RELEASE_WINDOW = Duration.ofHours(1);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final EventStore store;
    private final Clock clock;
    private final Map<Release, Instant> lastRelease = new ConcurrentHashMap<>();
    /** One lock per principal and group, held while its release is written (releases of others go on). */
    private final Map<Release, Object> writing = new ConcurrentHashMap<>();

    private record Release(Principal principal, DataGroup group) {}

    public AuditLog(EventStore store, Clock clock) {
        this.store = store;
        this.clock = clock;
    }

    /**
     * Records an entry of the given type; {@code details} are string or number values, and hold no
     * personal data: the entry is written as given, never sealed (the raw log's guard lets Lethe's own
     * entries by, whatever schemas exist).
     */
    public void record(String type, Principal principal, Map<String, ?> details) {
        List<EventData> entry = List.of(entry(type, principal, details)); // built before the hand-over
        RawLog.handOver(() -> store.append(STREAM, ExpectedVersion.any(), entry));
    }

    /**
     * Records an entry together with {@code event} appended to {@code stream}, in one commit (the SQLite
     * engine writes them in one transaction): a stop leaves both or neither. Returns once both are durable;
     * throws the failure of either, the other stream's first.
     */
    public void recordWith(
            String type,
            Principal principal,
            Map<String, ?> details,
            dev.lethe.core.store.StreamId stream,
            EventData event) {
        EventData entry = entry(type, principal, details);
        List<CompletableFuture<AppendResult>> written = RawLog.handOver(() -> store.appendTogether(List.of(
                new dev.lethe.core.store.StreamAppend(stream, ExpectedVersion.any(), List.of(event)),
                new dev.lethe.core.store.StreamAppend(STREAM, ExpectedVersion.any(), List.of(entry)))));
        for (CompletableFuture<AppendResult> each : written) {
            try {
                each.join();
            } catch (java.util.concurrent.CompletionException e) {
                throw e.getCause() instanceof RuntimeException cause ? cause : e;
            }
        }
    }

    /** Records an entry without waiting for it to be durable; the future says when it is. */
    public CompletableFuture<AppendResult> recordAsync(String type, Principal principal, Map<String, ?> details) {
        List<EventData> entry = List.of(entry(type, principal, details));
        return RawLog.handOver(() -> store.appendAsync(STREAM, ExpectedVersion.any(), entry));
    }

    private EventData entry(String type, Principal principal, Map<String, ?> details) {
        ObjectNode entry = JSON.createObjectNode();
        entry.put("principal", principal.name());
        entry.put("role", principal.role());
        entry.put("at", clock.instant().toString());
        details.forEach((key, value) -> {
            if (entry.has(key)) { // a detail must not overwrite who acted, or when
                throw new IllegalArgumentException("audit detail '" + key + "' is a reserved name");
            }
            entry.set(key, JSON.valueToTree(value));
        });
        return EventData.of(type, Json.of(entry));
    }

    /** Notes that {@code principal} was given keys of {@code group}; records it once per window. */
    public void keysReleased(Principal principal, DataGroup group) {
        Release key = new Release(principal, group);
        Instant now = clock.instant();
        if (recordedWithin(key, now)) {
            return;
        }
        // One writer at a time per principal and group, and a release marked only once its entry is written:
        // threads of a parallel replay wait for the first one's entry instead of going on unaudited, and if it
        // cannot be written (a read-only open, a full disk), each tries again, and fails, itself.
        synchronized (writing.computeIfAbsent(key, k -> new Object())) {
            if (recordedWithin(key, now)) {
                return;
            }
            record("KeysReleased", principal, Map.of("dataGroup", group.name()));
            lastRelease.put(key, now);
        }
    }

    private boolean recordedWithin(Release key, Instant now) {
        Instant seen = lastRelease.get(key);
        return seen != null && seen.plus(KEY_RELEASE_WINDOW).isAfter(now);
    }
}
