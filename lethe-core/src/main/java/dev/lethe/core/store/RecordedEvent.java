package dev.lethe.core.store;

import java.time.Instant;
import java.util.UUID;

/**
 * An event as stored: its id, stream, version in its stream (0-based, dense), position in the global
 * log (0-based, dense, commit order), type, data, metadata and the time it was recorded.
 *
 * <p>{@code recordedAt} is assigned by the store when the event is committed, with microsecond
 * precision, and never decreases along the log: an event at a higher position has a
 * {@code recordedAt} equal to or later than every event before it.
 */
public record RecordedEvent(
        UUID id,
        StreamId streamId,
        long version,
        long position,
        String type,
        Json data,
        Json metadata,
        Instant recordedAt) {

    /** The category of the event's stream. */
    public String category() {
        return streamId.category();
    }
}
