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

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("the story clock is UTC only");
    }

    @Override
    public Instant instant() {
        return Instant.now().minus(shift);
    }
}
