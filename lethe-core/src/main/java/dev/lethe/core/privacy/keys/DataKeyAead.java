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
 * shared by every key of a thread, each data key keeps its own cipher per thread (up to {@value
 * #CIPHERS_PER_THREAD} keys a thread): the JDK then keeps the expanded AES key between calls, instead of
 * redoing it whenever consecutive fields use different keys.
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
    /**
     * Each thread's ciphers, one per data key it used (weakly held: a key the key service dropped takes its
     * cipher with it at the next collection), at most {@value #CIPHERS_PER_THREAD}; past that, keys share
     * the thread's spare cipher, initialised with each call's key. So a replay over more keys than that
     * costs a key schedule per field instead of memory per key and thread.
     */
    private static final ThreadLocal<java.util.Map<DataKeyAead, Cipher>> CIPHERS =
            ThreadLocal.withInitial(java.util.WeakHashMap::new);

    private static final ThreadLocal<Cipher> SPARE = ThreadLocal.withInitial(DataKeyAead::newCipher);

    static final int CIPHERS_PER_THREAD = 4_096;

    private Cipher cipher() {
        java.util.Map<DataKeyAead, Cipher> ciphers = CIPHERS.get();
        Cipher cipher = ciphers.get(this);
        if (cipher == null) {
            if (ciphers.size() >= CIPHERS_PER_THREAD) {
                return SPARE.get();
            }
            cipher = newCipher();
            ciphers.put(this, cipher);
        }
        return cipher;
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
        Cipher cipher = cipher();
        cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, out, outOffset, NONCE_BYTES));
        cipher.updateAAD(associatedData);
        cipher.doFinal(plaintext, offset, length, out, outOffset + NONCE_BYTES);
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
        Cipher cipher = cipher();
        cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, sealed, offset, NONCE_BYTES));
        cipher.updateAAD(associatedData);
        return cipher.doFinal(sealed, offset + NONCE_BYTES, length - NONCE_BYTES);
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
