package dev.lethe.core.privacy.keys;

/**
 * The root of the key hierarchy: wraps and unwraps subject and period keys. Implementations keep the
 * key material out of Lethe's reach where they can (a PKCS#11 HSM never releases it).
 *
 * <p>Rotation: {@link #beginRotation()} creates a new epoch that wraps from then on while older epochs
 * still unwrap; once every key is re-wrapped, {@link #finishRotation()} destroys the older epochs, after
 * which nothing they wrapped — in any backup — can be unwrapped.
 */
public interface MasterKey extends AutoCloseable {
    /** The epoch that wraps new keys. */
    int epoch();

    /** Encrypts a key, bound to {@code context} (which must be given again to unwrap). */
    byte[] wrap(byte[] key, byte[] context);

    /** Decrypts a key wrapped by a live epoch; throws {@link KeyUnavailableException} otherwise. */
    byte[] unwrap(byte[] wrapped, byte[] context);

    /**
     * The epochs that still unwrap, oldest first: one once a rotation is complete, more while one is
     * under way or was stopped half-way (the older still unwrap any backup of the key store).
     */
    java.util.List<Integer> liveEpochs();

    /** Starts a new epoch; returns it. */
    int beginRotation();

    /** Destroys every epoch but the current one; returns the destroyed epochs. */
    java.util.List<Integer> finishRotation();

    /**
     * The epoch that wrapped {@code wrapped}, as its header names it (whether or not that epoch is still
     * live), or empty if it names none: for diagnostics, never for a security decision.
     */
    default java.util.OptionalInt epochOf(byte[] wrapped) {
        return java.util.OptionalInt.empty();
    }

    /** A short description for logs and receipts, without key material. */
    String describe();

    @Override
    default void close() {}
}
