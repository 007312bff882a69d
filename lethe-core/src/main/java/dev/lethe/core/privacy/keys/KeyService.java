package dev.lethe.core.privacy.keys;

import com.google.crypto.tink.subtle.Hkdf;
import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.ErasureFenceException;
import dev.lethe.core.privacy.Redaction.Reason;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.store.InvalidEventException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The key service: subjects and their keys, period keys, data keys, forgetting, expiry and master key
 * rotation.
 *
 * <pre>
 * master key (epoch e)
 *   ├─ wraps subject key K_s  (32 random bytes per data subject; destroyed on forget)
 *   └─ wraps period key  K_p  (32 random bytes per data group and period; destroyed at expiry)
 * data key DEK(s, g, p) = HKDF-SHA256(ikm = K_s ‖ K_p, salt = none, info = "lethe/v1" 0x00 g 0x00 p), 32 bytes
 * </pre>
 *
 * <p>Data keys are cached (at most {@value #CACHE_ENTRIES}, each for {@value #CACHE_TTL_SECONDS} s), and so
 * are the unwrapped subject and period keys they derive from (at most {@value #RAW_KEY_ENTRIES} each, for
 * as long); aged-out entries are not used, and are dropped by the next key cached a minute or more after
 * the last sweep. A forget or an expiry evicts the affected
 * entries before it returns; closing the service drops them all.
 */
public final class KeyService implements AutoCloseable {
    public static final int CACHE_ENTRIES = 100_000;
    public static final long CACHE_TTL_SECONDS = 600;
    static final String BLIND_INDEX_SECRET = "blind-index";
    private static final int KEY_BYTES = 32;

    private final KeyStore store;
    private final MasterKey master;
    private final DataPolicy policy;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    /** Read without a lock; written under this service's lock, so that eviction and generation agree. */
    private final Map<DataKeyId, DataKeyAead> cache = new ConcurrentHashMap<>(1024);
    /**
     * Unwrapped subject and period keys, so that a data key the cache has dropped costs an HKDF, not two
     * key-store queries (under the store's lock) and two unwraps: with more subjects than the data-key
     * cache holds, replays with decryption fell from 200,000 to 20,000 events/s. Evicted by a forget or an
     * expiry with the data keys they derive; bounded and aged as the data-key cache is.
     */
    private final Map<SubjectId, CachedRaw> subjectKeys = new ConcurrentHashMap<>(1024);

    private final Map<String, CachedRaw> periodKeys = new ConcurrentHashMap<>(64);

    /** Unwrapped subject keys (and, apart, period keys) kept at most: 32 bytes each, with their map entry under 200. */
    public static final int RAW_KEY_ENTRIES = 50_000;

    /** Aged-out entries of every cache are dropped by the first key cached this long after the last sweep. */
    private static final long SWEEP_NANOS = 60_000_000_000L;

    private long lastSweepNanos = System.nanoTime();

    /**
     * Cached data keys that may keep an AES-GCM cipher of their own (its expanded key, about 0.8 KB): about
     * 52 MB at most. Past that, a key is keyed anew into its thread's spare cipher at each use, an AES key
     * schedule per field (a replay over 40,000 keys spent a quarter of its time on it).
     */
    static final int OWN_CIPHERS = 65_536;

    /** How many cached data keys are allowed a cipher of their own; guarded by this service's lock. */
    private int ownCiphers;

    private record CachedRaw(byte[] key, long expiresNanos) {}

    private volatile byte[] blindIndexKey;
    /**
     * Raised (under this service's lock) by every forget and expiry: a data key looked up before one of
     * them is not cached after it.
     */
    private volatile long generation;

    /**
     * Counts the key store's changes that leave older page images of keys to scrub (a forget, an expiry, a
     * re-wrap — counted even when they failed after their commit — and a scrub that failed); {@link
     * #scrubbedUpTo} is the count a scrub that succeeded started from. More changes than scrubbed: images may
     * remain, and a retention run with nothing due tries again (as every forget, expiry, open and close does).
     * A scrub that started before a change does not count it scrubbed.
     */
    private final java.util.concurrent.atomic.AtomicLong keysChanged = new java.util.concurrent.atomic.AtomicLong();

    private long scrubbedUpTo; // guarded by keysChanged

    private boolean unscrubbed() {
        synchronized (keysChanged) {
            return keysChanged.get() > scrubbedUpTo;
        }
    }

    /** Set by {@link #close}: nothing is cached after it. Guarded by this service's lock. */
    private boolean closed;
    /**
     * Blind index (never the natural key) to subject, for subjects seen recently; emptied of a subject on
     * forget. Read without a lock; written under this service's lock.
     */
    private final Map<java.nio.ByteBuffer, SubjectId> subjectsByIndex = new ConcurrentHashMap<>(1024);

    private final ThreadLocal<Mac> blindIndexMac = ThreadLocal.withInitial(this::newBlindIndexMac);
    private final java.util.Set<UUID> auditedNotMarked = ConcurrentHashMap.newKeySet();
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();

    public KeyService(KeyStore store, MasterKey master, DataPolicy policy, Clock clock) {
        this.store = store;
        this.master = master;
        this.policy = policy;
        this.clock = clock;
    }

    public DataPolicy policy() {
        return policy;
    }

    public MasterKey master() {
        return master;
    }

    /**
     * A cached data key's name: subject, group and period, flat (the UUID's two halves inline, its hash
     * computed once), so that a lookup among 100,000 cached keys reads few cold cache lines. The cached
     * keys share one copy of each group and period name ({@link #canonical}).
     */
    static final class DataKeyId {
        private final long high;
        private final long low;
        private final String group;
        private final String period;
        private final int hash;

        DataKeyId(SubjectId subject, DataGroup group, String period) {
            this(
                    subject.value().getMostSignificantBits(),
                    subject.value().getLeastSignificantBits(),
                    group.name(),
                    period);
        }

        private DataKeyId(long high, long low, String group, String period) {
            this.high = high;
            this.low = low;
            this.group = group;
            this.period = period;
            this.hash = (Long.hashCode(high ^ low) * 31 + group.hashCode()) * 31 + period.hashCode();
        }

        boolean isOf(SubjectId subject) {
            return subject.value().getMostSignificantBits() == high
                    && subject.value().getLeastSignificantBits() == low;
        }

        boolean isIn(DataGroup group, String period) {
            return this.group.equals(group.name()) && this.period.equals(period);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof DataKeyId that
                    && hash == that.hash
                    && high == that.high
                    && low == that.low
                    && group.equals(that.group)
                    && period.equals(that.period);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** One copy of each group and period name for the cached keys' names; guarded by this service's lock. */
    private final Map<String, String> names = new java.util.HashMap<>();

    private DataKeyId canonical(DataKeyId id) {
        if (names.size() > 10_000) {
            names.clear();
        }
        return new DataKeyId(
                id.high,
                id.low,
                names.computeIfAbsent(id.group, name -> name),
                names.computeIfAbsent(id.period, name -> name));
    }

    /** The outcome of asking for a data key to read with: the key, or why there is none. */
    public sealed interface Lookup permits Found, Missing {}

    public record Found(DataKeyAead aead) implements Lookup {}

    public record Missing(Reason reason) implements Lookup {}

    /**
     * A new data subject with a fresh key. (Key creation holds this service's lock, as {@link #rotateMaster}
     * does: a key wrapped under the old epoch and stored after the rotation's snapshot would be lost with it.)
     */
    public synchronized SubjectId newSubject() {
        SubjectId subject = SubjectId.random();
        store.createSubject(subject, wrapNew(KeyRefs.subject(subject)), Optional.empty());
        return subject;
    }

    /**
     * The subject a key field names: a subject id the key service knows is used as is; anything else
     * is a natural key, looked up in the blind index and given a new subject on first use.
     */
    public SubjectId resolve(String keyValue) {
        if (keyValue == null || blank(keyValue)) {
            // Blank keys would all be one natural key: every event with one, one person.
            throw InvalidEventException.of(
                    "data subject key",
                    keyValue == null || keyValue.isEmpty()
                            ? "is empty"
                            : "is blank (only spaces, invisible or control characters)");
        }
        if (SubjectId.looksLikeOne(keyValue)) {
            SubjectId subject = knownPseudonym(SubjectId.parse(keyValue));
            if (subject != null) {
                return subject;
            }
        }
        byte[] index = blindIndex(keyValue);
        SubjectId cached = subjectsByIndex.get(java.nio.ByteBuffer.wrap(index));
        return cached != null ? cached : resolveSlowly(index);
    }

    /**
     * Resolves several key values as {@link #resolve} does each, creating the subjects seen for the first
     * time together, in one key-store write: a batch of events for a hundred new customers costs one durable
     * write of the key store, not a hundred. Values {@code resolve} reads otherwise (blank ones, which it
     * refuses; those that look like subject ids) are left out of the answer, for it.
     *
     * @return the subject of each natural key resolved here
     */
    public Map<String, SubjectId> resolveAll(java.util.Collection<String> keyValues) {
        Map<String, SubjectId> resolved = new java.util.HashMap<>();
        Map<String, byte[]> unseen = new LinkedHashMap<>();
        for (String value : keyValues) {
            if (value == null
                    || resolved.containsKey(value)
                    || unseen.containsKey(value)
                    || blank(value)
                    || SubjectId.looksLikeOne(value)) {
                continue;
            }
            byte[] index = blindIndex(value);
            SubjectId cached = subjectsByIndex.get(java.nio.ByteBuffer.wrap(index));
            if (cached != null) {
                resolved.put(value, cached);
            } else {
                unseen.put(value, index);
            }
        }
        if (!unseen.isEmpty()) {
            resolved.putAll(createUnseen(unseen));
        }
        return resolved;
    }

    /** The subjects of natural keys the cache did not hold: looked up, the others created in one write. */
    private synchronized Map<String, SubjectId> createUnseen(Map<String, byte[]> indexes) {
        Map<String, SubjectId> found = new LinkedHashMap<>();
        Map<java.nio.ByteBuffer, SubjectId> made = new java.util.HashMap<>(); // two values, one index: one subject
        List<KeyStore.NewSubject> created = new ArrayList<>();
        for (Map.Entry<String, byte[]> each : indexes.entrySet()) {
            byte[] index = each.getValue();
            SubjectId subject = subjectsByIndex.get(java.nio.ByteBuffer.wrap(index));
            if (subject == null) {
                subject = made.get(java.nio.ByteBuffer.wrap(index));
            }
            if (subject == null) {
                Optional<SubjectId> known = findByIndex(index);
                subject = known.orElseGet(SubjectId::random);
                if (known.isEmpty()) {
                    created.add(new KeyStore.NewSubject(
                            subject, wrapNew(KeyRefs.subject(subject)), Optional.of(indexEntry(index))));
                }
                made.put(java.nio.ByteBuffer.wrap(index), subject);
            }
            found.put(each.getKey(), subject);
        }
        store.createSubjects(created);
        if (subjectsByIndex.size() + indexes.size() >= CACHE_ENTRIES) {
            subjectsByIndex.clear();
        }
        indexes.forEach((value, index) -> subjectsByIndex.put(java.nio.ByteBuffer.wrap(index), found.get(value)));
        return found;
    }

    /**
     * Whether a key value holds nothing visible (only spaces, control, format or other invisible characters:
     * {@link dev.lethe.core.privacy.Invisible#showsNothing}), which {@link #resolve} refuses: every such value
     * would be one natural key, and so one person.
     */
    public static boolean blank(String text) {
        // A loop, not a stream: it runs for every key of every append, and stops at the first visible character.
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            if (!dev.lethe.core.privacy.Invisible.showsNothing(c)) {
                return false;
            }
            i += Character.charCount(c);
        }
        return true;
    }

    /** Whether this key store issued {@code subject} (it has a key, or was forgotten); audits nothing. */
    public boolean knows(SubjectId subject) {
        return knownPseudonym(subject) != null;
    }

    /** {@code subject} if the key store knows it (live or forgotten), else null. */
    private synchronized SubjectId knownPseudonym(SubjectId subject) {
        return store.isForgotten(subject) || store.subjectKey(subject).isPresent() ? subject : null;
    }

    /** The subject of a blind index the cache did not hold: looked up, or created with its key. */
    private synchronized SubjectId resolveSlowly(byte[] index) {
        java.nio.ByteBuffer indexKey = java.nio.ByteBuffer.wrap(index);
        SubjectId cached = subjectsByIndex.get(indexKey);
        if (cached != null) {
            return cached;
        }
        Optional<SubjectId> known = findByIndex(index);
        SubjectId subject = known.orElseGet(SubjectId::random);
        if (known.isEmpty()) {
            store.createSubject(subject, wrapNew(KeyRefs.subject(subject)), Optional.of(indexEntry(index)));
        }
        if (subjectsByIndex.size() >= CACHE_ENTRIES) {
            subjectsByIndex.clear();
        }
        subjectsByIndex.put(indexKey, subject);
        return subject;
    }

    /**
     * The subject a key value names, without creating one, as {@link #resolve} reads it: a subject id the
     * key service knows (live or forgotten: see {@link #isForgotten}) is that subject; anything else is a
     * natural key, looked up in the blind index (a forgotten subject's natural key maps to none), exactly as
     * written: a key field that held the JSON number {@code 1.50} resolved it as {@code 1.5} ({@link
     * dev.lethe.core.privacy.PrivacyCodec#numberKeyText} says how), and the text {@code "1.50"} may be
     * another person's key.
     */
    public Optional<SubjectId> lookup(String naturalKey) {
        dev.lethe.core.spi.AppendRules.require(naturalKey, "natural key");
        if (SubjectId.looksLikeOne(naturalKey)) {
            SubjectId subject = knownPseudonym(SubjectId.parse(naturalKey));
            if (subject != null) {
                return Optional.of(subject);
            }
        }
        byte[] index = blindIndex(naturalKey);
        synchronized (this) { // not between a rotation's commit and its new secret taking effect here
            return findByIndex(index);
        }
    }

    /**
     * The secret the stored blind index is keyed by in this rotation ({@code secret:blind-index-epoch}):
     * an entry's {@code hash} is HMAC-SHA256 under it of the natural key's first-level index ({@link
     * #blindIndex}), so that a rotation, which replaces it, leaves a copy of {@code keys.db} taken before
     * with entries no key alive can compute again from a natural key.
     */
    static final String BLIND_INDEX_EPOCH_SECRET = "blind-index-epoch";

    /** The unwrapped rotation secret of the index; null until looked up, or in a store without one. */
    private volatile byte[] epochIndexKey;

    /** Whether {@link #epochIndexKey} was looked up for good (a writer's; a reader looks again). */
    private volatile boolean epochIndexSettled;

    /** Whether some entries are still keyed the old way (their hash the first-level index); guarded by this. */
    private volatile boolean unsealedEntries = true;

    private final ThreadLocal<Object[]> epochIndexMac = new ThreadLocal<>();

    /** The subject of a natural key's first-level index, among entries keyed either way. */
    private Optional<SubjectId> findByIndex(byte[] index) {
        byte[] key = epochIndexKey();
        if (key != null) {
            Optional<SubjectId> found = store.subjectByBlindIndex(epochIndex(key, index));
            if (found.isPresent() || !unsealedEntries) {
                return found;
            }
        }
        return store.subjectByBlindIndex(index);
    }

    /** The entry to store for a new subject's natural key: keyed by the rotation's secret where there is one. */
    private KeyStore.IndexEntry indexEntry(byte[] index) {
        byte[] key = epochIndexKey();
        if (key == null) {
            return new KeyStore.IndexEntry(index, null);
        }
        byte[] hash = epochIndex(key, index);
        return new KeyStore.IndexEntry(hash, sealIndex(key, hash, index));
    }

    /**
     * The rotation's index secret, created by a writer whose store has no entries keyed the old way (a new
     * store); a store that has some keeps looking them up as they are until a rotation re-keys them all.
     */
    private byte[] epochIndexKey() {
        byte[] key = epochIndexKey;
        if (key != null || epochIndexSettled) {
            return key;
        }
        synchronized (this) {
            if (epochIndexKey != null || epochIndexSettled) {
                return epochIndexKey;
            }
            String ref = KeyRefs.secret(BLIND_INDEX_EPOCH_SECRET);
            Optional<byte[]> wrapped = store.secret(BLIND_INDEX_EPOCH_SECRET);
            unsealedEntries = store.hasUnsealedBlindIndex();
            if (wrapped.isEmpty() && !unsealedEntries && store.hasBlindIndexEntries()) {
                // Entries keyed by a secret that is gone: a new one would find none of them, and every person
                // appended again would become a second subject.
                throw new KeyUnavailableException(
                        "keys.db holds blind-index entries keyed by a rotation secret (secret:blind-index-epoch) it"
                                + " no longer holds: natural keys cannot be resolved; restore the whole data"
                                + " directory from one backup (docs/privacy.md §9, Restoring)",
                        null);
            }
            if (wrapped.isEmpty() && !store.readOnly() && !unsealedEntries) {
                wrapped = Optional.of(store.createSecret(BLIND_INDEX_EPOCH_SECRET, wrapNew(ref)));
            }
            if (wrapped.isPresent()) {
                epochIndexKey = masterUnwrap(wrapped.get(), KeyRefs.context(ref));
            }
            // A reader looks again next time: the writer beside it may create the secret meanwhile.
            epochIndexSettled = !store.readOnly() || epochIndexKey != null;
            return epochIndexKey;
        }
    }

    /** HMAC-SHA256 of a first-level index under the rotation's index secret {@code key}. */
    private byte[] epochIndex(byte[] key, byte[] index) {
        Object[] keyed = epochIndexMac.get();
        if (keyed == null || keyed[0] != key) {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(key, "HmacSHA256"));
                keyed = new Object[] {key, mac};
                epochIndexMac.set(keyed);
            } catch (GeneralSecurityException e) {
                throw new KeyUnavailableException("blind index: " + e.getMessage(), e);
            }
        }
        return ((Mac) keyed[1]).doFinal(index);
    }

    private static final byte[] SEAL_LABEL = "lethe/blind-index/seal".getBytes(StandardCharsets.US_ASCII);

    /**
     * {@code index} sealed with AES-256-GCM under a key derived from the rotation's secret (HMAC-SHA256 of
     * {@code "lethe/blind-index/seal"}), bound to its entry's {@code hash}: {@code nonce (12) ‖ ciphertext ‖
     * tag (16)}. What the next rotation re-keys the entry from; once that rotation has replaced the secret,
     * no key alive opens the copy of it in an older {@code keys.db}.
     */
    private byte[] sealIndex(byte[] key, byte[] hash, byte[] index) {
        try {
            byte[] nonce = new byte[12];
            random.nextBytes(nonce);
            javax.crypto.Cipher cipher = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(
                    javax.crypto.Cipher.ENCRYPT_MODE,
                    new SecretKeySpec(sealKey(key), "AES"),
                    new javax.crypto.spec.GCMParameterSpec(128, nonce));
            cipher.updateAAD(hash);
            byte[] sealed = cipher.doFinal(index);
            byte[] out = new byte[nonce.length + sealed.length];
            System.arraycopy(nonce, 0, out, 0, nonce.length);
            System.arraycopy(sealed, 0, out, nonce.length, sealed.length);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is unavailable: " + e.getMessage(), e);
        }
    }

    private static byte[] openIndex(byte[] key, IndexRowView row) {
        try {
            byte[] sealed = row.sealed();
            javax.crypto.Cipher cipher = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(
                    javax.crypto.Cipher.DECRYPT_MODE,
                    new SecretKeySpec(sealKey(key), "AES"),
                    new javax.crypto.spec.GCMParameterSpec(128, sealed, 0, 12));
            cipher.updateAAD(row.hash());
            return cipher.doFinal(sealed, 12, sealed.length - 12);
        } catch (GeneralSecurityException | RuntimeException e) { // a value too short for a nonce, say
            throw new KeyUnavailableException(
                    "a blind-index entry of subject " + row.subject() + " does not open under the index secret"
                            + " (keys.db altered, or its secret replaced without it): " + e.getMessage(),
                    e);
        }
    }

    private record IndexRowView(SubjectId subject, byte[] hash, byte[] sealed) {}

    private static byte[] sealKey(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(SEAL_LABEL);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is unavailable: " + e.getMessage(), e);
        }
    }

    /**
     * Every blind-index entry keyed anew under {@code newKey}, from the first-level index each holds
     * (sealed under the current secret; an entry keyed the old way is that index itself).
     */
    private List<KeyStore.IndexRow> rekeyedIndex(byte[] newKey) {
        List<KeyStore.IndexRow> rows = store.blindIndexRows();
        // Looked up only when an entry is sealed under it (a store without entries creates no secret here).
        byte[] current = rows.stream().anyMatch(row -> row.entry().sealed() != null) ? epochIndexKey() : null;
        List<KeyStore.IndexRow> rekeyed = new ArrayList<>();
        for (KeyStore.IndexRow row : rows) {
            byte[] index;
            if (row.entry().sealed() == null) {
                index = row.entry().hash();
            } else if (current == null) {
                throw new KeyUnavailableException(
                        "keys.db holds blind-index entries keyed by a rotation secret it does not hold", null);
            } else {
                index = openIndex(
                        current,
                        new IndexRowView(
                                row.subject(), row.entry().hash(), row.entry().sealed()));
            }
            byte[] hash = epochIndex(newKey, index);
            rekeyed.add(new KeyStore.IndexRow(
                    row.subject(), new KeyStore.IndexEntry(hash, sealIndex(newKey, hash, index))));
            java.util.Arrays.fill(index, (byte) 0);
        }
        return rekeyed;
    }

    /** The first-level blind index of a natural key: HMAC-SHA256 under the blind-index secret. */
    byte[] blindIndex(String naturalKey) {
        return blindIndexMac.get().doFinal(naturalKey.getBytes(StandardCharsets.UTF_8));
    }

    private Mac newBlindIndexMac() {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(blindIndexKey(), "HmacSHA256"));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new KeyUnavailableException("blind index: " + e.getMessage(), e);
        }
    }

    /**
     * Why the master key's device last failed (an HSM that stopped answering, a token removed), until the
     * master key next unwraps; null while it works.
     */
    private volatile String masterFailure;

    /** How many times the master key's device has failed in this service's life. */
    private final java.util.concurrent.atomic.AtomicLong masterFailures = new java.util.concurrent.atomic.AtomicLong();

    /**
     * How many times the master key's device has failed (an unwrap or wrap said so) since this service
     * opened: a caller that must not go on over such a failure (an export) compares it before and after.
     */
    public long masterFailureCount() {
        return masterFailures.get();
    }

    private void noteMasterFailure(KeyUnavailableException e) {
        if (e.masterKeyUnreachable()) {
            masterFailure = String.valueOf(e.getMessage());
            masterFailures.incrementAndGet();
        }
    }

    /** The master key's unwrap, noting a device failure for {@link #masterProblem} (and clearing it). */
    private byte[] masterUnwrap(byte[] wrapped, byte[] context) {
        try {
            byte[] key = master.unwrap(wrapped, context);
            if (masterFailure != null) {
                masterFailure = null;
            }
            return key;
        } catch (KeyUnavailableException e) {
            noteMasterFailure(e);
            throw e;
        }
    }

    /**
     * Why the master key cannot open this key store, if it cannot: it unwraps the blind index's secret (once;
     * then it is kept, as every lookup keeps it), and, once the master key's device has failed (an unwrap
     * said so), again on every call until it works. Creates nothing: empty on a store without the secret yet.
     * For a readiness check: a store restored from before a rotation, another keyset or token, an HSM that
     * does not answer when it is first needed.
     */
    public Optional<String> masterProblem() {
        if (masterFailure != null) {
            // The device failed since: asked again, an unwrap (when there is a secret to unwrap) and a wrap of
            // nothing kept, so that a token that answers again clears it, and one that only wraps no more does not.
            try {
                Optional<byte[]> secret = store.secret(BLIND_INDEX_SECRET);
                if (secret.isPresent()) {
                    java.util.Arrays.fill(
                            masterUnwrap(secret.get(), KeyRefs.context(KeyRefs.secret(BLIND_INDEX_SECRET))), (byte) 0);
                }
                wrapNew(KeyRefs.secret("readiness-probe")); // kept nowhere
                return Optional.empty();
            } catch (KeyUnavailableException e) {
                return Optional.of(String.valueOf(e.getMessage()));
            }
        }
        boolean epochSettled = epochIndexKey != null || epochIndexSettled;
        if (blindIndexKey != null && epochSettled) {
            return Optional.empty();
        }
        try {
            if (blindIndexKey == null && store.secret(BLIND_INDEX_SECRET).isPresent()) {
                blindIndexKey();
            }
            // The rotation's index secret too, where there is one (created by nothing here): a forget's note check
            // looks natural keys up, so that it does not depend on whether a lookup since the start unwrapped it
            // when the device fails later (review AA).
            if (!epochSettled) {
                if (store.secret(BLIND_INDEX_EPOCH_SECRET).isPresent()) {
                    epochIndexKey();
                } else if (!store.hasUnsealedBlindIndex() && store.hasBlindIndexEntries()) {
                    // Entries keyed by a rotation secret that is gone (epochIndexKey refuses every lookup so): said
                    // without creating anything.
                    epochIndexKey();
                }
            }
            return Optional.empty();
        } catch (KeyUnavailableException e) {
            return Optional.of(String.valueOf(e.getMessage()));
        }
    }

    private byte[] blindIndexKey() {
        byte[] key = blindIndexKey;
        if (key == null) {
            synchronized (this) {
                String ref = KeyRefs.secret(BLIND_INDEX_SECRET);
                byte[] wrapped = store.secret(BLIND_INDEX_SECRET)
                        .orElseGet(() -> store.createSecret(BLIND_INDEX_SECRET, wrapNew(ref)));
                key = masterUnwrap(wrapped, KeyRefs.context(ref));
                blindIndexKey = key;
            }
        }
        return key;
    }

    /** Subjects known not to be forgotten when last checked; a forget removes its subject. */
    private final Map<SubjectId, Boolean> notForgotten = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Refuses a subject id that names a forgotten subject (the erasure fence), checked for a whole batch
     * before any subject is created. (The sealer checks again.)
     */
    public void requireNotForgotten(SubjectId subject) {
        if (notForgotten.containsKey(subject)) {
            return;
        }
        long seen = generation();
        if (store.isForgotten(subject)) {
            throw new ErasureFenceException(subject);
        }
        synchronized (this) {
            // Not if a forget or an expiry ran meanwhile: its eviction must not be undone.
            if (generation == seen) {
                if (notForgotten.size() >= CACHE_ENTRIES) {
                    notForgotten.clear();
                }
                notForgotten.put(subject, Boolean.TRUE);
            }
        }
    }

    /** Periods known to take data (their key not destroyed), as "group/period"; cleared by expiry. */
    private final Map<String, Boolean> openPeriods = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Refuses new data for a period whose key was destroyed: checked for a whole batch before any
     * subject is created. (The sealer checks again.)
     */
    public void requireOpenPeriod(DataGroup group, String period) {
        String ref = group.name() + "/" + period;
        if (openPeriods.containsKey(ref)) {
            return;
        }
        long seen = generation();
        if (store.isPeriodDestroyed(group, period)) {
            throw InvalidEventException.of(
                    "data group " + group, "period " + period + " has expired; it takes no new data");
        }
        synchronized (this) {
            if (generation == seen) {
                if (openPeriods.size() >= CACHE_ENTRIES) {
                    openPeriods.clear();
                }
                openPeriods.put(ref, Boolean.TRUE);
            }
        }
    }

    /** The data key to encrypt with; creates the period key if needed. */
    public DataKeyAead sealer(SubjectId subject, DataGroup group, String period) {
        DataKeyId id = new DataKeyId(subject, group, period);
        DataKeyAead cached = cached(id);
        if (cached != null) {
            return cached;
        }
        try {
            return derive(id, subject, group, period);
        } catch (KeyUnavailableException e) {
            synchronized (this) { // once more with rotations held off, as opener does
                return derive(id, subject, group, period);
            }
        }
    }

    private DataKeyAead derive(DataKeyId id, SubjectId subject, DataGroup group, String period) {
        long seen = generation();
        if (store.isForgotten(subject)) {
            throw fenced(subject);
        }
        if (store.isPeriodDestroyed(group, period)) {
            throw InvalidEventException.of(
                    "data group " + group, "period " + period + " has expired; it takes no new data");
        }
        byte[] subjectKey = raw(subjectKeys, subject);
        if (subjectKey == null) {
            byte[] wrapped = store.subjectKey(subject)
                    .orElseThrow(() -> store.isForgotten(subject)
                            // forgotten since the check above: the fence, not "unknown"
                            ? fenced(subject)
                            : InvalidEventException.of("subject " + subject, "is unknown to the key service"));
            subjectKey = rememberRaw(
                    subjectKeys, subject, seen, masterUnwrap(wrapped, KeyRefs.context(KeyRefs.subject(subject))));
        }
        String periodRef = KeyRefs.period(group, period);
        byte[] periodKey = raw(periodKeys, periodRef);
        if (periodKey == null) {
            byte[] wrapped = store.periodKey(group, period).orElseGet(() -> createPeriodKey(group, period, periodRef));
            periodKey = rememberRaw(periodKeys, periodRef, seen, masterUnwrap(wrapped, KeyRefs.context(periodRef)));
        }
        return remember(id, seen, dataKey(subjectKey, periodKey, group, period));
    }

    /**
     * The fence, for a subject found forgotten while sealing for it. Its forget has committed; the forgetting
     * thread clears the caches only after that, so a natural key may still resolve to the subject from the
     * cache for a moment: dropped from it here, so that an append resolving its natural keys again (as
     * {@code PrivateEventStore} does on this exception) names a new subject, as it would after the forget.
     * Nothing can cache the subject again: its blind-index entries are deleted, and lookups past the cache
     * take this service's lock, which the forget holds from its write until the caches are cleared.
     */
    private ErasureFenceException fenced(SubjectId subject) {
        subjectsByIndex.values().removeIf(subject::equals); // a scan of the cache, on a fence only
        notForgotten.remove(subject);
        return new ErasureFenceException(subject);
    }

    /** The data key to decrypt with, or why there is none. */
    public Lookup opener(SubjectId subject, DataGroup group, String period) {
        DataKeyId id = new DataKeyId(subject, group, period);
        DataKeyAead cached = cached(id);
        if (cached != null) {
            return new Found(cached);
        }
        try {
            return lookUp(id, subject, group, period);
        } catch (KeyUnavailableException e) {
            // A rotation may have re-wrapped the key and destroyed the epoch that wrapped what was read: once
            // more with rotations held off (they take this lock), before calling the key unavailable.
            synchronized (this) {
                try {
                    return lookUp(id, subject, group, period);
                } catch (KeyUnavailableException again) {
                    return new Missing(Reason.UNAVAILABLE);
                }
            }
        }
    }

    private Lookup lookUp(DataKeyId id, SubjectId subject, DataGroup group, String period) {
        long seen = generation();
        if (forgottenSubjects.contains(subject)) {
            return new Missing(Reason.FORGOTTEN);
        }
        byte[] subjectKey = raw(subjectKeys, subject);
        if (subjectKey == null) {
            Optional<byte[]> wrapped = store.subjectKey(subject);
            if (wrapped.isEmpty()) {
                // Without its erasure fence, a missing key was lost (a keys.db restored from too far back),
                // not forgotten: say so, rather than claim an erasure nobody made.
                if (store.isForgotten(subject)) {
                    keepFact(forgottenSubjects, subject);
                    return new Missing(Reason.FORGOTTEN);
                }
                return new Missing(Reason.UNAVAILABLE);
            }
            subjectKey = rememberRaw(
                    subjectKeys, subject, seen, masterUnwrap(wrapped.get(), KeyRefs.context(KeyRefs.subject(subject))));
        }
        String periodRef = KeyRefs.period(group, period);
        if (expiredPeriods.contains(periodRef)) {
            return new Missing(Reason.EXPIRED);
        }
        byte[] periodKey = raw(periodKeys, periodRef);
        if (periodKey == null) {
            Optional<byte[]> wrapped = store.periodKey(group, period);
            if (wrapped.isEmpty()) {
                if (store.isPeriodDestroyed(group, period)) {
                    keepFact(expiredPeriods, periodRef);
                    return new Missing(Reason.EXPIRED);
                }
                return new Missing(Reason.UNAVAILABLE);
            }
            periodKey =
                    rememberRaw(periodKeys, periodRef, seen, masterUnwrap(wrapped.get(), KeyRefs.context(periodRef)));
        }
        return new Found(remember(id, seen, dataKey(subjectKey, periodKey, group, period)));
    }

    /**
     * Subjects found forgotten and periods found destroyed by reads: for good (an erasure fence is never lifted,
     * a destroyed period never made again), so cached without a time limit and never evicted by a forget — a
     * replay of a log whose people are forgotten asked keys.db twice per field (review Z: a third of the speed).
     * Bounded: cleared when full. (Unavailable keys are not: a restore can bring them back.)
     */
    private final java.util.Set<SubjectId> forgottenSubjects = ConcurrentHashMap.newKeySet();

    private final java.util.Set<String> expiredPeriods = ConcurrentHashMap.newKeySet();

    private static <T> void keepFact(java.util.Set<T> permanent, T fact) {
        if (permanent.size() >= CACHE_ENTRIES) {
            permanent.clear();
        }
        permanent.add(fact);
    }

    /** An unwrapped key still cached and not aged out, or null. (Never zeroed: another thread may derive with it.) */
    private static <K> byte[] raw(Map<K, CachedRaw> keys, K ref) {
        CachedRaw entry = keys.get(ref);
        return entry == null || entry.expiresNanos() - System.nanoTime() < 0 ? null : entry.key();
    }

    /** Caches an unwrapped key only if no forget or expiry happened since the lookup began; returns it. */
    private synchronized <K> byte[] rememberRaw(Map<K, CachedRaw> keys, K ref, long seenGeneration, byte[] key) {
        if (generation == seenGeneration && !closed) {
            long now = System.nanoTime();
            sweep(now);
            makeRoom(keys, RAW_KEY_ENTRIES, CachedRaw::expiresNanos, now, entry -> true);
            keys.put(ref, new CachedRaw(key, now + CACHE_TTL_SECONDS * 1_000_000_000L));
        }
        return key;
    }

    /** Drops the aged-out entries of every cache, at most once a minute (called under this service's lock). */
    private void sweep(long now) {
        if (now - lastSweepNanos < SWEEP_NANOS) {
            return;
        }
        lastSweepNanos = now;
        cache.values().removeIf(entry -> entry.expiresNanos - now < 0 && dropped(entry));
        subjectKeys.values().removeIf(entry -> entry.expiresNanos() - now < 0);
        periodKeys.values().removeIf(entry -> entry.expiresNanos() - now < 0);
    }

    /**
     * Bounded caches: when full, drop what has aged out, and if that is not enough, an arbitrary tenth;
     * {@code dropped} is told of each entry removed (and answers true).
     */
    private static <K, V> void makeRoom(
            Map<K, V> entries,
            int limit,
            java.util.function.ToLongFunction<V> expiresNanos,
            long now,
            java.util.function.Predicate<V> dropped) {
        if (entries.size() >= limit) {
            entries.values().removeIf(entry -> expiresNanos.applyAsLong(entry) - now < 0 && dropped.test(entry));
            if (entries.size() >= limit) {
                java.util.Iterator<V> it = entries.values().iterator();
                for (int i = 0; i < limit / 10 && it.hasNext(); i++) {
                    dropped.test(it.next());
                    it.remove();
                }
            }
        }
    }

    /** A data key the cache no longer holds gives up its own cipher (called under this service's lock); true. */
    private boolean dropped(DataKeyAead entry) {
        if (entry.dropOwnCipher()) {
            ownCiphers--;
        }
        return true;
    }

    /** DEK(s, g, p) as documented above; public for known-answer tests. */
    public static DataKeyAead dataKey(byte[] subjectKey, byte[] periodKey, DataGroup group, String period) {
        byte[] ikm = new byte[subjectKey.length + periodKey.length];
        System.arraycopy(subjectKey, 0, ikm, 0, subjectKey.length);
        System.arraycopy(periodKey, 0, ikm, subjectKey.length, periodKey.length);
        byte[] okm = null;
        try {
            okm = Hkdf.computeHkdf("HMACSHA256", ikm, new byte[0], dataKeyInfo(group, period), KEY_BYTES);
            return new DataKeyAead(okm); // its SecretKeySpec holds a copy
        } catch (GeneralSecurityException e) {
            throw new KeyUnavailableException("cannot derive a data key: " + e.getMessage(), e);
        } finally {
            java.util.Arrays.fill(ikm, (byte) 0);
            if (okm != null) {
                java.util.Arrays.fill(okm, (byte) 0);
            }
        }
    }

    static byte[] dataKeyInfo(DataGroup group, String period) {
        return ("lethe/v1\0" + group.name() + "\0" + period).getBytes(StandardCharsets.UTF_8);
    }

    private DataKeyAead cached(DataKeyId id) {
        DataKeyAead entry = cache.get(id);
        if (entry == null || entry.expiresNanos - System.nanoTime() < 0) {
            misses.increment();
            return null;
        }
        hits.increment();
        return entry;
    }

    /**
     * Raised by every forget and expiry: a cache of what this service answered (open periods, say) that
     * was filled under another generation may be stale.
     */
    public long generation() {
        return generation;
    }

    /** Caches the key only if no forget or expiry happened since the lookup began. */
    private synchronized DataKeyAead remember(DataKeyId id, long seenGeneration, DataKeyAead aead) {
        if (generation == seenGeneration && !closed) {
            long now = System.nanoTime();
            sweep(now);
            makeRoom(cache, CACHE_ENTRIES, entry -> entry.expiresNanos, now, this::dropped);
            aead.expiresNanos = now + CACHE_TTL_SECONDS * 1_000_000_000L;
            DataKeyAead replaced = cache.put(canonical(id), aead);
            if (replaced != null) {
                dropped(replaced);
            }
            if (ownCiphers < OWN_CIPHERS) {
                aead.allowOwnCipher();
                ownCiphers++;
            }
        }
        return aead;
    }

    /** How many cached data keys may keep a cipher of their own, for tests. */
    synchronized int ownCiphers() {
        return ownCiphers;
    }

    /** Data-key cache hits and misses since start, for metrics. */
    public long[] cacheCounters() {
        return new long[] {hits.sum(), misses.sum()};
    }

    /**
     * Forgets a subject: deletes its key and blind-index entries and raises its fence, in one
     * transaction, then evicts its cached data keys and scrubs the key store's files of the deleted
     * key's older images. Costs the same whatever the number of its events.
     *
     * <p>The key service's own step, with no permission check and no audit entry (its arguments are
     * in another order, too): applications call {@code PrivateEventStore.forget(subject, legalBasis,
     * reason, actor)}, which checks the caller's role, journals and audits the forget.
     *
     * @throws dev.lethe.core.privacy.AlreadyForgottenException if the subject was already forgotten
     * @throws dev.lethe.core.privacy.UnknownSubjectException if the subject is unknown
     */
    public ErasureReceipt forget(SubjectId subject, String actor, String legalBasis, String reason) {
        return forget(subject, actor, legalBasis, reason, receipt -> {});
    }

    /**
     * Forgets a subject as {@link #forget(SubjectId, String, String, String)} does, calling {@code
     * committed} with the stored receipt as soon as the deletion is durable, before the key store's
     * files are scrubbed: a caller learns the receipt even if the scrub then fails (and writes the
     * audit entry anyway, as {@code PrivateEventStore.forget} does).
     */
    public ErasureReceipt forget(
            SubjectId subject,
            String actor,
            String legalBasis,
            String reason,
            java.util.function.Consumer<ErasureReceipt> committed) {
        return forget(subject, actor, legalBasis, reason, committed, true);
    }

    /**
     * As {@link #forget(SubjectId, String, String, String)}, without emptying the key store's files after:
     * for a caller that forgets many subjects again (a writer open after a restore, {@code forget-again}),
     * then calls {@link #scrubQuietly} once.
     */
    public ErasureReceipt forgetUnscrubbed(SubjectId subject, String actor, String legalBasis, String reason) {
        return forget(subject, actor, legalBasis, reason, receipt -> {}, false);
    }

    /**
     * Empties the key store's files of deleted keys' older page images, trying for {@code budget}; a failure
     * (a reader in another process) is logged with {@code done}, not thrown: the next forget, expiry, open or
     * close tries again.
     */
    public void scrubQuietly(java.time.Duration budget, String done) {
        try {
            scrubStore(budget);
        } catch (dev.lethe.core.store.StorageException e) {
            System.getLogger(KeyService.class.getName())
                    .log(System.Logger.Level.WARNING, done + ", but " + e.getMessage());
        }
    }

    /** Scrubs the key store ({@code budget} null: the store's own), noting whether older page images may remain. */
    private void scrubStore(java.time.Duration budget) {
        long from = keysChanged.get();
        try {
            if (budget == null) {
                store.scrub();
            } else {
                store.scrub(budget);
            }
        } catch (RuntimeException failed) {
            keysChanged.incrementAndGet();
            throw failed;
        }
        synchronized (keysChanged) {
            scrubbedUpTo = Math.max(scrubbedUpTo, from);
        }
    }

    private ErasureReceipt forget(
            SubjectId subject,
            String actor,
            String legalBasis,
            String reason,
            java.util.function.Consumer<ErasureReceipt> committed,
            boolean scrub) {
        if (legalBasis == null || legalBasis.isBlank()) {
            throw InvalidEventException.of(
                    "legal basis", "is required to forget a subject (e.g. 'GDPR Art. 17(1)(a)')");
        }
        dev.lethe.core.privacy.Notes.bounded("legal basis", legalBasis);
        dev.lethe.core.privacy.Notes.bounded("reason", reason);
        ErasureReceipt draft = new ErasureReceipt(
                UUID.randomUUID(),
                subject,
                actor,
                clock.instant(),
                legalBasis,
                reason == null ? "" : reason,
                List.of("subject key", "every blind-index entry of the subject", "cached data keys"));
        synchronized (this) {
            List<UUID> audited = drainAudited();
            int entries;
            try {
                entries = store.forget(subject, draft, audited);
                if (entries >= 0) {
                    keysChanged.incrementAndGet(); // not for a refusal (already forgotten, unknown): nothing deleted
                }
            } catch (RuntimeException e) {
                keysChanged.incrementAndGet(); // failed, perhaps after its commit
                auditedNotMarked.addAll(audited);
                throw e;
            } finally {
                // Even if the store failed after its commit, nothing of the subject stays cached. The generation
                // is raised last: a lookup that reads the new one sees these evictions, and one that read the
                // old one does not cache what it derives (remember() compares, under this lock).
                try {
                    cache.entrySet().removeIf(entry -> entry.getKey().isOf(subject) && dropped(entry.getValue()));
                    subjectKeys.remove(subject);
                    notForgotten.remove(subject);
                    subjectsByIndex.values().removeIf(subject::equals);
                } finally {
                    generation++;
                }
            }
            if (entries < 0) {
                if (store.isForgotten(subject)) {
                    throw new dev.lethe.core.privacy.AlreadyForgottenException(subject, alreadyForgotten(subject));
                }
                throw new dev.lethe.core.privacy.UnknownSubjectException(subject, "is unknown to the key service");
            }
        }
        committed.accept(draft);
        if (!scrub) {
            return draft;
        }
        try {
            scrubStore(null);
        } catch (dev.lethe.core.store.StorageException e) {
            // The forget is done and its receipt stored; say so, and which receipt, with the failure.
            throw dev.lethe.core.store.StorageException.transientFailure(
                    "subject " + subject + " is forgotten (receipt " + draft.id() + ", listed by receipts()), but "
                            + e.getMessage(),
                    e);
        }
        return draft;
    }

    /**
     * Notes that a receipt's audit entry is written; the mark is stored with the next forget (no
     * write of its own on the forget's path) or when the service closes.
     */
    public void audited(UUID receipt) {
        auditedNotMarked.add(receipt);
    }

    /** Receipts whose audit entry may be missing: those of forgets a crash interrupted. */
    public List<ErasureReceipt> unauditedReceipts() {
        List<ErasureReceipt> out = new ArrayList<>(store.unauditedReceipts());
        out.removeIf(r -> auditedNotMarked.contains(r.id()));
        return out;
    }

    private List<UUID> drainAudited() {
        List<UUID> out = new ArrayList<>(auditedNotMarked);
        auditedNotMarked.removeAll(out);
        return out;
    }

    /** Whether the subject has a live key (known and not forgotten). */
    public boolean isKnown(SubjectId subject) {
        return store.subjectKey(subject).isPresent();
    }

    public boolean isForgotten(SubjectId subject) {
        return store.isForgotten(subject);
    }

    public List<ErasureReceipt> receipts() {
        return store.receipts();
    }

    /** One subject's receipts, found by the key store rather than by reading them all. */
    public List<ErasureReceipt> receiptsOf(SubjectId subject) {
        return store.receiptsOf(subject);
    }

    /**
     * "was already forgotten", with the earlier receipt: a forget whose process was stopped before it
     * answered has a receipt its caller never saw.
     */
    private String alreadyForgotten(SubjectId subject) {
        return store.receiptsOf(subject).stream()
                .findFirst()
                .map(r -> "was already forgotten (receipt " + r.id() + ", at " + r.at() + ")")
                .orElse("was already forgotten");
    }

    /** A named note in the key store (not a key); see {@link KeyStore#note}. */
    public Optional<String> note(String name) {
        return store.note(name);
    }

    public void setNote(String name, String value) {
        store.setNote(name, value);
    }

    /** Every period key not destroyed yet. */
    public List<KeyStore.PeriodRef> livePeriods() {
        return store.livePeriods();
    }

    /**
     * A live period key and when its retention ends ({@link DataPolicy#expiresAt}); empty when it never
     * does: its group is not {@code declared} in the policy (retention only destroys keys of declared
     * groups), or its retention ends past the calendar.
     */
    public record PeriodExpiry(KeyStore.PeriodRef key, Optional<Instant> expiresAt, boolean declared) {
        /** Whether a retention run at {@code now} would destroy it. */
        public boolean dueAt(Instant now) {
            return expiresAt.isPresent() && !now.isBefore(expiresAt.get());
        }

        /** As JSON shows it: {@code group}, {@code period}, {@code expiresAt} (null: never), {@code due}, {@code declared}. */
        public Map<String, Object> asMap(Instant now) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("group", key.group().name());
            entry.put("period", key.period());
            entry.put("expiresAt", expiresAt.map(Instant::toString).orElse(null));
            entry.put("due", dueAt(now));
            entry.put("declared", declared);
            return entry;
        }
    }

    /**
     * Every live period key with the end of its retention, soonest first (those of groups the policy does
     * not declare last): what retention runs will destroy, and when. Destroys nothing.
     */
    public List<PeriodExpiry> periodExpiries() {
        List<PeriodExpiry> expiries = new ArrayList<>();
        for (KeyStore.PeriodRef ref : store.livePeriods()) {
            boolean declared = policy.knows(ref.group());
            expiries.add(new PeriodExpiry(
                    ref, declared ? policy.expiresAt(ref.group(), ref.period()) : Optional.empty(), declared));
        }
        expiries.sort(
                java.util.Comparator.comparing((PeriodExpiry e) -> e.expiresAt().orElse(Instant.MAX))
                        .thenComparing(e -> e.key().group().name())
                        .thenComparing(e -> e.key().period()));
        return expiries;
    }

    /**
     * Every period key retention destroyed, with the instant of the run that did: the record that a
     * period's personal data can no longer be read (in order of group and period).
     */
    public List<KeyStore.DestroyedPeriod> destroyedPeriods() {
        return store.destroyedPeriods();
    }

    /** The live period keys whose retention has ended at {@code now}: what {@link #expire} would destroy. */
    public List<KeyStore.PeriodRef> duePeriods(Instant now) {
        List<KeyStore.PeriodRef> due = new ArrayList<>();
        for (KeyStore.PeriodRef ref : store.livePeriods()) {
            if (policy.knows(ref.group()) && policy.hasExpired(ref.group(), ref.period(), now)) {
                due.add(ref);
            }
        }
        return due;
    }

    /** Destroys every period key whose retention has ended at {@code now}; returns them. */
    public List<KeyStore.PeriodRef> expire(Instant now) {
        return destroyAll(
                store.livePeriods(),
                ref -> policy.knows(ref.group()) && policy.hasExpired(ref.group(), ref.period(), now),
                now,
                false);
    }

    /**
     * Destroys (and evicts) the {@code candidates} that are {@code due}, then empties the key store's older
     * page images of them. A scrub that fails says that they are destroyed all the same — thrown, or at an
     * open ({@code atOpen}: within 1 s, beside a reader) logged, since the open's audit entry must follow —
     * or, when a destruction failed, joins that failure.
     */
    private List<KeyStore.PeriodRef> destroyAll(
            java.util.Collection<KeyStore.PeriodRef> candidates,
            java.util.function.Predicate<KeyStore.PeriodRef> due,
            Instant at,
            boolean atOpen) {
        java.time.Duration budget = java.time.Duration.ofSeconds(atOpen ? 1 : 10);
        List<KeyStore.PeriodRef> destroyed = new ArrayList<>();
        try {
            for (KeyStore.PeriodRef ref : candidates) {
                if (due.test(ref)) {
                    destroy(ref, at);
                    destroyed.add(ref);
                }
            }
        } catch (RuntimeException failed) {
            if (!destroyed.isEmpty()) {
                try {
                    scrubStore(budget);
                } catch (dev.lethe.core.store.StorageException e) {
                    failed.addSuppressed(e);
                }
            }
            throw failed;
        }
        if (destroyed.isEmpty()) {
            if (unscrubbed() && !atOpen) {
                try {
                    scrubStore(budget);
                } catch (dev.lethe.core.store.StorageException e) {
                    throw dev.lethe.core.store.StorageException.transientFailure(
                            "no period key was due, but keys destroyed earlier may still have older page images in"
                                    + " the key store: " + e.getMessage(),
                            e);
                }
            }
            return destroyed;
        }
        String done = "period key(s) "
                + destroyed.stream()
                        .map(p -> p.group().name() + "/" + p.period())
                        .toList()
                + " are destroyed (their values read as expired)";
        if (atOpen) {
            scrubQuietly(budget, done);
            return destroyed;
        }
        try {
            scrubStore(budget);
        } catch (dev.lethe.core.store.StorageException e) {
            throw dev.lethe.core.store.StorageException.transientFailure(done + ", but " + e.getMessage(), e);
        }
        return destroyed;
    }

    /** Whether retention destroyed the period's key (it takes no new values). */
    public boolean isPeriodDestroyed(KeyStore.PeriodRef ref) {
        return store.isPeriodDestroyed(ref.group(), ref.period());
    }

    /**
     * Destroys the period keys among {@code periods} that the key store still holds, and records as
     * destroyed those it does not hold either, whatever the policy says now: expiries that a retention run
     * recorded, in a key store restored from before them (perhaps from before the key was made, which a
     * new value would make again). Returns those it destroyed or recorded.
     */
    public List<KeyStore.PeriodRef> expireAgain(java.util.Collection<KeyStore.PeriodRef> periods, Instant at) {
        java.util.Set<KeyStore.PeriodRef> live = new java.util.HashSet<>(store.livePeriods());
        return destroyAll(
                new java.util.LinkedHashSet<>(periods),
                ref -> live.contains(ref) || !store.isPeriodDestroyed(ref.group(), ref.period()),
                at,
                true);
    }

    private void destroy(KeyStore.PeriodRef ref, Instant at) {
        try {
            store.destroyPeriod(ref.group(), ref.period(), at);
        } finally {
            keysChanged.incrementAndGet(); // also when it failed: perhaps after its commit
            // Evicted whatever the store answered: a failure after its commit must not leave the key in use
            // here, and one before it costs a derivation.
            synchronized (this) {
                try {
                    openPeriods.remove(ref.group().name() + "/" + ref.period());
                    cache.entrySet()
                            .removeIf(entry ->
                                    entry.getKey().isIn(ref.group(), ref.period()) && dropped(entry.getValue()));
                    periodKeys.remove(KeyRefs.period(ref.group(), ref.period()));
                } finally {
                    generation++; // last, as in forget
                }
            }
        }
    }

    /**
     * The master key's epochs that still unwrap: more than one while a rotation is incomplete. 32-bit key
     * ids, read unsigned ({@link Integer#toUnsignedString(int)}) as the command line prints them.
     */
    public List<Integer> masterEpochs() {
        return master.liveEpochs();
    }

    /**
     * What a master key rotation did. Epochs are the master key's key ids, 32 bits read unsigned (as the
     * command line and the server log print them, and as {@link #toString} does): compare them as ints,
     * print them with {@link Integer#toUnsignedString(int)}.
     */
    public record Rotation(int newEpoch, int rewrapped, List<Integer> destroyedEpochs) {
        @Override
        public String toString() {
            return "Rotation[newEpoch=" + Integer.toUnsignedString(newEpoch) + ", rewrapped=" + rewrapped
                    + ", destroyedEpochs="
                    + destroyedEpochs.stream().map(Integer::toUnsignedString).toList() + "]";
        }
    }

    /**
     * What {@link #checkKeys} found: the live keys by kind ({@code subject}, {@code period},
     * {@code secret}); how many the master key does not unwrap, by the epoch that wrapped them as their
     * header names it (-1: it names none); the references of the first {@value #CHECK_EXAMPLES} of those;
     * and the master key's live epochs. Epochs are unsigned 32-bit numbers (a keyset file's are random key
     * ids): print them with {@link Integer#toUnsignedString(int)}, as {@link #toString()} does.
     */
    public record KeyCheck(
            Map<String, Integer> byKind,
            Map<Integer, Integer> failingByEpoch,
            List<String> failingExamples,
            List<Integer> liveEpochs,
            int unreachable,
            Optional<String> unreachableBecause) {
        public KeyCheck {
            byKind = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(byKind));
            failingByEpoch = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(failingByEpoch));
            failingExamples = List.copyOf(failingExamples);
            liveEpochs = List.copyOf(liveEpochs);
        }

        public KeyCheck(
                Map<String, Integer> byKind,
                Map<Integer, Integer> failingByEpoch,
                List<String> failingExamples,
                List<Integer> liveEpochs) {
            this(byKind, failingByEpoch, failingExamples, liveEpochs, 0, Optional.empty());
        }

        public int total() {
            return byKind.values().stream().mapToInt(Integer::intValue).sum();
        }

        public int failing() {
            return failingByEpoch.values().stream().mapToInt(Integer::intValue).sum();
        }

        @Override
        public String toString() {
            Map<String, Integer> failing = new LinkedHashMap<>();
            failingByEpoch.forEach(
                    (epoch, count) -> failing.put(epoch == -1 ? "-1" : Integer.toUnsignedString(epoch), count));
            return "KeyCheck[byKind=" + byKind + ", failingByEpoch=" + failing + ", failingExamples="
                    + failingExamples + ", liveEpochs="
                    + liveEpochs.stream().map(Integer::toUnsignedString).toList() + ", unreachable="
                    + unreachable + ", unreachableBecause=" + unreachableBecause + "]";
        }
    }

    /** How many failing references a {@link KeyCheck} names. */
    public static final int CHECK_EXAMPLES = 10;

    /**
     * Unwraps every live key with the master key, in memory, and forgets the result: whether this key
     * store and this master key belong together (after a restore, a move, or a change of keyset or
     * token). Releases no data key and changes nothing.
     */
    public KeyCheck checkKeys() {
        Map<String, Integer> byKind = new LinkedHashMap<>();
        Map<Integer, Integer> failingByEpoch = new LinkedHashMap<>();
        List<String> examples = new ArrayList<>();
        int[] unreachable = {0};
        String[] because = {null};
        store.forEachWrappedKey((ref, wrapped) -> {
            byKind.merge(KeyRefs.parse(ref).kind(), 1, Integer::sum);
            try {
                java.util.Arrays.fill(master.unwrap(wrapped, KeyRefs.context(ref)), (byte) 0);
            } catch (KeyUnavailableException e) {
                if (e.masterKeyUnreachable()) {
                    // The device failed, not this key: says nothing about keys.db.
                    unreachable[0]++;
                    if (because[0] == null) {
                        because[0] = String.valueOf(e.getMessage());
                    }
                    return;
                }
                failingByEpoch.merge(master.epochOf(wrapped).orElse(-1), 1, Integer::sum);
                if (examples.size() < CHECK_EXAMPLES) {
                    examples.add(ref);
                }
            }
        });
        return new KeyCheck(
                byKind, failingByEpoch, examples, master.liveEpochs(), unreachable[0], Optional.ofNullable(because[0]));
    }

    /**
     * What {@link #checkIndex} found: the blind-index entries, and the subjects of the first {@value
     * #CHECK_EXAMPLES} of the {@code failing} ones.
     */
    public record IndexCheck(int entries, int failing, List<SubjectId> examples) {
        public IndexCheck {
            examples = List.copyOf(examples);
        }
    }

    /**
     * Opens every blind-index entry under the index secret, in memory, and forgets the result: an entry whose
     * hash or sealed index was altered (a damaged page, a changed byte) no longer finds its subject from the
     * natural key, whose next event would create a second subject for the person (a forget of which leaves the
     * first one's data readable). Entries of the first level (earlier releases) seal nothing and are counted
     * only; an entry deleted outright is not seen. Releases no key and changes nothing.
     */
    public IndexCheck checkIndex() {
        List<KeyStore.IndexRow> rows = store.blindIndexRows();
        byte[] current = null;
        int failing = 0;
        List<SubjectId> examples = new ArrayList<>();
        for (KeyStore.IndexRow row : rows) {
            if (row.entry().sealed() == null) {
                continue;
            }
            try {
                if (current == null) {
                    current = epochIndexKey();
                }
                java.util.Arrays.fill(
                        openIndex(
                                current,
                                new IndexRowView(
                                        row.subject(),
                                        row.entry().hash(),
                                        row.entry().sealed())),
                        (byte) 0);
            } catch (KeyUnavailableException e) {
                failing++;
                if (examples.size() < CHECK_EXAMPLES) {
                    examples.add(row.subject());
                }
            }
        }
        return new IndexCheck(rows.size(), failing, examples);
    }

    /** Re-wraps every live key under a new master epoch, then destroys the older epochs. */
    public Rotation rotateMaster() {
        return rotateMaster((done, total) -> {});
    }

    /**
     * As {@link #rotateMaster()}; {@code progress} hears (keys re-wrapped, keys in all) as it goes, every
     * {@value #PROGRESS_EVERY} keys and at the end (an HSM wraps a few hundred keys a second).
     */
    public synchronized Rotation rotateMaster(java.util.function.BiConsumer<Long, Long> progress) {
        // The blind index is keyed anew, under a secret that replaces the old one in the same commit: a
        // copy of keys.db taken before keeps entries no live key computes from a natural key again. Every
        // entry is opened first, before a new epoch exists: one that does not open stops the rotation here,
        // leaving no epoch behind.
        byte[] newIndexKey = new byte[KEY_BYTES];
        random.nextBytes(newIndexKey);
        List<KeyStore.IndexRow> index = rekeyedIndex(newIndexKey);
        int epoch = master.beginRotation();
        int count = rewrapWithIndex(master, Map.of(), newIndexKey, index, progress);
        List<Integer> destroyed;
        try {
            destroyed = master.finishRotation();
        } finally {
            // Also when the older epochs could not be destroyed: the re-wrap and the new blind index hold.
            scrubAfterRewrap("master key rotated to epoch " + Integer.toUnsignedString(epoch));
        }
        return new Rotation(epoch, count, destroyed);
    }

    /**
     * Empties the key store's older page images after a re-wrap. They hold keys wrapped under a master
     * epoch that is destroyed (or moved away) and the blind index under its former secret: a failure is
     * logged, not thrown, since the re-wrap is done; the next forget, expiry or close scrubs them.
     */
    private void scrubAfterRewrap(String done) {
        try {
            scrubStore(null);
        } catch (dev.lethe.core.store.StorageException e) {
            System.getLogger(KeyService.class.getName())
                    .log(System.Logger.Level.WARNING, done + ", but " + e.getMessage());
        }
    }

    /**
     * Re-wraps every live key under {@code target}, another master key (a keyset file's keys moved into
     * an HSM), and sets {@code notes}, in one key-store transaction; returns how many keys. Afterwards
     * this service's own master key unwraps none of them: close the service and open one on
     * {@code target}. Nothing else may create keys meanwhile (the caller holds the store alone).
     */
    public int rewrapUnder(MasterKey target, Map<String, String> notes) {
        return rewrapUnder(target, notes, (done, total) -> {});
    }

    /** As {@link #rewrapUnder(MasterKey, Map)}, telling {@code progress} as {@link #rotateMaster} does. */
    public synchronized int rewrapUnder(
            MasterKey target, Map<String, String> notes, java.util.function.BiConsumer<Long, Long> progress) {
        // The blind index is keyed anew here too: the keyset left behind (and any copy of it) with a copy of
        // keys.db from before the move would otherwise unwrap the index's secrets, and with them test guessed
        // natural keys against the moved store's index, new subjects' entries included.
        byte[] newIndexKey = new byte[KEY_BYTES];
        random.nextBytes(newIndexKey);
        List<KeyStore.IndexRow> index = rekeyedIndex(newIndexKey);
        int count = rewrapWithIndex(target, notes, newIndexKey, index, progress);
        scrubAfterRewrap("every key re-wrapped under the new master key");
        return count;
    }

    /**
     * Re-wraps every live key under {@code target} and replaces the blind index with {@code index}, keyed by
     * {@code newIndexKey} (stored wrapped under {@code target}), with {@code notes}, in one key-store
     * transaction; returns how many keys were re-wrapped.
     */
    private int rewrapWithIndex(
            MasterKey target,
            Map<String, String> notes,
            byte[] newIndexKey,
            List<KeyStore.IndexRow> index,
            java.util.function.BiConsumer<Long, Long> progress) {
        Map<String, byte[]> rewrapped = rewrapAll(target, progress);
        int count = rewrapped.size();
        String ref = KeyRefs.secret(BLIND_INDEX_EPOCH_SECRET);
        rewrapped.put(ref, target.wrap(newIndexKey, KeyRefs.context(ref)));
        try {
            store.rewrap(rewrapped, notes, index);
        } finally {
            keysChanged.incrementAndGet();
        }
        epochIndexKey = newIndexKey;
        epochIndexSettled = true;
        unsealedEntries = false;
        return count;
    }

    /** Every live key, unwrapped by this service's master key and wrapped by {@code target}, by reference. */
    private Map<String, byte[]> rewrapAll(MasterKey target, java.util.function.BiConsumer<Long, Long> progress) {
        Map<String, byte[]> wrapped = store.allWrappedKeys();
        long total = wrapped.size();
        Map<String, byte[]> rewrapped = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> entry : wrapped.entrySet()) {
            byte[] context = KeyRefs.context(entry.getKey());
            byte[] key = masterUnwrap(entry.getValue(), context);
            rewrapped.put(entry.getKey(), target.wrap(key, context));
            java.util.Arrays.fill(key, (byte) 0);
            if (rewrapped.size() % PROGRESS_EVERY == 0) {
                progress.accept((long) rewrapped.size(), total);
            }
        }
        if (rewrapped.size() % PROGRESS_EVERY != 0 || rewrapped.isEmpty()) { // else just told
            progress.accept((long) rewrapped.size(), total);
        }
        return rewrapped;
    }

    /** How often a re-wrap of every key reports its progress, in keys. */
    static final int PROGRESS_EVERY = 1000;

    /** Creates a period key unless another thread just did; under this service's lock, as newSubject says. */
    private synchronized byte[] createPeriodKey(DataGroup group, String period, String ref) {
        return store.periodKey(group, period).orElseGet(() -> {
            if (lostPeriods.contains(new KeyStore.PeriodRef(group, period))) {
                // A new key would seal new values under a key the stored ones do not open under: once the right
                // keys.db is back, the new ones would be the unreadable ones.
                throw dev.lethe.core.store.StorageException.permanent(
                        "keys.db has no key for period " + period + " of data group " + group + ", though the log"
                                + " holds fields sealed in it (keys.db older than events.db, or damaged): a new key"
                                + " would not open them. Nothing was stored. Restore keys.db and events.db from one"
                                + " backup (docs/privacy.md §9, Restoring); lethe keys check says what else is"
                                + " missing",
                        null);
            }
            return store.createPeriodKey(group, period, wrapNew(ref));
        });
    }

    /** Periods the log holds fields of and keys.db has no key or expiry for ({@link #refuseNewKeysFor}). */
    private volatile java.util.Set<KeyStore.PeriodRef> lostPeriods = java.util.Set.of();

    /**
     * Refuses to make a key for these periods from now on: the log holds fields sealed in them, and keys.db has
     * neither their key nor a record of their expiry (found at open: a key store restored from an older backup,
     * or damaged).
     */
    public void refuseNewKeysFor(java.util.Set<KeyStore.PeriodRef> periods) {
        lostPeriods = java.util.Set.copyOf(periods);
    }

    private byte[] wrapNew(String ref) {
        byte[] key = new byte[KEY_BYTES];
        random.nextBytes(key);
        try {
            byte[] wrapped = master.wrap(key, KeyRefs.context(ref));
            if (masterFailure != null) {
                masterFailure = null;
            }
            return wrapped;
        } catch (KeyUnavailableException e) {
            noteMasterFailure(e); // a new subject or period the token cannot wrap: not ready either
            throw e;
        } finally {
            java.util.Arrays.fill(key, (byte) 0);
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            // No data key or unwrapped subject or period key outlives the service, whoever still holds a reference
            // to it. (The blind-index secret and the threads' keyed Macs are left to the garbage collector: zeroing
            // the secret here raced with a thread keying its Mac, which then computed indexes under zeros.)
            closed = true;
            cache.values().forEach(this::dropped);
            cache.clear();
            subjectKeys.clear();
            periodKeys.clear();
            generation++; // last, as in forget
        }
        try {
            List<UUID> audited = drainAudited();
            if (!audited.isEmpty()) {
                store.markAudited(audited);
            }
        } finally {
            store.close();
            master.close();
        }
    }
}
