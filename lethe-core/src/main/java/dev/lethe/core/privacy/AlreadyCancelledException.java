package dev.lethe.core.privacy;

import dev.lethe.core.store.LetheException;

/**
 * A cancellation names a scheduled forget that was already cancelled. The request was valid; retrying it
 * fails again, and for a caller that cancels idempotently the work is done. (Over HTTP, 409.)
 */
public final class AlreadyCancelledException extends LetheException {
    private final String scheduleId;

    public AlreadyCancelledException(String scheduleId) {
        super("schedule " + scheduleId + ": was already cancelled");
        this.scheduleId = scheduleId;
    }

    /** The schedule's id. */
    public String scheduleId() {
        return scheduleId;
    }

    @Override
    public boolean isTransient() {
        return false;
    }
}
