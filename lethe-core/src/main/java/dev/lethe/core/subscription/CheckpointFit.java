package dev.lethe.core.subscription;

import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.RecordedEvent;
import java.util.List;

/**
 * How a read model's checkpoint fits a log. A checkpoint records the position of the next event to
 * fold and the {@link #witness} of the event just before it; a read model restored from another copy than its log
 * (or a log restored from an older backup, then appended to) no longer fits, and its states hold folds
 * of events the log does not have.
 */
public enum CheckpointFit {
    /** The log holds, just before the checkpoint, the event the read model folded up to. */
    FITS,
    /** The checkpoint is past the log's head: the read model folded events the log does not hold. */
    AHEAD,
    /**
     * The log holds another event just before the checkpoint than the one the read model folded up to:
     * the read model was folded from another history (the log was restored from an older copy, then
     * appended to past the checkpoint).
     */
    OTHER_HISTORY;

    /**
     * How a checkpoint fits {@code log}. {@code eventBefore} is the {@link #witness} of the event at
     * {@code nextPosition - 1} as the checkpoint recorded it; null (a checkpoint at 0, or one committed
     * before Lethe recorded it) skips that check. Reads at most one event.
     */
    public static CheckpointFit of(long nextPosition, String eventBefore, EventStore log) {
        if (nextPosition > log.headPosition() + 1) {
            return AHEAD;
        }
        if (nextPosition == 0 || eventBefore == null) {
            return FITS;
        }
        List<RecordedEvent> before = log.readAll(nextPosition - 1, 1);
        boolean same = !before.isEmpty()
                && before.get(0).position() == nextPosition - 1
                && witness(log, before.get(0)).equals(eventBefore);
        return same ? FITS : OTHER_HISTORY;
    }

    /**
     * What a checkpoint records of the event before it: its id, the instant the store recorded it, and the
     * writer session that appended it ({@link EventStore#writerSession}). The id alone would not do: a
     * client may choose it, and append an event with the same id at the same position of another log (a
     * retry after a restore); nor would the instant, which repeats while the clock is behind the log's
     * last one. The session is random per writer open, and two logs that parted have different ones.
     */
    public static String witness(EventStore log, RecordedEvent event) {
        return event.id() + "@" + event.recordedAt() + "#" + log.writerSession(event.position());
    }
}
