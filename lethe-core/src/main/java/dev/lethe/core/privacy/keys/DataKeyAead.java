package dev.lethe.core.privacy.keys;

import com.google.crypto.tink.Aead;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM under one data key, with the output format of Tink's {@code AesGcmJce}: a random
 * 12-byte nonce, then the ciphertext and the 16-byte tag. Unlike {@code AesGcmJce}, whose cipher is
 * shared by every key of a thread, a data key the key service caches may keep a cipher of its own (the
 * service bounds how many do): the JDK then keeps the expanded AES key between calls, instead of redoing
 * it whenever consecutive fields use different keys, which is what a replay over many subjects does. A
 * thread that finds that cipher in use by another, or a key without one, uses its thread's spare cipher,
 * keyed for each call.
 * Besides {@link Aead}'s two calls it encrypts into and decrypts from a slice of a larger array, which
 * spares the codec a copy per field.
 *
 * <p>Nonces are 96 random bits from a per-thread buffer refilled from {@link SecureRandom}: as random as
 * drawing them one by one, without a system call per field.
 */
public final class DataKeyAead implements Aead {
    public static final int NONCE_BYTES = 12;
    public static final int TAG_BYTES = 16;
    private static final ThreadLocal<NonceSource> NONCES = ThreadLocal.withInitial(NonceSource::new);

    private final SecretKeySpec key;

    private static final ThreadLocal<Cipher> SPARE = ThreadLocal.withInitial(DataKeyAead::newCipher);

    /**
     * When the key service's cache stops handing this key out ({@link System#nanoTime()}); set before the key
     * is cached, which publishes it.
     */
    long expiresNanos;

    /** Set by the key service while it caches this key and lets it keep a cipher (about 0.8 KB). */
    private volatile boolean mayKeepCipher;
    /** Whether this key's own cipher was made: at most one is, whatever the number of threads. */
    private volatile boolean ownMade;
    /** This key's own cipher when no thread is using it; null while one is, before it is made, and once dropped. */
    private volatile Cipher idle;

    private static final java.lang.invoke.VarHandle IDLE;
    private static final java.lang.invoke.VarHandle OWN_MADE;

    static {
        try {
            java.lang.invoke.MethodHandles.Lookup lookup = java.lang.invoke.MethodHandles.lookup();
            IDLE = lookup.findVarHandle(DataKeyAead.class, "idle", Cipher.class);
            OWN_MADE = lookup.findVarHandle(DataKeyAead.class, "ownMade", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Lets this key keep a cipher of its own from its next use on (the key service calls it, bounding how many). */
    void allowOwnCipher() {
        mayKeepCipher = true;
    }

    /**
     * Drops this key's own cipher (the key service calls it when it stops caching the key); whether the key was
     * allowed one. A thread using the cipher at that moment drops it when done.
     */
    boolean dropOwnCipher() {
        boolean allowed = mayKeepCipher;
        mayKeepCipher = false;
        idle = null;
        return allowed;
    }

    /** This key's own cipher, taken from its place (made on first use), or null: use the thread's spare. */
    private Cipher borrowOwn() {
        if (!mayKeepCipher) {
            return null;
        }
        Cipher own = (Cipher) IDLE.getAndSet(this, null);
        if (own == null && !ownMade && OWN_MADE.compareAndSet(this, false, true)) {
            own = newCipher();
        }
        return own;
    }

    private void giveBack(Cipher own) {
        idle = own;
        if (!mayKeepCipher) {
            // Dropped while in use: dropOwnCipher's write of idle came before ours.
            idle = null;
        }
    }

    DataKeyAead(byte[] key) {
        if (key.length != 32) {
            throw new IllegalArgumentException("a data key has 32 bytes, got " + key.length);
        }
        this.key = new SecretKeySpec(key, "AES");
    }

    private static Cipher newCipher() {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM is not available in this JDK", e);
        }
    }

    @Override
    public byte[] encrypt(byte[] plaintext, byte[] associatedData) throws GeneralSecurityException {
        byte[] out = new byte[NONCE_BYTES + plaintext.length + TAG_BYTES];
        encrypt(plaintext, 0, plaintext.length, associatedData, out, 0);
        return out;
    }

    /**
     * Encrypts {@code plaintext[offset, offset + length)} into {@code out} at {@code outOffset}: nonce,
     * ciphertext, tag ({@code length + 28} bytes).
     */
    public void encrypt(byte[] plaintext, int offset, int length, byte[] associatedData, byte[] out, int outOffset)
            throws GeneralSecurityException {
        NONCES.get().next(out, outOffset);
        Cipher own = borrowOwn();
        Cipher cipher = own != null ? own : SPARE.get();
        try {
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, out, outOffset, NONCE_BYTES));
            cipher.updateAAD(associatedData);
            cipher.doFinal(plaintext, offset, length, out, outOffset + NONCE_BYTES);
        } finally {
            if (own != null) {
                giveBack(own);
            }
        }
    }

    @Override
    public byte[] decrypt(byte[] ciphertext, byte[] associatedData) throws GeneralSecurityException {
        return decrypt(ciphertext, 0, ciphertext.length, associatedData);
    }

    /** Decrypts nonce, ciphertext and tag at {@code sealed[offset, offset + length)}. */
    public byte[] decrypt(byte[] sealed, int offset, int length, byte[] associatedData)
            throws GeneralSecurityException {
        if (length < NONCE_BYTES + TAG_BYTES) {
            throw new GeneralSecurityException("ciphertext too short");
        }
        Cipher own = borrowOwn();
        Cipher cipher = own != null ? own : SPARE.get();
        try {
            cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, sealed, offset, NONCE_BYTES));
            cipher.updateAAD(associatedData);
            return cipher.doFinal(sealed, offset + NONCE_BYTES, length - NONCE_BYTES);
        } finally {
            if (own != null) {
                giveBack(own);
            }
        }
    }

    /** Random nonces, drawn from {@link SecureRandom} a few hundred at a time. */
    private static final class NonceSource {
        private final SecureRandom random = new SecureRandom();
        private final byte[] buffer = new byte[NONCE_BYTES * 256];
        private int used = buffer.length;

        void next(byte[] out, int offset) {
            if (used == buffer.length) {
                random.nextBytes(buffer);
                used = 0;
            }
            System.arraycopy(buffer, used, out, offset, NONCE_BYTES);
            // A nonce is handed out once: wipe it from the buffer.
            java.util.Arrays.fill(buffer, used, used + NONCE_BYTES, (byte) 0);
            used += NONCE_BYTES;
        }
    }
}
