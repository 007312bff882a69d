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
        this(
                "append not stored: it had to be recorded before " + InstantText.of(recordBefore)
                        + ", and the store would have recorded it at " + InstantText.of(storeTime)
                        + "; prepare the batch again (seal it anew) and retry",
                recordBefore,
                storeTime);
    }

    private LateRecordingException(String message, Instant recordBefore, Instant storeTime) {
        super(message);
        this.recordBefore = recordBefore;
        this.storeTime = storeTime;
    }

    /**
     * A batch prepared at {@code preparedAt}, to be recorded before {@code recordBefore}, by a clock that stepped back
     * over an hour before the store read its own ({@code storeTime}, the clock's reading then): the store refused its
     * window as starting too far ahead ({@code refusal}). Transient as a late batch is: prepared again, it is prepared
     * for the clock as it is now.
     */
    public static LateRecordingException sealedAhead(
            Instant preparedAt, Instant recordBefore, Instant storeTime, String refusal) {
        return new LateRecordingException(
                "append not stored: it was prepared at " + InstantText.of(preparedAt)
                        + ", and the clock stepped back before the store could record it (" + refusal
                        + "); prepare the batch again (seal it anew) and retry",
                recordBefore,
                storeTime);
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
