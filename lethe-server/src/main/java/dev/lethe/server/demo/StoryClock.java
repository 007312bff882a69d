package dev.lethe.server.demo;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** The demo's clock: real time, shifted into the past while the story tells what happened last month. */
final class StoryClock extends Clock {
    private volatile Duration shift = Duration.ZERO;

    void shiftBack(Duration duration) {
        shift = duration;
    }

    void backToNow() {
        shift = Duration.ZERO;
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    /** The story's instants are the same in every zone; the clock stays in UTC. */
    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    @Override
    public Instant instant() {
        return Instant.now().minus(shift);
    }
}
