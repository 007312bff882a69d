package dev.lethe.core.store;

import java.time.Instant;

/**
 * A batch given a latest recording instant ({@link EventStore#appendAsync(StreamId, ExpectedVersion, java.util.List,
 * Instant)}) that the store could not record before it: the log's last event was recorded at or after it already
 * (another writer's, or a clock stepped back). Nothing was stored; the batch may be prepared again and retried.
 * The privacy layer does so itself: its personal fields were sealed for periods that had ended by then.
 */
public final class LateRecordingException extends LetheException {
    private final Instant recordBefore;
    private final Instant lastRecorded;

    public LateRecordingException(Instant recordBefore, Instant lastRecorded) {
        super("append not stored: it had to be recorded before " + InstantText.of(recordBefore)
                + ", and the log's last event was recorded at " + InstantText.of(lastRecorded)
                + " already; prepare the batch again (seal it anew) and retry");
        this.recordBefore = recordBefore;
        this.lastRecorded = lastRecorded;
    }

    /** The instant the batch had to be recorded before. */
    public Instant recordBefore() {
        return recordBefore;
    }

    /** When the log's last event was recorded: a batch prepared again for this instant or later fits. */
    public Instant lastRecorded() {
        return lastRecorded;
    }

    @Override
    public boolean isTransient() {
        return true;
    }
}
