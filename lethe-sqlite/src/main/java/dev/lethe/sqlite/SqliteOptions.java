package dev.lethe.sqlite;

import java.time.Clock;

/**
 * How the embedded engine is tuned. Every default is a named constant; {@link #DEFAULT} is what
 * {@code SqliteEventStore.open(dir)} uses.
 *
 * @param readerConnections connections kept open for reads (each read borrows one)
 * @param maxGroupRequests the most appends the sequencer commits in one transaction (the batches of one
 *     {@code appendTogether} call count as one; they hold at most as many events as one batch)
 * @param queueCapacity appends waiting for the sequencer before writers are held back (counted the same way)
 * @param cacheMebibytes SQLite page cache per connection
 * @param clock the source of {@code recordedAt}
 * @param markForgets whether each forget also leaves a marker in {@code $forgotten}, so that opening a
 *     key store restored from before some forget forgets those subjects again (off by default: it costs
 *     each forget a second row in its audit commit, ~0.3 ms at the median, ~1 ms at the p99; see docs/privacy.md §9)
 * @param masterKeyDirectory where the local master keyset lives: null for {@code master.keyset.json} in
 *     the data directory; otherwise {@code master-STOREID.keyset.json} in this directory (a mounted secret,
 *     a directory outside backups, shared by several stores), so that a backup of the data directory
 *     alone holds no key that unwraps its key store
 */
public record SqliteOptions(
        int readerConnections,
        int maxGroupRequests,
        int queueCapacity,
        int cacheMebibytes,
        Clock clock,
        boolean markForgets,
        java.nio.file.Path masterKeyDirectory) {
    public static final int DEFAULT_READER_CONNECTIONS = 4;
    public static final int DEFAULT_MAX_GROUP_REQUESTS = 1_024;
    public static final int DEFAULT_QUEUE_CAPACITY = 16_384;
    public static final int DEFAULT_CACHE_MEBIBYTES = 64;

    public static final SqliteOptions DEFAULT = new SqliteOptions(
            DEFAULT_READER_CONNECTIONS,
            DEFAULT_MAX_GROUP_REQUESTS,
            DEFAULT_QUEUE_CAPACITY,
            DEFAULT_CACHE_MEBIBYTES,
            Clock.systemUTC(),
            false,
            null);

    public SqliteOptions {
        requirePositive("readerConnections", readerConnections);
        requirePositive("maxGroupRequests", maxGroupRequests);
        requirePositive("queueCapacity", queueCapacity);
        requirePositive("cacheMebibytes", cacheMebibytes);
        if (clock == null) {
            throw new IllegalArgumentException("clock must not be null");
        }
    }

    public SqliteOptions withReaderConnections(int count) {
        return new SqliteOptions(
                count, maxGroupRequests, queueCapacity, cacheMebibytes, clock, markForgets, masterKeyDirectory);
    }

    public SqliteOptions withMaxGroupRequests(int count) {
        return new SqliteOptions(
                readerConnections, count, queueCapacity, cacheMebibytes, clock, markForgets, masterKeyDirectory);
    }

    public SqliteOptions withClock(Clock newClock) {
        return new SqliteOptions(
                readerConnections,
                maxGroupRequests,
                queueCapacity,
                cacheMebibytes,
                newClock,
                markForgets,
                masterKeyDirectory);
    }

    /** With forget markers on or off (see {@code markForgets}). */
    public SqliteOptions withForgetMarkers(boolean on) {
        return new SqliteOptions(
                readerConnections, maxGroupRequests, queueCapacity, cacheMebibytes, clock, on, masterKeyDirectory);
    }

    /** With the master keyset in {@code directory} (null: the data directory). */
    public SqliteOptions withMasterKeyDirectory(java.nio.file.Path directory) {
        return new SqliteOptions(
                readerConnections, maxGroupRequests, queueCapacity, cacheMebibytes, clock, markForgets, directory);
    }

    private static void requirePositive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, was " + value);
        }
    }
}
