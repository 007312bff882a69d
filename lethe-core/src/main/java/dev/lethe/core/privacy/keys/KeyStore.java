package dev.lethe.core.privacy.keys;

import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.SubjectId;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where the key service keeps wrapped keys, the blind index, erasure fences and receipts, and destroyed
 * periods. Every method is atomic. Deleting must not leave the deleted bytes in the store's own files
 * (SQLite: {@code secure_delete}, and the WAL truncated after each deletion).
 */
public interface KeyStore extends AutoCloseable {
    Optional<byte[]> subjectKey(SubjectId subject);

    /** Stores a new subject's wrapped key and, if given, its blind-index entry. */
    void createSubject(SubjectId subject, byte[] wrappedKey, Optional<IndexEntry> blindIndex);

    /**
     * A blind-index entry: the value a natural key is found by ({@code hash}), and, for an entry keyed by
     * the current rotation's secret, the natural key's first-level index sealed under it ({@code sealed}:
     * what a rotation re-keys the entry from; null for an entry made before entries were keyed so, whose
     * {@code hash} is that first-level index itself).
     */
    record IndexEntry(byte[] hash, byte[] sealed) {}

    /** A stored blind-index entry and its subject. */
    record IndexRow(SubjectId subject, IndexEntry entry) {}

    /** A subject to create: its wrapped key and, if given, its blind-index entry. */
    record NewSubject(SubjectId subject, byte[] wrappedKey, Optional<IndexEntry> blindIndex) {}

    /**
     * Stores several new subjects; a store with transactions stores all or none, in one write (a batch of
     * events naming a hundred new customers then costs one durable write of the key store, not a hundred).
     */
    default void createSubjects(java.util.List<NewSubject> subjects) {
        subjects.forEach(s -> createSubject(s.subject(), s.wrappedKey(), s.blindIndex()));
    }

    Optional<SubjectId> subjectByBlindIndex(byte[] blindIndex);

    /** Whether some blind-index entry has no sealed value (made before entries were keyed per rotation). */
    boolean hasUnsealedBlindIndex();

    /** Whether the blind index has any entry. */
    boolean hasBlindIndexEntries();

    /** Every blind-index entry (a rotation re-keys them all). */
    java.util.List<IndexRow> blindIndexRows();

    /** Whether this store takes no writes (a reader beside the writer). */
    default boolean readOnly() {
        return false;
    }

    /** Whether the subject was forgotten (its fence stands). */
    boolean isForgotten(SubjectId subject);

    /**
     * Deletes the subject key and every blind-index entry of the subject, raises its erasure fence,
     * stores the receipt (not yet audited) and marks the receipts {@code audited} as audited, all in one
     * transaction. Returns how many blind-index entries were deleted, or -1 if the subject had no key
     * (unknown, or already forgotten). Older images of the deleted rows may remain in the store's files
     * until {@link #scrub()}.
     */
    int forget(SubjectId subject, ErasureReceipt receipt, java.util.Collection<java.util.UUID> audited);

    /**
     * Removes from the store's files whatever older images of deleted keys remain (SQLite: copies the
     * WAL into the database and empties it). Called after every forget, expiry and re-wrap, once the key
     * service no longer holds the deleted keys.
     */
    default void scrub() {}

    /** As {@link #scrub()}, trying for {@code budget} at most where the store may have to wait for readers. */
    default void scrub(java.time.Duration budget) {
        scrub();
    }

    List<ErasureReceipt> receipts();

    /** The receipts of one subject (one, unless it was forgotten again after a restore), oldest first. */
    default List<ErasureReceipt> receiptsOf(dev.lethe.core.privacy.SubjectId subject) {
        return receipts().stream().filter(r -> r.subject().equals(subject)).toList();
    }

    /** Receipts whose audit entry is not yet known to be written (after a crash, say). */
    List<ErasureReceipt> unauditedReceipts();

    /** Marks receipts as audited. */
    void markAudited(java.util.Collection<java.util.UUID> receipts);

    Optional<byte[]> periodKey(DataGroup group, String period);

    /** Stores a period key unless one exists; returns the one stored. */
    byte[] createPeriodKey(DataGroup group, String period, byte[] wrappedKey);

    boolean isPeriodDestroyed(DataGroup group, String period);

    /** Live period keys, for the retention scheduler. */
    List<PeriodRef> livePeriods();

    /** Every destroyed period key, with when: the record that a period expired. In order of group and period. */
    List<DestroyedPeriod> destroyedPeriods();

    /**
     * Deletes a period key and records its destruction, in one transaction. Older images of the deleted
     * row may remain in the store's files until {@link #scrub()}.
     */
    void destroyPeriod(DataGroup group, String period, Instant at);

    /** A named secret (the blind-index key), wrapped. */
    Optional<byte[]> secret(String name);

    byte[] createSecret(String name, byte[] wrapped);

    /** A named note that is not a key (the hash of the last policy file seen), or empty. */
    Optional<String> note(String name);

    /** Sets a named note, replacing its value. */
    void setNote(String name, String value);

    /** Every wrapped key, by an opaque reference, for re-wrapping under a new master epoch. */
    Map<String, byte[]> allWrappedKeys();

    /**
     * Passes every wrapped key, by the same reference as {@link #allWrappedKeys}, without holding them all
     * in memory at once (a store may read them a row at a time): for checks that look at each once.
     */
    default void forEachWrappedKey(java.util.function.BiConsumer<String, byte[]> each) {
        allWrappedKeys().forEach(each);
    }

    /** Replaces wrapped keys by reference, in one transaction. */
    default void rewrap(Map<String, byte[]> rewrapped) {
        rewrap(rewrapped, Map.of());
    }

    /**
     * Replaces wrapped keys by reference and sets {@code notes} (see {@link #setNote}), in one
     * transaction: a note that says which master key wraps them changes with them.
     */
    default void rewrap(Map<String, byte[]> rewrapped, Map<String, String> notes) {
        rewrap(rewrapped, notes, null);
    }

    /**
     * As {@link #rewrap(Map, Map)}, and, when {@code index} is not null, replaces every blind-index entry
     * with {@code index}, in the same transaction (a rotation re-keys the index with the secret it re-wraps).
     * A reference in {@code rewrapped} to a secret not stored yet stores it.
     */
    void rewrap(Map<String, byte[]> rewrapped, Map<String, String> notes, java.util.List<IndexRow> index);

    @Override
    void close();

    record PeriodRef(DataGroup group, String period) {}

    /**
     * A period key retention destroyed.
     *
     * @param destroyedAt the instant the retention run that destroyed it ran as of (its clock, or {@code --now});
     *     {@code null} when only the audit
     *     trail says it was destroyed (a read-only view of a key store restored from before the run: the next
     *     writer open destroys it again)
     */
    record DestroyedPeriod(DataGroup group, String period, Instant destroyedAt) {}
}
