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
 * @param masterKeyDirectory where the local master keyset lives: null for {@code master.keyset.json} in
 *     the data directory; otherwise {@code master-STOREID.keyset.json} in this directory (a mounted secret,
 *     a directory outside backups, shared by several stores), so that a backup of the data directory
 *     alone holds no key that unwraps its key store
 * @param pkcs11 the PKCS#11 token (an HSM) that holds the master key instead of a keyset file, or null;
 *     not together with {@code masterKeyDirectory}
 */
public record SqliteOptions(
        int readerConnections,
        int maxGroupRequests,
        int queueCapacity,
        int cacheMebibytes,
        Clock clock,
        java.nio.file.Path masterKeyDirectory,
        Pkcs11 pkcs11) {
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
            null,
            null);

    /**
     * A PKCS#11 token holding the master key: the module {@code library} (e.g. SoftHSM2's
     * {@code libsofthsm2.so}), the token's {@code slot} id, and the user {@code pin} (which
     * {@link #toString} leaves out). The store's epochs are the token's secret keys labelled
     * {@code lethe-master-STOREID-<epoch>}, so one token can serve several stores.
     */
    public record Pkcs11(java.nio.file.Path library, long slot, char[] pin) {
        public Pkcs11 {
            if (library == null) {
                throw new IllegalArgumentException("a PKCS#11 library must be named");
            }
            if (slot < 0) {
                throw new IllegalArgumentException("a PKCS#11 slot id is 0 or more, was " + slot);
            }
            if (pin == null || pin.length == 0) {
                throw new IllegalArgumentException("a PKCS#11 token needs its user PIN");
            }
        }

        /** {@code slot N of LIBRARY}: never the PIN. */
        @Override
        public String toString() {
            return "slot " + slot + " of " + library;
        }
    }

    public SqliteOptions {
        requirePositive("readerConnections", readerConnections);
        requirePositive("maxGroupRequests", maxGroupRequests);
        requirePositive("queueCapacity", queueCapacity);
        requirePositive("cacheMebibytes", cacheMebibytes);
        if (clock == null) {
            throw new IllegalArgumentException("clock must not be null");
        }
        if (masterKeyDirectory != null && pkcs11 != null) {
            throw new IllegalArgumentException(
                    "a store has one master key: a master key directory or a PKCS#11 token, not both");
        }
    }

    public SqliteOptions withReaderConnections(int count) {
        return new SqliteOptions(
                count, maxGroupRequests, queueCapacity, cacheMebibytes, clock, masterKeyDirectory, pkcs11);
    }

    public SqliteOptions withMaxGroupRequests(int count) {
        return new SqliteOptions(
                readerConnections, count, queueCapacity, cacheMebibytes, clock, masterKeyDirectory, pkcs11);
    }

    public SqliteOptions withClock(Clock newClock) {
        return new SqliteOptions(
                readerConnections,
                maxGroupRequests,
                queueCapacity,
                cacheMebibytes,
                newClock,
                masterKeyDirectory,
                pkcs11);
    }

    /** With the master keyset in {@code directory} (null: the data directory). */
    public SqliteOptions withMasterKeyDirectory(java.nio.file.Path directory) {
        return new SqliteOptions(
                readerConnections, maxGroupRequests, queueCapacity, cacheMebibytes, clock, directory, pkcs11);
    }

    /** With the master key in a PKCS#11 token (null: a keyset file, see {@code masterKeyDirectory}). */
    public SqliteOptions withPkcs11(Pkcs11 token) {
        return new SqliteOptions(
                readerConnections, maxGroupRequests, queueCapacity, cacheMebibytes, clock, masterKeyDirectory, token);
    }

    private static void requirePositive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, was " + value);
        }
    }
}
