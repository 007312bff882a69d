package dev.lethe.core.privacy.keys;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeyTemplates;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.KeysetManager;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.AeadConfig;
import dev.lethe.core.spi.DurableFiles;
import dev.lethe.core.store.StorageException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;

/**
 * A master key kept in a local Tink keyset file (AES-256-GCM), created on first use with permissions
 * 0600. Each epoch is one key of the keyset; the primary key wraps. Suitable for one machine; an HSM
 * ({@code Pkcs11MasterKey}) keeps the key out of the process entirely.
 *
 * <p>The file is rewritten atomically (temporary file, fsync, rename) on every rotation step.
 */
public final class LocalMasterKey implements MasterKey {
    public static final String FILE_NAME = "master.keyset.json";

    static {
        try {
            AeadConfig.register();
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Path file;
    private KeysetHandle keyset;
    private Aead aead;

    private LocalMasterKey(Path file, KeysetHandle keyset) throws GeneralSecurityException {
        this.file = file;
        use(keyset);
    }

    /** Opens the keyset file in {@code directory}, creating it (0600) if missing. */
    public static LocalMasterKey openOrCreate(Path directory) {
        return openOrCreateFile(directory.resolve(FILE_NAME));
    }

    /**
     * Opens the keyset {@code file}, creating it (0600, its directory 0700 when created) if missing.
     */
    public static LocalMasterKey openOrCreateFile(Path file) {
        Path directory = file.toAbsolutePath().getParent();
        try {
            if (Files.exists(file)) {
                warnIfOthersMayAccess(file);
                String json = Files.readString(file, StandardCharsets.UTF_8);
                return new LocalMasterKey(
                        file, TinkJsonProtoKeysetFormat.parseKeyset(json, InsecureSecretKeyAccess.get()));
            }
            if (!Files.isDirectory(directory)) {
                Files.createDirectories(
                        directory,
                        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                                PosixFilePermissions.fromString("rwx------")));
            }
            LocalMasterKey created = new LocalMasterKey(file, KeysetHandle.generateNew(KeyTemplates.get("AES256_GCM")));
            created.saveAndUse(created.keyset);
            return created;
        } catch (IOException e) {
            throw StorageException.permanent(
                    "cannot read or create the master keyset " + file + ": " + StorageException.reasonOf(e), e);
        } catch (GeneralSecurityException e) {
            throw StorageException.permanent(
                    "the master keyset " + file + " is not a valid Tink keyset: " + e.getMessage(), e);
        }
    }

    private static final System.Logger LOG = System.getLogger(LocalMasterKey.class.getName());

    /**
     * Warns (as ssh refuses a private key others may read) when the keyset, or the file a link leads to,
     * gives its group or others any access: whoever reads it decrypts every personal field a copy of the
     * data holds, forgotten subjects' included. Created 0600; a rotation writes it 0600 again.
     */
    static void warnIfOthersMayAccess(Path file) {
        try {
            var mode = Files.getPosixFilePermissions(file);
            boolean open = mode.stream()
                    .anyMatch(permission -> permission.name().startsWith("GROUP")
                            || permission.name().startsWith("OTHERS"));
            if (open) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "the master keyset " + file + " may be read or changed by other users ("
                                + PosixFilePermissions.toString(mode) + "): it decrypts every personal field;"
                                + " chmod 600 " + file);
            }
        } catch (IOException | UnsupportedOperationException unknown) {
            // Not a POSIX file system, or unreadable (then reading it fails with its own message).
        }
    }

    private void use(KeysetHandle handle) throws GeneralSecurityException {
        this.keyset = handle;
        this.aead = handle.getPrimitive(RegistryConfiguration.get(), Aead.class);
    }

    /**
     * Writes {@code handle} to the keyset file, then uses it: a keyset that could not be written (a full disk)
     * is never used, since keys wrapped under an epoch the file does not hold would not unwrap after a restart.
     */
    private void saveAndUse(KeysetHandle handle) throws IOException, GeneralSecurityException {
        String json = TinkJsonProtoKeysetFormat.serializeKeyset(handle, InsecureSecretKeyAccess.get());
        DurableFiles.replace(file, json.getBytes(StandardCharsets.UTF_8), PosixFilePermissions.fromString("rw-------"));
        use(handle);
    }

    /** A failure to write the keyset: one that may pass (a full disk) is transient. */
    private static StorageException keysetFailure(String what, Exception e) {
        String message = what + ": " + e.getMessage();
        return e instanceof IOException && String.valueOf(e.getMessage()).contains("No space left")
                ? StorageException.transientFailure(message + " (the disk is full: free space and run it again)", e)
                : StorageException.permanent(message, e);
    }

    @Override
    public synchronized int epoch() {
        return keyset.getPrimary().getId();
    }

    @Override
    public synchronized java.util.List<Integer> liveEpochs() {
        java.util.List<Integer> live = new java.util.ArrayList<>();
        for (int i = 0; i < keyset.size(); i++) {
            live.add(keyset.getAt(i).getId());
        }
        return live;
    }

    @Override
    public byte[] wrap(byte[] key, byte[] context) {
        try {
            return currentAead().encrypt(key, context);
        } catch (GeneralSecurityException e) {
            throw new KeyUnavailableException("master key cannot wrap: " + e.getMessage(), e);
        }
    }

    /** Tink's output prefix (AES256_GCM's TINK type): a 0x01 version byte, then the key id, big-endian. */
    @Override
    public java.util.OptionalInt epochOf(byte[] wrapped) {
        if (wrapped == null || wrapped.length < 5 || wrapped[0] != 1) {
            return java.util.OptionalInt.empty();
        }
        return java.util.OptionalInt.of(java.nio.ByteBuffer.wrap(wrapped, 1, 4).getInt());
    }

    @Override
    public byte[] unwrap(byte[] wrapped, byte[] context) {
        try {
            return currentAead().decrypt(wrapped, context);
        } catch (GeneralSecurityException e) {
            throw new KeyUnavailableException(
                    "no live master key epoch unwraps this key (a keys.db restored from before a master key rotation,"
                            + " or another store's keyset? lethe keys check tells)",
                    e);
        }
    }

    private synchronized Aead currentAead() {
        return aead;
    }

    @Override
    public synchronized int beginRotation() {
        try {
            KeysetManager manager = KeysetManager.withKeysetHandle(keyset).add(KeyTemplates.get("AES256_GCM"));
            KeysetHandle grown = manager.getKeysetHandle();
            int newest = grown.getAt(grown.size() - 1).getId();
            saveAndUse(manager.setPrimary(newest).getKeysetHandle());
            return newest;
        } catch (GeneralSecurityException | IOException e) {
            throw keysetFailure("cannot start a master key rotation", e);
        }
    }

    @Override
    public synchronized List<Integer> finishRotation() {
        try {
            int primary = keyset.getPrimary().getId();
            KeysetManager manager = KeysetManager.withKeysetHandle(keyset);
            List<Integer> destroyed = new ArrayList<>();
            for (int i = 0; i < keyset.size(); i++) {
                int id = keyset.getAt(i).getId();
                if (id != primary) {
                    manager.delete(id);
                    destroyed.add(id);
                }
            }
            saveAndUse(manager.getKeysetHandle());
            return destroyed;
        } catch (GeneralSecurityException | IOException e) {
            throw keysetFailure("cannot finish the master key rotation", e);
        }
    }

    /** The keyset file. */
    public Path file() {
        return file;
    }

    @Override
    public String describe() {
        // Tink key ids are unsigned 32-bit numbers.
        return "local keyset " + file.getFileName() + ", epoch " + Integer.toUnsignedLong(epoch());
    }
}
