package dev.lethe.core.privacy.keys;

import dev.lethe.core.store.StorageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.Provider;
import java.security.ProviderException;
import java.security.SecureRandom;
import java.security.Security;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * A master key held in a PKCS#11 token (an HSM, or SoftHSM2 in tests), reached through the JDK's
 * SunPKCS11 provider. Each epoch is one AES-256 key generated inside the token as a private,
 * sensitive, non-extractable token object labelled {@value #LABEL_PREFIX}{@code <epoch>} (or under a
 * prefix of the caller's: one per store, so that stores sharing a token rotate apart); the newest epoch
 * wraps. The first {@link #open} of a token without such a key creates epoch 1, where allowed.
 *
 * <p>Wrapped layout (all inside the HSM: AES-256-GCM, 128-bit tag, {@code context} as the AAD):
 *
 * <pre>
 * epoch (4 bytes, big-endian) ‖ IV (12 random bytes) ‖ ciphertext (as long as the key) ‖ tag (16 bytes)
 * </pre>
 *
 * <p>Security guarantees: the key material never leaves the token; {@link #finishRotation()} deletes
 * the older epochs' token objects, after which nothing they wrapped, in any backup, can be unwrapped.
 * Deliberately not guaranteed: the epoch is not authenticated by itself (a changed epoch selects
 * another key, under which the tag fails); the IV is random, so one epoch should wrap well under
 * 2<sup>32</sup> keys; two instances on the same token do not see each other's rotations until
 * reopened. The PIN is used to log in and is not kept (only a salted PBKDF2 hash, so that a later open
 * with another PIN is refused although the token, already logged in, would accept it); {@link
 * #close()} does not log out, as a PKCS#11 login is shared by every session of the process. {@link
 * GeneralSecurityException} does not leave this class: wrap and unwrap failures are {@link
 * KeyUnavailableException}s, failures to open or rotate are permanent {@link StorageException}s.
 */
public final class Pkcs11MasterKey implements MasterKey {
    public static final String LABEL_PREFIX = "lethe-master-";
    public static final int KEY_BITS = 256;
    public static final int IV_BYTES = 12;
    public static final int TAG_BITS = 128;
    private static final int EPOCH_BYTES = 4;
    private static final String TRANSFORMATION = "AES/GCM/NoPadding";
    private static final java.util.concurrent.ConcurrentMap<String, Provider> PROVIDERS =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** What a label prefix may hold: PKCS#11 labels are free text, but these survive every tool. */
    private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9._-]{1,100}");

    private final Path library;
    /** The library file's identity and the slot: the token's key in this JVM's provider, login and lock maps. */
    private final String identity;

    private final long slot;
    private final String labelPrefix;
    private final Pattern label;
    private final Provider provider;
    private final KeyStore token;
    private final SecureRandom random = new SecureRandom();
    private volatile NavigableMap<Integer, SecretKey> epochs;

    private Pkcs11MasterKey(
            Path library, String identity, long slot, String labelPrefix, Provider provider, KeyStore token) {
        this.library = library;
        this.identity = identity;
        this.slot = slot;
        this.labelPrefix = labelPrefix;
        this.label = Pattern.compile(Pattern.quote(labelPrefix) + "([1-9][0-9]{0,8})");
        this.provider = provider;
        this.token = token;
    }

    /**
     * Logs in to the token in {@code slot} (the PKCS#11 slot id, as {@code softhsm2-util --show-slots}
     * prints it) of the PKCS#11 {@code library} and finds its epochs, labelled {@value #LABEL_PREFIX}
     * {@code <epoch>}; creates epoch 1 if there is none.
     */
    public static Pkcs11MasterKey open(Path library, long slot, char[] pin) {
        return open(library, slot, pin, LABEL_PREFIX, () -> true);
    }

    /**
     * Like {@link #open(Path, long, char[])}, with the epochs labelled {@code labelPrefix<epoch>}, so that
     * one token can hold the master keys of several stores, each rotated (and its old epochs destroyed)
     * on its own. When the token holds no epoch under that prefix, {@code mayCreateFirstEpoch} is asked
     * whether to create epoch 1; if not, opening fails, naming the label it looked for (a wrong slot or
     * token, or a reader that must not create key material).
     */
    public static Pkcs11MasterKey open(
            Path library, long slot, char[] pin, String labelPrefix, BooleanSupplier mayCreateFirstEpoch) {
        if (!PREFIX.matcher(labelPrefix).matches()) {
            throw new IllegalArgumentException(
                    "a label prefix is 1 to 100 of A-Z a-z 0-9 . _ -, not '" + labelPrefix + "'");
        }
        if (!Files.isRegularFile(library)) {
            throw StorageException.permanent("no PKCS#11 library at " + library, null);
        }
        Provider sunPkcs11 = Security.getProvider("SunPKCS11");
        if (sunPkcs11 == null) {
            throw StorageException.permanent("this JDK has no SunPKCS11 provider (module jdk.crypto.cryptoki)", null);
        }
        Pkcs11MasterKey master;
        try {
            // One configured provider per token for the life of the JVM: each holds native state that is
            // never released, so configuring one per open grew the heap by ~75 KB per open.
            // SunPKCS11 and the dynamic loader know a module by its path; a login is one per loaded module.
            // One module reached through two paths (a symbolic or hard link, "./") is one login, and a path
            // whose file was replaced (an upgrade) still reaches the module loaded before: the PIN is checked
            // under both the real path and the file's identity.
            Path real = library.toRealPath();
            String identity = identity(real) + " slot " + slot;
            String config = config(real, slot);
            Provider provider = PROVIDERS.computeIfAbsent(config, sunPkcs11::configure);
            KeyStore token = KeyStore.getInstance("PKCS11", provider);
            loadWithPin(token, List.of("path " + real + " slot " + slot, identity), pin, slot, library);
            master = new Pkcs11MasterKey(library, identity, slot, labelPrefix, provider, token);
            master.epochs = Collections.unmodifiableNavigableMap(master.findEpochs());
        } catch (GeneralSecurityException | IOException | ProviderException | IllegalArgumentException e) {
            String why = rootMessage(e);
            // A slot that names no token is not printed: it may be a PIN put in the slot's place (digits too).
            boolean noSuchSlot = why.contains("CKR_SLOT_ID_INVALID");
            throw StorageException.permanent(
                    "cannot open the PKCS#11 token in "
                            + (noSuchSlot
                                    ? "the slot given (" + Long.toString(slot).length() + " digits, not shown: no such"
                                            + " slot; softhsm2-util --show-slots or pkcs11-tool -L lists them)"
                                    : "slot " + slot)
                            + " of " + library + ": " + said(why) + why,
                    e);
        }
        if (master.epochs.isEmpty()) {
            synchronized (master.lock()) {
                // Looked at again under the lock: two opens at once would each create epoch 1, and a token
                // holding two keys with one label can no longer load either.
                master.refreshEpochs();
                if (master.epochs.isEmpty()) {
                    if (!mayCreateFirstEpoch.getAsBoolean()) {
                        throw StorageException.permanent(
                                "the PKCS#11 token in slot " + slot + " of " + library + " holds no key labelled "
                                        + labelPrefix + "<epoch>, and none may be created here",
                                null);
                    }
                    master.beginRotation();
                }
            }
        }
        return master;
    }

    /**
     * A hash of the PIN that logged in to each token (by library file and slot), salted per process.
     * A PKCS#11 login is shared by the whole process, so once one open has logged in the token accepts
     * any PIN; without this check a later open with a wrong PIN (another store's configuration, a typo
     * in a second config file) would be let in on the first one's login.
     */
    private static final java.util.concurrent.ConcurrentMap<String, byte[]> LOGIN_PINS =
            new java.util.concurrent.ConcurrentHashMap<>();

    private static final byte[] PIN_SALT = salt();

    private static byte[] salt() {
        byte[] salt = new byte[16];
        new SecureRandom().nextBytes(salt);
        return salt;
    }

    /** The file's identity (device and inode where the file system has them), else its real path. */
    private static String identity(Path real) throws IOException {
        Object key = Files.readAttributes(real, java.nio.file.attribute.BasicFileAttributes.class)
                .fileKey();
        return key != null ? "file " + key : "path " + real;
    }

    /**
     * Logs in with {@code pin} ({@code token.load}), or, once this process is logged in to the token,
     * checks the PIN against the hash of the one that did. Under a lock per token: of two first opens at
     * once, the one that logs in is the one whose PIN is kept.
     */
    private static void loadWithPin(KeyStore token, List<String> keys, char[] pin, long slot, Path library)
            throws GeneralSecurityException, IOException {
        byte[] hash = pinHash(pin);
        synchronized (LOGIN) {
            for (String key : keys) {
                byte[] first = LOGIN_PINS.get(key);
                if (first != null && !java.security.MessageDigest.isEqual(first, hash)) {
                    throw StorageException.permanent(
                            "wrong PIN for the PKCS#11 token in slot " + slot + " of " + library
                                    + ": this process is logged in to it with another PIN (a PKCS#11 login is shared"
                                    + " by the whole process, so the token itself no longer checks; if the token's PIN"
                                    + " was changed since, restart the process)",
                            null);
                }
            }
            token.load(null, pin);
            keys.forEach(key -> LOGIN_PINS.putIfAbsent(key, hash));
        }
    }

    /** Held while logging in: logins are rare, and two at once must not both record a PIN. */
    private static final Object LOGIN = new Object();

    /**
     * PBKDF2 (HMAC-SHA256, 100,000 iterations) of the PIN with this process's salt: the PIN itself is not
     * kept, and a heap dump does not give it away cheaply.
     */
    private static byte[] pinHash(char[] pin) {
        try {
            javax.crypto.spec.PBEKeySpec spec = new javax.crypto.spec.PBEKeySpec(pin, PIN_SALT, 100_000, 256);
            try {
                return javax.crypto.SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                        .generateSecret(spec)
                        .getEncoded();
            } finally {
                spec.clearPassword();
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK lacks PBKDF2WithHmacSHA256", e);
        }
    }

    /** One lock per token and label prefix in this JVM, held while epochs are created or destroyed. */
    private static final java.util.concurrent.ConcurrentMap<String, Object> LOCKS =
            new java.util.concurrent.ConcurrentHashMap<>();

    private Object lock() {
        return LOCKS.computeIfAbsent(identity + " " + labelPrefix, k -> new Object());
    }

    private void refreshEpochs() {
        try {
            epochs = Collections.unmodifiableNavigableMap(findEpochs());
        } catch (GeneralSecurityException | ProviderException e) {
            throw StorageException.permanent("cannot list the keys of " + describe() + ": " + rootMessage(e), e);
        }
    }

    /** SunPKCS11's inline configuration; keys it generates are sensitive and never extractable. */
    static String config(Path library, long slot) {
        return "--name = lethe-" + slot + "\n"
                + "library = " + library.toAbsolutePath() + "\n"
                + "slot = " + slot + "\n"
                + "attributes(generate, CKO_SECRET_KEY, CKK_AES) = {\n"
                + "  CKA_SENSITIVE = true\n"
                + "  CKA_EXTRACTABLE = false\n"
                + "}\n";
    }

    private TreeMap<Integer, SecretKey> findEpochs() throws GeneralSecurityException {
        TreeMap<Integer, SecretKey> found = new TreeMap<>();
        for (String alias : Collections.list(token.aliases())) {
            Matcher labelled = label.matcher(alias);
            Key key = labelled.matches() ? token.getKey(alias, null) : null;
            if (key instanceof SecretKey secret) {
                found.put(Integer.parseInt(labelled.group(1)), secret);
            }
        }
        return found;
    }

    /** The configured SunPKCS11 provider, shared by every open of the same token. */
    Provider provider() {
        return provider;
    }

    @Override
    public java.util.List<Integer> liveEpochs() {
        return java.util.List.copyOf(epochs.keySet());
    }

    @Override
    public int epoch() {
        return epochs.lastKey();
    }

    @Override
    public byte[] wrap(byte[] key, byte[] context) {
        var newest = epochs.lastEntry();
        byte[] iv = new byte[IV_BYTES];
        random.nextBytes(iv);
        try {
            Cipher gcm = cipher(Cipher.ENCRYPT_MODE, newest.getValue(), iv, context);
            return ByteBuffer.allocate(EPOCH_BYTES + IV_BYTES + gcm.getOutputSize(key.length))
                    .putInt(newest.getKey())
                    .put(iv)
                    .put(gcm.doFinal(key))
                    .array();
        } catch (GeneralSecurityException | ProviderException e) {
            throw new KeyUnavailableException(
                    "master key epoch " + newest.getKey() + " cannot wrap: " + rootMessage(e)
                            + (deviceFailure(e) ? UNREACHABLE_HINT : ""),
                    e,
                    deviceFailure(e));
        }
    }

    /** The first four bytes, big-endian. */
    @Override
    public java.util.OptionalInt epochOf(byte[] wrapped) {
        if (wrapped == null || wrapped.length < EPOCH_BYTES) {
            return java.util.OptionalInt.empty();
        }
        return java.util.OptionalInt.of(ByteBuffer.wrap(wrapped).getInt());
    }

    @Override
    public byte[] unwrap(byte[] wrapped, byte[] context) {
        if (wrapped.length < EPOCH_BYTES + IV_BYTES + TAG_BITS / 8) {
            throw new KeyUnavailableException(
                    "a wrapped key is at least 32 bytes; this one has " + wrapped.length, null);
        }
        int epoch = ByteBuffer.wrap(wrapped).getInt();
        SecretKey key = epochs.get(epoch);
        if (key == null) {
            throw new KeyUnavailableException(
                    "master key epoch " + Integer.toUnsignedLong(epoch) + " was destroyed or never existed in this"
                            + " token (a keys.db restored from before a master key rotation, or another store's?"
                            + " lethe keys check tells)",
                    null);
        }
        try {
            byte[] iv = Arrays.copyOfRange(wrapped, EPOCH_BYTES, EPOCH_BYTES + IV_BYTES);
            return cipher(Cipher.DECRYPT_MODE, key, iv, context)
                    .doFinal(wrapped, EPOCH_BYTES + IV_BYTES, wrapped.length - EPOCH_BYTES - IV_BYTES);
        } catch (GeneralSecurityException | ProviderException e) {
            if (deviceFailure(e) || (generalError(e) && !roundTrips(epoch))) {
                throw new KeyUnavailableException(
                        "the token did not unwrap with master key epoch " + epoch + ": " + rootMessage(e)
                                + UNREACHABLE_HINT,
                        e,
                        true);
            }
            throw new KeyUnavailableException(
                    "master key epoch " + epoch + " does not unwrap this key with this "
                            + "context (tampered, or wrapped for another context): " + rootMessage(e),
                    e);
        }
    }

    private static final String UNREACHABLE_HINT = " (the token or HSM failed, not this key: check that it is"
            + " reachable; a token that comes back needs this process restarted, its key handles are not looked"
            + " up again)";

    /**
     * PKCS#11 return values that say the device, session or key handle failed, not the data: the same
     * call may succeed once the token is back. A tag that does not verify (tampering, another context) is
     * none of these.
     */
    private static final java.util.List<String> DEVICE_FAILURES = java.util.List.of(
            "CKR_OBJECT_HANDLE_INVALID",
            "CKR_KEY_HANDLE_INVALID",
            "CKR_SESSION_HANDLE_INVALID",
            "CKR_SESSION_CLOSED",
            "CKR_DEVICE_ERROR",
            "CKR_DEVICE_REMOVED",
            "CKR_DEVICE_MEMORY",
            "CKR_TOKEN_NOT_PRESENT",
            "CKR_TOKEN_NOT_RECOGNIZED",
            "CKR_USER_NOT_LOGGED_IN",
            "CKR_CRYPTOKI_NOT_INITIALIZED",
            "CKR_SLOT_ID_INVALID",
            "CKR_GENERAL_ERROR",
            "CKR_FUNCTION_FAILED",
            "CKR_HOST_MEMORY",
            "Token has been removed");

    /** A PKCS#11 return code an operator meets at a login, in words, before the code itself. */
    static String said(String why) {
        if (why.contains("CKR_PIN_INCORRECT")) {
            return "the PIN is wrong (each wrong PIN uses up one of the token's login retries: a real HSM locks"
                    + " the PIN after a few; check --pkcs11-pin-file or LETHE_PKCS11_PIN before trying again) — ";
        }
        if (why.contains("CKR_PIN_LOCKED")) {
            return "the token's PIN is locked after too many wrong PINs (the token's security officer must unlock"
                    + " it) — ";
        }
        if (why.contains("CKR_PIN_EXPIRED")) {
            return "the token's PIN has expired (set a new one with the token's own tools) — ";
        }
        if (why.contains("CKR_TOKEN_NOT_RECOGNIZED") || why.contains("CKR_TOKEN_NOT_PRESENT")) {
            return "the slot holds no token this library can use (not initialised, or removed:"
                    + " softhsm2-util --show-slots or pkcs11-tool -L lists them) — ";
        }
        return "";
    }

    /**
     * Whether {@code e} is a tag that did not verify as SunPKCS11 reports {@code CKR_GENERAL_ERROR} from the
     * token's decrypt: some tokens answer a bad tag so, others a failing device. {@link #roundTrips} tells
     * them apart.
     */
    static boolean generalError(Throwable e) {
        int depth = 0;
        for (Throwable cause = e; cause != null && depth++ < 16; cause = cause.getCause()) {
            if (String.valueOf(cause.getMessage()).contains("CKR_GENERAL_ERROR")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether the key of {@code epoch} still wraps and unwraps a throwaway value: after an ambiguous failure,
     * a key that does says the wrapped key itself is wrong (tampered); one that does not, the token.
     */
    boolean roundTrips(int epoch) {
        SecretKey key = epochs.get(epoch);
        if (key == null) {
            return false;
        }
        byte[] probe = new byte[KEY_BITS / 8];
        byte[] iv = new byte[IV_BYTES];
        random.nextBytes(iv);
        byte[] context = "lethe-pkcs11-probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try {
            byte[] sealed = cipher(Cipher.ENCRYPT_MODE, key, iv, context).doFinal(probe);
            return Arrays.equals(cipher(Cipher.DECRYPT_MODE, key, iv, context).doFinal(sealed), probe);
        } catch (GeneralSecurityException | ProviderException e) {
            return false;
        }
    }

    static boolean deviceFailure(Throwable e) {
        if (e instanceof javax.crypto.AEADBadTagException) {
            return false;
        }
        int depth = 0;
        for (Throwable cause = e; cause != null && depth++ < 16; cause = cause.getCause()) {
            String message = String.valueOf(cause.getMessage());
            if (cause instanceof javax.crypto.AEADBadTagException) {
                return false;
            }
            if (DEVICE_FAILURES.stream().anyMatch(message::contains)) {
                return true;
            }
        }
        return false;
    }

    // A Cipher per call: SunPKCS11 GCM ciphers refuse to reuse an IV and are not thread-safe.
    private Cipher cipher(int mode, SecretKey key, byte[] iv, byte[] context) throws GeneralSecurityException {
        Cipher gcm = Cipher.getInstance(TRANSFORMATION, provider);
        gcm.init(mode, key, new GCMParameterSpec(TAG_BITS, iv));
        gcm.updateAAD(context);
        return gcm;
    }

    @Override
    public int beginRotation() {
        synchronized (lock()) {
            refreshEpochs(); // another instance in this JVM may have added an epoch since this one looked
            return createNextEpoch();
        }
    }

    private int createNextEpoch() {
        int next = epochs.isEmpty() ? 1 : epochs.lastKey() + 1;
        try {
            KeyGenerator generator = KeyGenerator.getInstance("AES", provider);
            generator.init(KEY_BITS);
            // Generated as a session object, then copied by the key store into a labelled, private
            // token object; the session copy disappears with its session.
            token.setEntry(labelPrefix + next, new KeyStore.SecretKeyEntry(generator.generateKey()), null);
            TreeMap<Integer, SecretKey> grown = new TreeMap<>(epochs);
            grown.put(next, (SecretKey) token.getKey(labelPrefix + next, null));
            epochs = Collections.unmodifiableNavigableMap(grown);
            return next;
        } catch (GeneralSecurityException | ProviderException e) {
            throw StorageException.permanent(
                    "cannot create master key epoch " + next + " in " + describe() + ": " + rootMessage(e), e);
        }
    }

    @Override
    public List<Integer> finishRotation() {
        synchronized (lock()) {
            return destroyOlderEpochs();
        }
    }

    private List<Integer> destroyOlderEpochs() {
        TreeMap<Integer, SecretKey> remaining = new TreeMap<>(epochs);
        List<Integer> destroyed = new ArrayList<>();
        try {
            for (int old : epochs.headMap(epochs.lastKey()).keySet()) {
                token.deleteEntry(labelPrefix + old);
                remaining.remove(old);
                destroyed.add(old);
            }
            return destroyed;
        } catch (GeneralSecurityException | ProviderException e) {
            throw StorageException.permanent(
                    "cannot destroy old master key epochs in " + describe() + ": " + rootMessage(e), e);
        } finally {
            epochs = Collections.unmodifiableNavigableMap(remaining);
        }
    }

    @Override
    public String describe() {
        NavigableMap<Integer, SecretKey> current = epochs;
        return "PKCS#11 token in slot " + slot + " of " + library + ", keys " + labelPrefix + "<epoch>"
                + (current.isEmpty() ? "" : ", epoch " + current.lastKey());
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + root + ")";
    }
}
