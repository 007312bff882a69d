package dev.lethe.core.store;

import java.time.Instant;
import java.util.Optional;

/**
 * What is known about a stream: whether it exists, its current version (the version of its last
 * event, {@link #NO_VERSION} when it has none) and when its first and last events were recorded.
 */
public record StreamInfo(StreamId streamId, long currentVersion, Instant firstRecordedAt, Instant lastRecordedAt) {
    /** The "version" of a stream with no event. */
    public static final long NO_VERSION = -1;

    public static StreamInfo absent(StreamId streamId) {
        return new StreamInfo(streamId, NO_VERSION, null, null);
    }

    public boolean exists() {
        return currentVersion != NO_VERSION;
    }

    /** The number of events in the stream. */
    public long eventCount() {
        return currentVersion + 1;
    }

    public Optional<Instant> firstRecorded() {
        return Optional.ofNullable(firstRecordedAt);
    }

    public Optional<Instant> lastRecorded() {
        return Optional.ofNullable(lastRecordedAt);
    }
}
