package dev.lethe.core.spi;

import java.security.SecureRandom;
import java.util.SplittableRandom;
import java.util.UUID;

/**
 * Ids for events appended without a client-chosen id: time-ordered UUIDs (version 7, RFC 9562), so
 * the unique index on ids grows at its right edge instead of at random pages. 48 bits of Unix
 * milliseconds, then a 12-bit counter that keeps ids increasing within a millisecond, then 62 random
 * bits from a generator seeded by {@link SecureRandom}. Thread-safe; ids from one instance increase.
 */
public final class TimeOrderedIds {
    private final SplittableRandom random = new SplittableRandom(new SecureRandom().nextLong());
    private long lastMillis;
    private int counter;

    /** The next id, for an event recorded now. */
    public UUID next() {
        return next(System.currentTimeMillis());
    }

    /** The next id, at {@code nowMillis} or, if the clock went back, just after the last one. */
    public synchronized UUID next(long nowMillis) {
        if (nowMillis > lastMillis) {
            lastMillis = nowMillis;
            counter = 0;
        } else if (++counter > 0xFFF) {
            // More than 4,096 ids in one millisecond: borrow the next millisecond.
            lastMillis++;
            counter = 0;
        }
        long high = (lastMillis << 16) | 0x7000L | counter;
        long low = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
        return new UUID(high, low);
    }
}
