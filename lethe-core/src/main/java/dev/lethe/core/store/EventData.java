package dev.lethe.core.store;

import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * An event to append: an optional client-chosen id, a type, data and metadata as JSON.
 *
 * <p>Without an id, the store generates a random one; with an id, re-appending the same batch is
 * idempotent (see {@link EventStore#append}). Data must be a JSON object or any JSON value; metadata,
 * when given, must be a JSON object. Data and metadata together may not exceed {@link #MAX_SIZE}
 * bytes.
 */
public record EventData(UUID id, String type, Json data, Json metadata, boolean generatedId) {
    /** The largest event, data and metadata together, in bytes: 1 MiB. */
    public static final int MAX_SIZE = 1 << 20;

    public static final int MAX_TYPE_LENGTH = 200;
    private static final Pattern VALID_TYPE = Pattern.compile("[A-Za-z][A-Za-z0-9_.$\\-]*");

    public EventData {
        validateType(type);
        if (data == null) {
            throw InvalidEventException.of("data", "is missing");
        }
        if (metadata == null) {
            metadata = Json.EMPTY_OBJECT;
        } else if (!metadata.isObject()) {
            throw InvalidEventException.of(
                    "metadata",
                    "must be a JSON object, got "
                            + metadata.asTree().getNodeType().name().toLowerCase(java.util.Locale.ROOT));
        }
        long size = (long) data.size() + metadata.size();
        if (size > MAX_SIZE) {
            throw InvalidEventException.of(
                    "event", "is " + size + " bytes (data and metadata), the limit is " + MAX_SIZE + " (1 MiB)");
        }
    }

    /**
     * The id, type and sizes, not the data or metadata: an event to append holds personal values in
     * plaintext, before they are sealed, and a log line ({@code log.debug("appending {}", events)}) must
     * not keep them.
     */
    @Override
    public String toString() {
        return "EventData[id=" + id + ", type=" + type + ", data not printed (" + data.size() + " bytes), metadata "
                + metadata.size() + " bytes" + (generatedId ? ", generated id" : "") + "]";
    }

    /** An event; a non-null {@code id} is a client-chosen id, which makes appending it idempotent. */
    public EventData(UUID id, String type, Json data, Json metadata) {
        this(id, type, data, metadata, false);
    }

    /** An event with a generated id and no metadata. */
    public static EventData of(String type, Json data) {
        return new EventData(null, type, data, null);
    }

    /** An event with a generated id and no metadata, data given as JSON text. */
    public static EventData of(String type, String jsonData) {
        return new EventData(null, type, Json.parse(jsonData), null);
    }

    /** This event with a client-chosen id, which makes appending it idempotent. */
    public EventData withId(UUID newId) {
        return new EventData(Objects.requireNonNull(newId, "id"), type, data, metadata, false);
    }

    /**
     * This event with an id generated for it before the append, as the privacy layer does (an
     * envelope is bound to its event's id): not a client's id, so appending it is not a retry of
     * anything and engines need not look the id up; a fresh random id does not collide.
     */
    public EventData withGeneratedId(UUID newId) {
        return new EventData(Objects.requireNonNull(newId, "id"), type, data, metadata, true);
    }

    /** This event with the given metadata (a JSON object). */
    public EventData withMetadata(Json newMetadata) {
        return new EventData(id, type, data, newMetadata, generatedId);
    }

    /** The client-chosen id, if any. */
    public Optional<UUID> clientId() {
        return generatedId ? Optional.empty() : Optional.ofNullable(id);
    }

    /** Types already validated (a store sees few); bounded, so odd inputs cannot grow it without end. */
    private static final java.util.Set<String> VALID_TYPES = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private static void validateType(String type) {
        if (type != null && VALID_TYPES.contains(type)) {
            return;
        }
        if (type == null || type.isEmpty()) {
            throw InvalidEventException.of("type", "must not be empty");
        }
        if (type.length() > MAX_TYPE_LENGTH) {
            throw InvalidEventException.of(
                    "type", "is " + type.length() + " characters long, the limit is " + MAX_TYPE_LENGTH);
        }
        if (!VALID_TYPE.matcher(type).matches()) {
            throw InvalidEventException.of(
                    "type",
                    "'" + StreamId.printable(type)
                            + "' must start with a letter and hold only letters, digits and _ . $ -");
        }
        if (VALID_TYPES.size() < 10_000) {
            VALID_TYPES.add(type);
        }
    }
}
