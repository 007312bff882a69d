package dev.lethe.core.projection;

import java.util.Optional;

/**
 * Where a running projection is: its committed checkpoint (the next position to fold), the log's head
 * when asked, its phase, and why it failed, if it did.
 */
public record ProjectionStatus(
        String name, Phase phase, long nextPosition, long headPosition, Optional<String> failure) {
    public enum Phase {
        CATCHING_UP,
        LIVE,
        FAILED,
        STOPPED
    }

    /** How many events of the log the projection has not looked at yet. */
    public long lag() {
        return Math.max(0, headPosition + 1 - nextPosition);
    }
}
