package dev.lethe.core.store;

/**
 * What an acknowledged append wrote: the stream, the versions of its first and last event, and the
 * global positions of its first and last event. The events of one batch have consecutive versions
 * and consecutive positions. The stream's current version after the append is {@link #lastVersion()}.
 */
public record AppendResult(
        StreamId streamId, long firstVersion, long lastVersion, long firstPosition, long lastPosition) {

    /** The number of events the batch held. */
    public int count() {
        return (int) (lastVersion - firstVersion + 1);
    }
}
