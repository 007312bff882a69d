package dev.lethe.core.store;

import java.time.Instant;

/**
 * A batch given a latest recording instant ({@link EventStore#appendAsync(StreamId, ExpectedVersion, java.util.List,
 * Instant, Instant)}) that the store could not record before it: its clock had passed it, or the log's last event (another
 * writer's, or one recorded before the clock stepped back) had. Nothing was stored; the batch may be prepared again
 * for the store's time and retried. The privacy layer's {@code append} does so itself: its personal fields were
 * sealed for a day that had ended by then.
 */
public final class LateRecordingException extends LetheException {
    private final Instant recordBefore;
    private final Instant storeTime;

    public LateRecordingException(Instant recordBefore, Instant storeTime) {
        super("append not stored: it had to be recorded before " + InstantText.of(recordBefore)
                + ", and the store would have recorded it at " + InstantText.of(storeTime)
                + "; prepare the batch again (seal it anew) and retry");
        this.recordBefore = recordBefore;
        this.storeTime = storeTime;
    }

    /** The instant the batch had to be recorded before. */
    public Instant recordBefore() {
        return recordBefore;
    }

    /** When the store would have recorded the batch: one prepared again for this instant or later fits. */
    public Instant storeTime() {
        return storeTime;
    }

    @Override
    public boolean isTransient() {
        return true;
    }
}
