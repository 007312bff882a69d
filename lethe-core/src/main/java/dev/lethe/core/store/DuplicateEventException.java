package dev.lethe.core.store;

import java.util.UUID;

/**
 * A batch reuses an event id that is already stored, but is not an exact retry of the batch that
 * stored it (other ids, another order or another stream). An exact retry is not an error: it returns
 * the original {@link AppendResult}. Nothing of the batch was written.
 */
public final class DuplicateEventException extends LetheException {
    private final UUID eventId;

    private DuplicateEventException(UUID eventId, String detail) {
        super("event id " + eventId + " is already stored " + detail
                + "; a retry must resend exactly the original batch, to the same stream");
        this.eventId = eventId;
    }

    public static DuplicateEventException of(UUID eventId, String detail) {
        return new DuplicateEventException(eventId, detail);
    }

    public UUID eventId() {
        return eventId;
    }

    @Override
    public boolean isTransient() {
        return false;
    }
}
