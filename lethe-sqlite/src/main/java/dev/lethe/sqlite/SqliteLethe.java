package dev.lethe.sqlite;

import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.ReceiptJournal;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.keys.KeyService;
import dev.lethe.core.privacy.keys.LocalMasterKey;
import dev.lethe.core.privacy.keys.MasterKey;
import dev.lethe.core.privacy.keys.Pkcs11MasterKey;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.StorageException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Everything Lethe keeps in one data directory, opened together:
 *
 * <pre>
 * events.db            the log (encrypted personal fields, plain non-personal ones)
 * projections.db       projection states (personal values still sealed) and checkpoints
 * keys.db              wrapped subject and period keys, blind index, erasure fences and receipts
 * master.keyset.json   the local master key (0600), unless another directory or a PKCS#11 token holds it
 * policy.yaml          the data policy (written with the default policy on first use)
 * </pre>
 *
 * <p>Thread-safe, as are the store, privacy layer and projection store it hands out: open it once per
 * process and share it between threads (a second writer on the same directory, in this process or
 * another, is refused by {@code lethe.lock}). Close it once, when no thread uses it any more.
 */
public final class SqliteLethe implements AutoCloseable {
    public static final String POLICY_FILE = "policy.yaml";

    private final SqliteEventStore store;
    private final SqliteProjectionStore projections;
    private final PrivateEventStore privacy;
    private final DataPolicy policy;
    private final String policyText;
    private final int forgottenOnlyInTrail;
    private final int expiredOnlyInTrail;
    /**
     * The logger of the warnings that say {@link #recoveredAtOpen()} at a writer open: an application that reports
     * that list itself (as {@code lethe serve} does, in its own log) may turn this logger off.
     */
    public static final String RECOVERED_LOGGER = "dev.lethe.sqlite.SqliteLethe.recovered";

    private volatile List<String> recoveredAtOpen = List.of();

    private SqliteLethe(
            SqliteEventStore store,
            SqliteProjectionStore projections,
            PrivateEventStore privacy,
            DataPolicy policy,
            String policyText,
            int forgottenOnlyInTrail,
            int expiredOnlyInTrail) {
        this.policyText = policyText;
        this.forgottenOnlyInTrail = forgottenOnlyInTrail;
        this.expiredOnlyInTrail = expiredOnlyInTrail;
        this.store = store;
        this.projections = projections;
        this.privacy = privacy;
        this.policy = policy;
    }

    /** What a rotation finished by a crash asks of the operator, as {@code lethe keys rotate} says it. */
    private static String rotatedAdvice(PrivateEventStore privacy) {
        if (privacy.keys().master() instanceof dev.lethe.core.privacy.keys.LocalMasterKey local) {
            return ": the rotation is done: copy the new keyset ("
                    + local.file().toAbsolutePath().normalize()
                    + ") to where your keyset copy is kept, and take a backup (lethe backup): until then this file is"
                    + " the only key to this store, and backups taken before the rotation no longer open with it";
        }
        return ": the rotation is done (" + privacy.keys().master().describe() + "): take a backup (lethe backup);"
                + " backups taken before the rotation no longer open with this master key";
    }

    /** Opens the data directory for writing, with its policy file (created from the default if missing). */
    public static SqliteLethe open(Path directory) {
        return open(directory, SqliteOptions.DEFAULT);
    }

    public static SqliteLethe open(Path directory, SqliteOptions options) {
        requireLogBesideKeys(directory);
        SqliteEventStore store = SqliteEventStore.openEngine(directory, options);
        // A new store's open that fails (a wrong PKCS#11 PIN, a bad policy) takes back the files it made: left,
        // they would make the directory a store nobody created, opened later without --init. What was there is
        // known from under the directory's lock (another process may have made the store while this one waited).
        Set<Path> before = store.entriesBeforeCreation();
        try {
            return assemble(directory, store, options, true);
        } catch (RuntimeException e) {
            if (before != null) {
                removeCreated(directory, before, e);
            }
            throw e;
        }
    }

    /** Each entry's size and modification time, to tell whether another process wrote there meanwhile. */
    private static java.util.Map<Path, String> stamps(Path directory) {
        java.util.Map<Path, String> out = new java.util.HashMap<>();
        for (Path name : entries(directory)) {
            try {
                Path file = directory.resolve(name);
                out.put(
                        name,
                        Files.size(file) + "@" + Files.getLastModifiedTime(file).toMillis());
            } catch (IOException gone) {
                out.put(name, "?");
            }
        }
        return out;
    }

    /** The entries of {@code directory}, none if it does not exist. */
    private static Set<Path> entries(Path directory) {
        return Files.isDirectory(directory) ? SqliteEventStore.entriesOf(directory) : Set.of();
    }

    /**
     * Deletes what a failed first open created in {@code directory} (its lock file aside), under the
     * directory's lock again, and only if nothing has opened the new store meanwhile; a file that cannot be
     * deleted is noted on {@code failure}.
     */
    private static void removeCreated(Path directory, Set<Path> before, RuntimeException failure) {
        java.util.Map<Path, String> closed = stamps(directory);
        try (dev.lethe.sqlite.internal.DirectoryLock held =
                dev.lethe.sqlite.internal.DirectoryLock.acquire(directory)) {
            java.util.Map<Path, String> now = stamps(directory);
            now.remove(Path.of("lethe.lock"));
            closed.remove(Path.of("lethe.lock"));
            if (!now.equals(closed)) {
                return; // another process opened the new store between this one's close and now: it is its
            }
            for (Path name : now.keySet()) {
                if (before.contains(name) || name.toString().equals("lethe.lock")) {
                    continue;
                }
                try {
                    deleteTree(directory.resolve(name));
                } catch (IOException e) {
                    failure.addSuppressed(e);
                }
            }
        } catch (RuntimeException busy) {
            failure.addSuppressed(busy); // another process has the directory now: what is there is its
        }
    }

    private static void deleteTree(Path path) throws IOException {
        if (Files.isDirectory(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try (java.util.stream.Stream<Path> list = Files.list(path)) {
                for (Path inside : list.toList()) {
                    deleteTree(inside);
                }
            }
        }
        Files.deleteIfExists(path);
    }

    /**
     * Refuses a directory that holds a {@code keys.db} but no {@code events.db}: a log deleted, or left out
     * of a restore. A new, empty log there would take appends beside a key store that knows every subject,
     * and read as a store that never held an event.
     */
    private static void requireLogBesideKeys(Path directory) {
        dev.lethe.core.spi.AppendRules.require(directory, "data directory");
        if (Files.exists(directory.resolve(SqliteKeyStore.FILE_NAME))
                && !Files.exists(directory.resolve(SqliteEventStore.FILE_NAME))) {
            throw StorageException.permanent(
                    "events.db is missing from " + directory.toAbsolutePath().normalize() + ", which holds "
                            + SqliteKeyStore.FILE_NAME + ": the log was deleted, or left out of a restore. Restore"
                            + " the whole directory from one backup (docs/privacy.md §9, Restoring); a new, empty log"
                            + " is not created beside a key store",
                    null);
        }
    }

    /**
     * Opens the data directory for writing without its policy's receipt journal: nothing is read from it
     * or written to it. Only for replacing a policy whose journal cannot be used (its directory gone, a
     * volume not mounted), which would otherwise stop every open, the policy change included: the forgets
     * journaled since this store last read the journal are not applied by this open.
     */
    public static SqliteLethe openWithoutReceiptJournal(Path directory, SqliteOptions options) {
        requireLogBesideKeys(directory);
        SqliteEventStore store = SqliteEventStore.openEngine(directory, options);
        return assemble(directory, store, options, false);
    }

    /**
     * Opens the data directory beside a writer in another process: reads only. Key releases cannot be
     * audited from here, so a reveal that would open personal data throws a {@code StorageException} naming
     * the group, every time: reveal through the writing process, or as a role that reads no group (its
     * fields read as {@code restricted}).
     */
    public static SqliteLethe openReadOnly(Path directory) {
        return openReadOnly(directory, SqliteOptions.DEFAULT);
    }

    /** Read-only, with the master key where {@code options} say (its clock does not apply). */
    public static SqliteLethe openReadOnly(Path directory, SqliteOptions options) {
        return assemble(
                directory, SqliteEventStore.openReadOnly(directory), options.withClock(Clock.systemUTC()), true);
    }

    private static SqliteLethe assemble(
            Path directory, SqliteEventStore store, SqliteOptions options, boolean withJournal) {
        Clock clock = options.clock();
        SqliteProjectionStore projections = null;
        SqliteKeyStore keys = null;
        try {
            requireKeyStoreOrNone(directory, store); // before anything is created
            if (!store.isReadOnly()) {
                requirePolicyOrNew(directory);
            }
            PolicyFile policyFile = store.isReadOnly() ? readPolicyFileOrDefault(directory) : readPolicyFile(directory);
            DataPolicy policy = policyFile.policy();
            warnIfOthersMayWrite(
                    directory,
                    "the data directory",
                    "replace or delete its files (the log, the key store, the policy)");
            warnIfOthersMayWrite(directory.resolve(POLICY_FILE), "the data policy", "give a role more to read");
            policy.receiptJournal()
                    .ifPresent(file -> warnIfOthersMayWrite(
                            file, "the receipt journal", "add or remove receipts and scheduled forgets"));
            // A read-only open creates no file: without projections.db, its read models are empty.
            projections = !store.isReadOnly()
                    ? SqliteProjectionStore.open(directory)
                    : Files.isRegularFile(directory.resolve(SqliteProjectionStore.FILE_NAME))
                            ? SqliteProjectionStore.openForReading(directory)
                            : SqliteProjectionStore.openEmptyInMemory();
            keys = SqliteKeyStore.open(directory, store.isReadOnly());
            if (!store.isReadOnly() && keys.note(STORE_ID_NOTE).isEmpty()) {
                keys.setNote(STORE_ID_NOTE, newStoreId(store));
            }
            MasterKey master = options.pkcs11() != null
                    ? tokenMasterKey(options.pkcs11(), keys, store.isReadOnly())
                    : localMasterKey(directory, options, keys, store.isReadOnly());
            KeyService keyService = new KeyService(keys, master, policy, clock);
            ReceiptJournal journal = policy.receiptJournal()
                    .filter(file -> withJournal)
                    .map(file -> receiptJournal(directory, file))
                    .orElse(null);
            PrivateEventStore privacy = new PrivateEventStore(store, keyService, clock, journal);
            int forgottenOnlyInTrail = 0;
            int expiredOnlyInTrail = 0;
            List<String> recovered = new java.util.ArrayList<>();
            Path here = realOrNormal(directory);
            if (!store.isReadOnly()) {
                Optional<Original> original = guardCopies(directory, keys, privacy);
                if (journal != null) {
                    journal.writtenFrom(
                            new ReceiptJournal.Origin(storeId(keys, false).orElseThrow(), here.toString()));
                    Optional<Original> sharing = original.filter(copied -> sharesJournal(copied.directory(), journal));
                    sharing.ifPresent(copied -> privacy.refuseForgets("this data directory is a copy of "
                            + copied.directory() + ", which still holds the same store and writes the same receipt"
                            + " journal " + journal.file() + ": a forget here would be applied there too. For a"
                            + " restore drill or a staging copy, set this copy's receiptJournal to a copy of that"
                            + " file; if this directory is the store now, move the other one away and open this"
                            + " one again (docs/privacy.md §9)"));
                    // Before anything writes to it: a journal this store has read, now missing (a volume not
                    // mounted), stops the open rather than being created anew by the first receipt written.
                    privacy.requireReceiptJournal();
                }
                // A forget or an expiry killed between its commit and its scrub left the deleted key's page
                // images in keys.db's WAL (and then in keys.db, as checkpoints copy them): emptied now, not at
                // the next forget or close, which may be days away.
                try {
                    keys.scrub(java.time.Duration.ofSeconds(1));
                } catch (StorageException busy) {
                    System.getLogger(SqliteLethe.class.getName())
                            .log(
                                    System.Logger.Level.WARNING,
                                    "keys.db's WAL not emptied at open: " + busy.getMessage());
                }
                // A forget that a crash interrupted before its audit entry was written gets it now.
                int audited = privacy.auditInterruptedForgets();
                if (audited > 0) {
                    recovered.add(audited + " forget(s) stopped by a crash before their audit entry got it now"
                            + " (SubjectForgotten with recovered: true; or by a close() that gave up waiting for"
                            + " them)");
                }
                // And a move of the master key into a token stopped between its commit and its entry.
                if (privacy.auditInterruptedMove()) {
                    recovered.add("a move of the master key into a token stopped before its audit entry got it now");
                }
                // And a rotation stopped before its closing entry, once nothing is left to finish.
                privacy.auditInterruptedRotation()
                        .ifPresent(entry -> recovered.add(
                                "a master key rotation stopped before its closing entry got it now (" + entry + ")"
                                        + (entry.equals("MasterKeyRotated") ? rotatedAdvice(privacy) : "")));
                // Or one stopped half-way: the old epoch still unwraps every keys.db copy made before it.
                List<Integer> epochs = privacy.keys().master().liveEpochs();
                if (epochs.size() > 1) {
                    recovered.add("a master key rotation was stopped half-way: " + epochs.size()
                            + " master key epochs still unwrap ("
                            + epochs.stream()
                                    .map(epoch -> Long.toString(Integer.toUnsignedLong(epoch)))
                                    .collect(java.util.stream.Collectors.joining(", "))
                            + "), the older ones opening keys.db copies made before it: run lethe keys rotate"
                            + " again to finish it (with no server running on this directory)");
                }
                // A key store restored from before some forgets must not decrypt those subjects again.
                int again = privacy.reapplyForgetsMissingFromKeys();
                if (again > 0) {
                    recovered.add(again + " subject(s) forgotten again: keys.db was restored from before their"
                            + " forget (the audit trail records it; SubjectForgotten with reapplied: true)");
                }
                if (privacy.periodsExpiredAgain() > 0) {
                    recovered.add(privacy.periodsExpiredAgain() + " period key(s) destroyed again, as of the retention"
                            + " run that had them due: keys.db was restored from before it, or the run stopped before"
                            + " it destroyed them (RetentionRun with reapplied: true)");
                }
                privacy.logOlderThanKeyStore().ifPresent(recovered::add);
                // And a whole data directory restored so: the journal outside it knows those forgets.
                int fromJournal = privacy.reapplyForgetsFromJournal(journalLines(keys));
                if (fromJournal > 0) {
                    recovered.add(fromJournal + " subject(s) forgotten again from the receipt journal: this data"
                            + " directory was restored from before their forget");
                }
                // The other way round: a keys.db older than the log, seen from the newest events' subjects.
                privacy.keysOlderThanLog().ifPresent(recovered::add);
                // Before anything is appended under this process's clock: what a retention run's clock is
                // compared with, when none has run yet (an event appended under a clock set ahead would
                // otherwise make it look right).
                privacy.noteRetentionReference();
                // A policy change stopped before its rename left its new text beside policy.yaml: the file in
                // force is policy.yaml, and a leftover would read as a second policy to whoever looks.
                try {
                    Files.deleteIfExists(directory.resolve(POLICY_FILE + ".tmp"));
                } catch (IOException e) {
                    System.getLogger(SqliteLethe.class.getName())
                            .log(System.Logger.Level.WARNING, "cannot delete " + POLICY_FILE + ".tmp: " + e);
                }
                // A policy file edited by hand changes who may read what: the trail must show it.
                if (privacy.notePolicy(policySha256(policyFile.text()), false)) {
                    recovered.add("policy.yaml differs from the policy this store last ran under (edited by hand, put"
                            + " back from a backup, or a policy set that stopped half-way): audited as"
                            + " PolicyFileChanged with who may now read what; lethe policy show prints it");
                }
                // Exports read a subject's events from the index in projections.db, brought up to date first.
                privacy.useSubjectIndex(projections);
                // The raw log (store()) takes no event whose personal fields privacy().append would have sealed.
                store.guardAppends(privacy::refuseUnsealed);
            } else {
                // Nor may a reader beside the writer (or before it next opens) decrypt them.
                Set<SubjectId> missing = new java.util.LinkedHashSet<>(privacy.forgetsMissingFromKeys());
                missing.addAll(privacy.forgetsMissingFromJournal(journalLines(keys)));
                keys.treatAsForgotten(missing);
                forgottenOnlyInTrail = missing.size();
                // And periods that retention destroyed after the key store's backup: expired here too.
                Set<dev.lethe.core.privacy.keys.KeyStore.PeriodRef> expired = privacy.expiriesMissingFromKeys();
                keys.treatAsExpired(expired);
                expiredOnlyInTrail = expired.size();
            }
            SqliteLethe opened = new SqliteLethe(
                    store, projections, privacy, policy, policyFile.text(), forgottenOnlyInTrail, expiredOnlyInTrail);
            opened.recoveredAtOpen = List.copyOf(recovered);
            for (String line : recovered) {
                System.getLogger(RECOVERED_LOGGER)
                        .log(System.Logger.Level.WARNING, "recovered at open of " + directory + ": " + line);
            }
            return opened;
        } catch (RuntimeException e) {
            if (keys != null) {
                keys.close();
            }
            if (projections != null) {
                projections.close();
            }
            store.close();
            throw e;
        }
    }

    /**
     * The policy's receipt journal, refused inside the data directory (a backup of it would hold the
     * journal, and a restore would roll it back with the rest) and when its directory does not exist (a
     * journal that cannot be read or written would let a restored directory bring subjects back).
     */
    private static ReceiptJournal receiptJournal(Path directory, Path file) {
        Path parent = file.getParent();
        if (Files.isSymbolicLink(file)) {
            // Followed, a link could lead anywhere later (into the data directory, to a device): refused.
            throw StorageException.permanent(
                    "the receipt journal " + file + " (policy.yaml receiptJournal) is a symbolic link; name the"
                            + " file itself",
                    null);
        }
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw StorageException.permanent(
                    "the receipt journal " + file + " (policy.yaml receiptJournal) is not a regular file (a"
                            + " directory, a device?); name a file",
                    null);
        }
        if (parent == null || !Files.isDirectory(parent)) {
            throw StorageException.permanent(
                    "the receipt journal's directory " + parent + " (policy.yaml receiptJournal: " + file + ") does"
                            + " not exist: create or mount it, or remove receiptJournal from the policy",
                    null);
        }
        Path data;
        Path real;
        try {
            data = directory.toRealPath();
            real = parent.toRealPath().resolve(file.getFileName());
        } catch (IOException e) {
            throw StorageException.permanent("cannot resolve the receipt journal " + file + ": " + e, e);
        }
        if (real.startsWith(data)) {
            throw StorageException.permanent(
                    "the receipt journal " + file + " (policy.yaml receiptJournal) is inside the data directory "
                            + data + ": keep it outside, where restoring a backup of the directory does not roll it"
                            + " back",
                    null);
        }
        return ReceiptJournal.at(real);
    }

    /**
     * Refuses a policy whose receipt journal this data directory could not use: inside the directory, a
     * directory itself, or in a directory that does not exist. {@code lethe policy set} checks it before
     * it replaces the policy, which the next open would otherwise refuse.
     */
    public static void checkReceiptJournal(Path directory, DataPolicy policy) {
        policy.receiptJournal().ifPresent(file -> receiptJournal(directory, file));
    }

    /** The master keyset file of {@link #keysetFile}, refused when missing but needed. */
    private static MasterKey localMasterKey(
            Path directory, SqliteOptions options, SqliteKeyStore keys, boolean readOnly) {
        Path keyset = keysetFile(directory, options, keys, readOnly);
        if (!Files.exists(keyset) && (readOnly || !keys.allWrappedKeys().isEmpty())) {
            // A new master key would unwrap none of them: every field would read "unavailable" and
            // every append of personal data would fail. Refused, naming the file to restore. A reader
            // never creates one.
            throw StorageException.permanent(
                    keyset + " is missing, but "
                            + (readOnly ? "this read-only open needs it" : "keys.db holds keys wrapped by it")
                            + ": restore it from where it is kept (a new one would unwrap none), or, if it is kept"
                            + " elsewhere, give --master-key-dir DIR (LETHE_MASTER_KEY_DIR; Java:"
                            + " SqliteOptions.withMasterKeyDirectory)",
                    null);
        }
        if (!readOnly) {
            // The writer (it holds the directory's lock): a copy of the keyset that a stopped rotation
            // left before its rename is not authoritative, but holds key material (a live epoch,
            // perhaps one the next rotation destroys), which must not outlive that.
            Path stale = keyset.resolveSibling(keyset.getFileName() + ".tmp");
            try {
                Files.deleteIfExists(stale);
                if (Files.isSymbolicLink(keyset) && Files.exists(keyset)) {
                    // A rotation writes where the link leads (DurableFiles.replace), its copy beside that.
                    Path real = keyset.toRealPath();
                    stale = real.resolveSibling(real.getFileName() + ".tmp");
                    Files.deleteIfExists(stale);
                }
            } catch (IOException e) {
                throw StorageException.permanent("cannot delete the stale keyset copy " + stale + ": " + e, e);
            }
        }
        return LocalMasterKey.openOrCreateFile(keyset);
    }

    /**
     * The master key in a PKCS#11 token: this store's epochs are the token's keys labelled
     * {@code lethe-master-STOREID-<epoch>}. A writer creates epoch 1 only while {@code keys.db} holds no
     * wrapped key; otherwise a token without this store's keys is the wrong one, refused as such. A store
     * whose keys a keyset file wraps is refused too: {@link #moveMasterKeyToToken} moves them first.
     */
    private static MasterKey tokenMasterKey(SqliteOptions.Pkcs11 token, SqliteKeyStore keys, boolean readOnly) {
        Optional<String> storeId = storeId(keys, readOnly);
        if (storeId.isEmpty()) {
            throw StorageException.permanent(
                    "this data directory has no store id yet; open it for writing once with its PKCS#11 token", null);
        }
        Optional<String> noted = keys.note(KEYSET_NOTE);
        if (noted.isPresent()
                && !noted.get().equals(IN_PKCS11_TOKEN)
                && !keys.allWrappedKeys().isEmpty()) {
            throw StorageException.permanent(
                    "this store's master key is the keyset "
                            + (noted.get().equals(IN_DATA_DIRECTORY)
                                    ? LocalMasterKey.FILE_NAME + " in the data directory"
                                    : noted.get())
                            + ", not a PKCS#11 token: keys.db holds keys wrapped by it; open the store without"
                            + " --pkcs11-library (and LETHE_PKCS11_LIBRARY), or move them into the token first with"
                            + " lethe keys move-to-pkcs11",
                    null);
        }
        String prefix = Pkcs11MasterKey.LABEL_PREFIX + storeId.get() + "-";
        boolean[] noKeyInToken = {false};
        MasterKey master;
        try {
            master = Pkcs11MasterKey.open(token.library(), token.slot(), token.pin(), prefix, () -> {
                noKeyInToken[0] = true;
                return !readOnly && keys.allWrappedKeys().isEmpty();
            });
        } catch (StorageException e) {
            if (!noKeyInToken[0]) {
                throw e;
            }
            throw StorageException.permanent(
                    "the PKCS#11 token in " + token + " holds no key labelled " + prefix + "<epoch>, this store's"
                            + " master key: "
                            + (readOnly
                                    ? "a wrong slot or token (--pkcs11-slot, --pkcs11-library)? A read-only open never"
                                            + " creates one; if it is this store's token, its key was deleted from it,"
                                            + " and only a backup of the token (one with that label) opens keys.db"
                                            + " again"
                                    : "keys.db holds keys wrapped by it, so this is not its token (check --pkcs11-slot"
                                            + " and --pkcs11-library), or the key was deleted from this token: then only"
                                            + " a backup of the token (one with that label) opens keys.db again"),
                    e);
        }
        if (!readOnly && !noted.equals(Optional.of(IN_PKCS11_TOKEN))) {
            keys.setNote(KEYSET_NOTE, IN_PKCS11_TOKEN);
        }
        if (!readOnly) {
            deleteMovedKeyset(keys); // a move into this token stopped (or failed) before it deleted the old file
        }
        return master;
    }

    /** The key-store note naming a keyset file whose keys moved into a token, until the file is deleted. */
    static final String MOVED_KEYSET_NOTE = "moved-keyset";

    /** What moving a store's master key into a PKCS#11 token did. */
    public record MasterKeyMove(int rewrapped, String from, String to, Path keyset, boolean keysetDeleted) {}

    /**
     * Moves the master key of the store in {@code directory} out of its keyset file (where
     * {@code options} say it is) into the PKCS#11 {@code token}: every live key is re-wrapped under the
     * token's key for this store (created if missing), and {@code keys.db} notes the token, in one
     * transaction; then the keyset file is deleted. Needs the {@code rotate-keys} permission; audited as
     * {@code MasterKeyMoveStarted} and {@code MasterKeyMoved}. From then on the store opens only with the
     * token. A stop after the commit leaves the file, which the next writer open deletes (the note
     * {@value #MOVED_KEYSET_NOTE} names it). Copies of the keyset kept elsewhere, with backups of
     * {@code keys.db} taken before the move, still unwrap the subject and period keys of that time:
     * destroy those copies. A rotation cannot reach them (it re-wraps keys; it does not replace them).
     */
    public static MasterKeyMove moveMasterKeyToToken(
            Path directory, SqliteOptions options, SqliteOptions.Pkcs11 token, dev.lethe.core.privacy.Principal actor) {
        return moveMasterKeyToToken(directory, options, token, actor, (done, total) -> {});
    }

    /**
     * As {@link #moveMasterKeyToToken(Path, SqliteOptions, SqliteOptions.Pkcs11, dev.lethe.core.privacy.Principal)};
     * {@code progress} hears (keys re-wrapped, keys in all) as it goes: a token wraps a few hundred a second.
     */
    public static MasterKeyMove moveMasterKeyToToken(
            Path directory,
            SqliteOptions options,
            SqliteOptions.Pkcs11 token,
            dev.lethe.core.privacy.Principal actor,
            java.util.function.BiConsumer<Long, Long> progress) {
        if (token == null) {
            throw new IllegalArgumentException("name the PKCS#11 token to move the master key into");
        }
        if (options.pkcs11() != null) {
            throw new IllegalArgumentException("options name where the master key is now: a keyset file, not a token");
        }
        if (Files.isRegularFile(directory.resolve(SqliteKeyStore.FILE_NAME))) {
            try (SqliteKeyStore keys = SqliteKeyStore.open(directory, true)) {
                if (keys.note(KEYSET_NOTE).equals(Optional.of(IN_PKCS11_TOKEN))) {
                    throw StorageException.permanent(
                            "this store's master key is already in a PKCS#11 token: there is nothing to move", null);
                }
            }
        }
        Path keyset;
        String from;
        String to;
        int moved;
        try (SqliteLethe lethe = open(directory, options)) {
            // Before anything reaches the token: who may, and whether this is a copy sharing its keyset.
            lethe.privacy().checkMasterKeyChange(actor);
            KeyService keys = lethe.privacy().keys();
            String storeId = keys.note(STORE_ID_NOTE).orElseThrow();
            String noted = keys.note(KEYSET_NOTE).orElse(IN_DATA_DIRECTORY);
            keyset = (noted.equals(IN_DATA_DIRECTORY) ? directory.resolve(LocalMasterKey.FILE_NAME) : Path.of(noted))
                    .toAbsolutePath()
                    .normalize();
            from = keys.master().describe();
            // A move stopped after it created the token's key may reuse it; any other key of this store id in
            // the token belongs to a copy (or the original) of this store, which this one must not share.
            boolean resuming = keys.note(MOVE_PENDING_NOTE).equals(Optional.of("true"));
            if (resuming) {
                // A copy taken while the original's move was under way holds its note too: the token's key is the
                // original's, which the copy must not share (review AA).
                Optional<Original> original = originalOf(realOrNormal(directory), keys);
                if (original.isPresent()) {
                    throw StorageException.permanent(
                            "this data directory is a copy of " + original.get().directory() + " (same store id "
                                    + storeId + ") taken while that store's move into a PKCS#11 token was under"
                                    + " way: the token's key is that store's, and two stores sharing it would each"
                                    + " lose their data to the other's next rotation. Finish the move there; once"
                                    + " that directory is gone for good, this copy may move. Nothing was moved",
                            null);
                }
            }
            boolean[] created = {false};
            String prefix = Pkcs11MasterKey.LABEL_PREFIX + storeId + "-";
            try (MasterKey target = Pkcs11MasterKey.open(token.library(), token.slot(), token.pin(), prefix, () -> {
                keys.setNote(MOVE_PENDING_NOTE, "true");
                created[0] = true;
                return true;
            })) {
                if (!created[0] && !resuming) {
                    throw StorageException.permanent(
                            "the PKCS#11 token in " + token + " already holds keys labelled " + prefix + "<epoch>: "
                                    + "another store with this store id (a copy of this one, or its original) uses"
                                    + " them, and a store that shared them would lose its data to the other's next"
                                    + " rotation. Nothing was moved",
                            null);
                }
                to = target.describe();
                moved = lethe.privacy()
                        .moveMasterKey(
                                target,
                                java.util.Map.of(
                                        KEYSET_NOTE,
                                        IN_PKCS11_TOKEN,
                                        MOVED_KEYSET_NOTE,
                                        keyset.toString(),
                                        MOVE_PENDING_NOTE,
                                        ""),
                                actor,
                                progress);
            }
        }
        Path deleted;
        try (SqliteKeyStore keys = SqliteKeyStore.open(directory, false)) {
            deleted = deleteMovedKeyset(keys);
        }
        return new MasterKeyMove(moved, from, to, keyset, deleted != null);
    }

    /**
     * How many subjects this open reads as forgotten although {@code keys.db} still holds their keys:
     * the audit trail records their forgets, so {@code keys.db} was restored from a backup taken before
     * them. A writer open forgets them again for good; a read-only open only hides them. Zero after a
     * writer open, which has already forgotten them again.
     */
    public int forgottenOnlyInTrail() {
        return forgottenOnlyInTrail;
    }

    /**
     * What this writer open repaired or found, one sentence each (also logged as warnings): audit entries of
     * operations a crash stopped, subjects forgotten again after a restore (from the audit trail or the
     * receipt journal), a log older than the key store or a key store older than the log. Empty after a clean
     * stop, and for a read-only open.
     */
    public List<String> recoveredAtOpen() {
        return recoveredAtOpen;
    }

    /**
     * How many period keys this open reads as destroyed although {@code keys.db} still holds them (or
     * never recorded them as destroyed): retention runs in the audit trail destroyed them after the backup
     * {@code keys.db} was restored from. A writer open destroys them again; zero after one.
     */
    public int expiredOnlyInTrail() {
        return expiredOnlyInTrail;
    }

    /**
     * The old keyset file a move into a token could not delete yet (each writer open tries again), if
     * there is one: it still holds the old master key.
     */
    public Optional<Path> keysetLeftByMove() {
        return privacy.keys()
                .note(MOVED_KEYSET_NOTE)
                .filter(note -> !note.isEmpty())
                .map(Path::of);
    }

    /** The key-store note of a move that created the token's key and has not committed yet. */
    static final String MOVE_PENDING_NOTE = "move-pending";

    /**
     * Deletes the keyset file a finished move left, if the note names one, then clears the note; returns
     * the file, or null when it could not be deleted (the note stays, and the next writer open tries
     * again). Only an absolute path to a file named as Lethe names keysets is deleted.
     */
    private static Path deleteMovedKeyset(SqliteKeyStore keys) {
        Optional<String> moved = keys.note(MOVED_KEYSET_NOTE);
        if (moved.isEmpty() || moved.get().isEmpty()) {
            return null;
        }
        Path file = Path.of(moved.get());
        String name = file.getFileName() == null ? "" : file.getFileName().toString();
        boolean ours = file.isAbsolute()
                && (name.equals(LocalMasterKey.FILE_NAME) || name.matches("master-[0-9a-f-]{36}\\.keyset\\.json"));
        if (ours) {
            try {
                if (Files.isSymbolicLink(file) && Files.exists(file)) {
                    // The key is where the link leads: deleting the link alone would leave it there.
                    Path real = file.toRealPath();
                    Files.deleteIfExists(real);
                    Files.deleteIfExists(real.resolveSibling(real.getFileName() + ".tmp"));
                }
                Files.deleteIfExists(file);
                Files.deleteIfExists(file.resolveSibling(name + ".tmp"));
            } catch (IOException e) {
                return null;
            }
        }
        keys.setNote(MOVED_KEYSET_NOTE, "");
        return ours ? file : null;
    }

    /**
     * The id a store gets at the first writer open that finds none: random for a new log; for a log that
     * has events (a store from a release before store ids), derived from its first event's id, so that every
     * copy of it — the live directory and a backup restored beside it, each upgraded on its own — gets the same
     * one, and receipts or journal lines made in one are taken as the other's (a random id each made
     * forget-again skip the forgets made since the backup as "another store's").
     */
    static String newStoreId(SqliteEventStore store) {
        if (store.headPosition() < 0) {
            return java.util.UUID.randomUUID().toString();
        }
        // The first event as the store recorded it: its id (which a client may give, the same in two stores),
        // the instant the store recorded it at (to the microsecond), its stream, type and bytes.
        dev.lethe.core.store.RecordedEvent first = store.readAll(0, 1).get(0);
        java.io.ByteArrayOutputStream name = new java.io.ByteArrayOutputStream();
        name.writeBytes(("lethe-store-id:" + first.id() + ":" + first.recordedAt() + ":"
                        + first.streamId().value() + ":" + first.type() + ":")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        name.writeBytes(first.data().toBytes());
        return java.util.UUID.nameUUIDFromBytes(name.toByteArray()).toString();
    }

    /** This store's id, created by a writer on first open; empty for a reader of a store without one. */
    private static Optional<String> storeId(SqliteKeyStore keys, boolean readOnly) {
        Optional<String> storeId = keys.note(STORE_ID_NOTE);
        if (storeId.isEmpty() && !readOnly) {
            storeId = Optional.of(java.util.UUID.randomUUID().toString());
            keys.setNote(STORE_ID_NOTE, storeId.get());
        }
        return storeId;
    }

    /** The key-store note holding the data directory this store was last opened in, as an absolute path. */
    static final String HOME_NOTE = "home-directory";

    /**
     * A store that has run (its key store exists) never gets the default policy in place of a missing
     * {@code policy.yaml}: its retention periods may be shorter (the next retention run would destroy
     * keys early), its roles and strict mode others, its receipt journal gone, all without a word.
     */
    private static void requirePolicyOrNew(Path directory) {
        if (Files.exists(directory.resolve(POLICY_FILE))
                || !Files.isRegularFile(directory.resolve(SqliteKeyStore.FILE_NAME))) {
            return;
        }
        Path where = directory.toAbsolutePath().normalize();
        throw StorageException.permanent(
                POLICY_FILE + " is missing from " + where + ", where the store has run under a policy: put it back"
                        + " (from configuration management or a backup of the directory). Lethe does not write the"
                        + " default policy in its place: its retention periods, roles, strict mode and receipt"
                        + " journal may differ, and a retention run under it could destroy keys early. To adopt the"
                        + " default on purpose, copy it from a new data directory (lethe --data NEW policy show)",
                null);
    }

    /** Whether {@code policy.yaml} is missing, so that a read-only view reads under the default policy. */
    public static boolean policyFileMissing(Path directory) {
        return !Files.exists(directory.resolve(POLICY_FILE));
    }

    /**
     * Refuses to open a log whose {@code keys.db} is missing when a new, empty one would be wrong: in a
     * read-only open (which creates nothing), and when the log holds event schemas (so perhaps personal
     * data sealed under the lost keys: an empty key store would read every such field as unavailable,
     * for good, while looking like a working store).
     */
    private static void requireKeyStoreOrNone(Path directory, SqliteEventStore store) {
        Path file = directory.resolve(SqliteKeyStore.FILE_NAME);
        boolean empty = Files.isRegularFile(file) && (emptyDatabase(file) || !SqliteKeyStore.holdsKeyTables(file));
        if (Files.isRegularFile(file) && !empty) {
            return;
        }
        // An empty file is a missing key store too (a copy cut short, a `> keys.db`): opened, it would be a
        // new, empty one, with a new store id and blind-index secret, and the log's fields unreadable.
        Path where = directory.toAbsolutePath().normalize();
        boolean schemas =
                store.streamInfo(dev.lethe.core.privacy.SchemaRegistry.STREAM).exists();
        if (store.isReadOnly() && !schemas) {
            throw StorageException.permanent(
                    "no " + SqliteKeyStore.FILE_NAME + " in " + where + ": a read-only open creates none (open the"
                            + " directory for writing once)",
                    null);
        }
        if (schemas) {
            throw StorageException.permanent(
                    SqliteKeyStore.FILE_NAME + " is missing from " + where
                            + (Files.isRegularFile(file)
                                    ? " (the file is there, but holds no key store: empty, or a database without"
                                            + " Lethe's tables)"
                                    : "")
                            + ", but its log holds event schemas, and"
                            + " perhaps personal data sealed under the keys it held: restore the whole data directory"
                            + " from one backup (docs/privacy.md §9, Restoring). A new, empty key store would read"
                            + " every such field as unavailable. No key store was created",
                    null);
        }
    }

    /**
     * A database file of 0 bytes whose write-ahead log is missing or empty too: it holds nothing (a new
     * database in WAL mode may keep its first pages in the WAL only, so the WAL counts).
     */
    private static boolean emptyDatabase(Path file) {
        try {
            Path wal = file.resolveSibling(file.getFileName() + "-wal");
            return Files.size(file) == 0 && (!Files.exists(wal) || Files.size(wal) == 0);
        } catch (IOException e) {
            return false; // unreadable: opening it says why
        }
    }

    /**
     * Notices a copy of a data directory that shares its original's master key (the same PKCS#11 token
     * keys, or the same keyset file in a master key directory: both are found by the store id, which a
     * copy keeps). The directory a writer last opened is noted in {@code keys.db}; a writer in another
     * directory whose noted one still holds a {@code keys.db} with the same store id and the same master
     * key is a copy, and changing the master key (a rotation, a move) is refused in it: that would cut the
     * original off from its data. An original that cannot be read counts as sharing (the guard fails
     * closed). Once the noted directory is gone (the store was moved), the note follows. Not seen: an
     * original renamed before the copy is first opened, or one on another machine.
     * Returns the directory this one is a copy of, when it is one (see {@link #originalOf}).
     */
    private static Optional<Original> guardCopies(Path directory, SqliteKeyStore keys, PrivateEventStore privacy) {
        Path here = realOrNormal(directory);
        Optional<String> home = keys.note(HOME_NOTE);
        Optional<Original> original = originalOf(here, privacy.keys());
        if (original.isPresent()) {
            copyRefusal(original.get(), directory, privacy.keys()).ifPresent(privacy::refuseRotation);
            return original; // the original keeps the note
        }
        if (home.isEmpty() || !home.get().equals(here.toString())) {
            keys.setNote(HOME_NOTE, here.toString());
        }
        return original;
    }

    /**
     * Whether the store in {@code original} writes {@code journal} too (its policy names the same file);
     * a policy that cannot be read counts as the same, since a forget it would carry cannot be undone.
     */
    private static boolean sharesJournal(Path original, ReceiptJournal journal) {
        try {
            Path theirFile = original.resolve(POLICY_FILE);
            if (!Files.isRegularFile(theirFile) || Files.size(theirFile) > MAX_POLICY_BYTES) {
                return true; // unreadable, as below (a FIFO or /dev/zero would never end reading)
            }
            Optional<Path> theirs =
                    DataPolicy.parse(Files.readString(theirFile)).receiptJournal();
            if (theirs.isEmpty()) {
                return false;
            }
            Path resolved = theirs.get();
            Path parent = resolved.getParent();
            if (parent != null && Files.isDirectory(parent)) {
                resolved = parent.toRealPath().resolve(resolved.getFileName());
            }
            return resolved.equals(journal.file());
        } catch (IOException | RuntimeException unreadable) {
            return true;
        }
    }

    /**
     * Which receipt-journal lines apply to this store: those it wrote, in any of its directories (by its
     * id; a copy that shares the journal may not forget, see {@code refuseForgets}); not other stores'. A
     * line that names no origin applies; so do all when this store has no id yet.
     */
    private static java.util.function.Predicate<ReceiptJournal.Line> journalLines(SqliteKeyStore keys) {
        Optional<String> storeId = keys.note(STORE_ID_NOTE);
        return line -> line.origin().isEmpty()
                || storeId.isEmpty()
                || storeId.get().equals(line.origin().get().store());
    }

    private static Path realOrNormal(Path directory) {
        try {
            return directory.toRealPath(); // one directory reached by two paths is not a copy of itself
        } catch (IOException e) {
            return directory.toAbsolutePath().normalize();
        }
    }

    /**
     * The directory this store is a copy of: the one its key store notes as the last writer's, when that
     * is not {@code here} and still holds a store with the same id (or one that cannot be read).
     */
    private static Optional<Original> originalOf(Path here, KeyService keys) {
        Optional<String> home = keys.note(HOME_NOTE);
        Optional<String> storeId = keys.note(STORE_ID_NOTE);
        if (home.isEmpty() || home.get().equals(here.toString()) || storeId.isEmpty()) {
            return Optional.empty();
        }
        Path original = Path.of(home.get());
        try {
            if (Files.isSameFile(original, here)) {
                return Optional.empty(); // the same directory by another path (a bind mount): not a copy
            }
        } catch (IOException | SecurityException notThereOrNotReadable) {
            // Judged below, as before.
        }
        return masterKeyOf(original, storeId.get()).map(theirs -> new Original(original, theirs));
    }

    /** The directory a copy was made from, and where that store keeps its master key (its note). */
    private record Original(Path directory, String masterKey) {}

    /** Why a copy of {@code original} may not change its master key, if they share it. */
    private static Optional<String> copyRefusal(Original copied, Path here, KeyService keys) {
        Path original = copied.directory();
        String theirs = copied.masterKey();
        String storeId = keys.note(STORE_ID_NOTE).orElseThrow();
        String ours = keys.note(KEYSET_NOTE).orElse(IN_DATA_DIRECTORY);
        // Each keyset in a data directory is its own file — unless it is a link, which a copy (cp -a, rsync,
        // a volume clone) keeps, leading to the original's key; a token, or a file elsewhere, is shared.
        boolean shared = ours.equals(IN_DATA_DIRECTORY)
                ? sameFile(here.resolve(LocalMasterKey.FILE_NAME), original.resolve(LocalMasterKey.FILE_NAME))
                : theirs.equals(ours) || theirs.equals(UNREADABLE);
        return shared
                ? Optional.of("this data directory is a copy of " + original + " (same store id " + storeId
                        + "), which still exists and shares its master key ("
                        + keys.master().describe()
                        + "): rotating or moving it here would cut " + original + " off from its data. Change it"
                        + " there; once that directory is gone for good, this copy may change it")
                : Optional.empty();
    }

    /**
     * Why this store may not change its master key: as {@code privacy().masterKeyChangeRefusal()} says
     * after a writer open; a read-only open works it out on demand (it reads the original's key store,
     * so it is not done on every open).
     */
    public Optional<String> masterKeyChangeRefusal() {
        Optional<String> known = privacy.masterKeyChangeRefusal();
        if (known.isPresent() || !store.isReadOnly()) {
            return known;
        }
        return originalOf(realOrNormal(store.directory()), privacy.keys())
                .flatMap(original -> copyRefusal(original, store.directory(), privacy.keys()));
    }

    private static final String UNREADABLE = "";

    /** Whether two paths, links followed, are one existing file (one of them a link: a copy's shared key). */
    private static boolean sameFile(Path a, Path b) {
        try {
            return (Files.isSymbolicLink(a) || Files.isSymbolicLink(b))
                    && Files.exists(a)
                    && Files.exists(b)
                    && Files.isSameFile(a, b);
        } catch (IOException unreadable) {
            return Files.isSymbolicLink(a); // fail closed: a link whose target cannot be compared counts as shared
        }
    }

    /**
     * Where the store in {@code directory} keeps its master key (its {@value #KEYSET_NOTE} note) if it is
     * the store with this id; {@link #UNREADABLE} if its key store exists but cannot be read; empty if it
     * is gone or another store.
     */
    private static Optional<String> masterKeyOf(Path directory, String storeId) {
        Path file = directory.resolve(SqliteKeyStore.FILE_NAME);
        if (Files.notExists(directory) || Files.notExists(file)) {
            return Optional.empty(); // known to be gone
        }
        if (!Files.isRegularFile(file)) {
            return Optional.of(UNREADABLE); // there, or not known to be gone: a directory we may not read
        }
        try (SqliteKeyStore other = SqliteKeyStore.open(directory, true)) {
            return other.note(STORE_ID_NOTE)
                    .filter(storeId::equals)
                    .map(same -> other.note(KEYSET_NOTE).orElse(IN_DATA_DIRECTORY));
        } catch (RuntimeException unreadable) {
            return Optional.of(UNREADABLE);
        }
    }

    /** The key-store note holding this store's id, which names its keyset outside the data directory. */
    static final String STORE_ID_NOTE = "store-id";
    /** The key-store note holding where the keyset is: {@value #IN_DATA_DIRECTORY} or an absolute path. */
    static final String KEYSET_NOTE = "master-keyset";

    static final String IN_DATA_DIRECTORY = "data-directory";

    /** The {@value #KEYSET_NOTE} note of a store whose master key is in a PKCS#11 token. */
    static final String IN_PKCS11_TOKEN = "pkcs11-token";

    /**
     * Where this store's master keyset is: {@code master.keyset.json} in the data directory, or, with a
     * master key directory, {@code master-STOREID.keyset.json} there (one directory may serve several
     * stores; each rotation then destroys only its own store's old keys). {@code keys.db} notes the
     * place, so that a later command without the directory (or with another) is refused instead of
     * creating a keyset that unwraps nothing; a keyset moved deliberately (found at the new place and no
     * longer at the noted one) is accepted, and the note follows it.
     */
    private static Path keysetFile(Path directory, SqliteOptions options, SqliteKeyStore keys, boolean readOnly) {
        Optional<String> storeId = storeId(keys, readOnly);
        Path inData = directory.resolve(LocalMasterKey.FILE_NAME);
        Path chosen;
        if (options.masterKeyDirectory() == null) {
            chosen = inData;
        } else if (storeId.isEmpty()) {
            throw StorageException.permanent(
                    "this data directory has no store id yet; open it for writing once with --master-key-dir (Java:"
                            + " SqliteOptions.withMasterKeyDirectory)",
                    null);
        } else if (Files.exists(options.masterKeyDirectory()) && !Files.isDirectory(options.masterKeyDirectory())) {
            throw StorageException.permanent(
                    "the master key directory " + options.masterKeyDirectory()
                            + " (--master-key-dir, LETHE_MASTER_KEY_DIR or SqliteOptions.withMasterKeyDirectory) is a"
                            + " file, not a directory",
                    null);
        } else {
            chosen = options.masterKeyDirectory()
                    .toAbsolutePath()
                    .normalize()
                    .resolve("master-" + storeId.get() + ".keyset.json");
        }
        String place = chosen.equals(inData) ? IN_DATA_DIRECTORY : chosen.toString();
        Optional<String> noted = keys.note(KEYSET_NOTE);
        if (noted.equals(Optional.of(IN_PKCS11_TOKEN))) {
            // Even while keys.db holds no key yet: a command that lacks the PKCS#11 settings (a job without
            // the environment) must not quietly put the store on a keyset file for good.
            throw StorageException.permanent(
                    "this store's master key is in a PKCS#11 token (its keys labelled " + Pkcs11MasterKey.LABEL_PREFIX
                            + storeId.orElse("?") + "-<epoch>): give --pkcs11-library, --pkcs11-slot and the PIN"
                            + " (--pkcs11-pin-file or LETHE_PKCS11_PIN; Java: SqliteOptions.withPkcs11)",
                    null);
        } else if (noted.isPresent() && !noted.get().equals(place)) {
            Path notedFile = noted.get().equals(IN_DATA_DIRECTORY) ? inData : Path.of(noted.get());
            boolean moved = Files.exists(chosen) && !Files.exists(notedFile);
            if (!moved && Files.exists(chosen)) {
                // Both there: "move that file" would mislead, the file is at its new place already.
                throw StorageException.permanent(
                        "this store's master keyset is " + notedFile + ", and " + chosen + " exists too: a keyset is"
                                + " taken at a new place only once it is gone from the one keys.db notes (moved, not"
                                + " copied), so that a copy is never taken for it. Open it with the noted place ("
                                + (noted.get().equals(IN_DATA_DIRECTORY)
                                        ? "without --master-key-dir and LETHE_MASTER_KEY_DIR; Java: without"
                                                + " SqliteOptions.withMasterKeyDirectory"
                                        : "--master-key-dir " + shellWord(String.valueOf(notedFile.getParent()))
                                                + " or LETHE_MASTER_KEY_DIR; Java: SqliteOptions.withMasterKeyDirectory")
                                + "): a copy of a data directory shares its original's keyset. To move the keyset"
                                + " here instead, and only if no other data directory uses it, take "
                                + shellWord(notedFile.toString()) + " away (keep it until lethe keys check passes"
                                + " here) (docs/privacy.md §9)",
                        null);
            }
            if (!moved) {
                throw StorageException.permanent(
                        "this store's master keyset is " + notedFile + ", not " + chosen + ": "
                                + (noted.get().equals(IN_DATA_DIRECTORY)
                                        ? "open it without --master-key-dir (and LETHE_MASTER_KEY_DIR; Java: without"
                                                + " SqliteOptions.withMasterKeyDirectory), or move that file to "
                                                + shellWord(chosen.toString()) + " first"
                                        : "give --master-key-dir " + shellWord(String.valueOf(notedFile.getParent()))
                                                + " (or LETHE_MASTER_KEY_DIR; Java: SqliteOptions.withMasterKeyDirectory),"
                                                + " or move that file to "
                                                + shellWord(chosen.toString()) + " first"),
                        null);
            }
        }
        if (!readOnly && (noted.isEmpty() || !noted.get().equals(place))) {
            keys.setNote(KEYSET_NOTE, place);
        }
        return chosen;
    }

    /**
     * A word as a shell reads it back: as is when plain, else in single quotes. Error messages and hints
     * that tell a user what to type quote paths with it (a path with a space, copied, would be two words).
     */
    public static String shellWord(String word) {
        return word.matches("[A-Za-z0-9_./:=@%+,-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
    }

    /**
     * The SHA-256 of {@code policy.yaml}'s text (UTF-8), hex: what audit entries name a policy by (the
     * default policy's when the file is missing).
     */
    public static String policySha256(Path directory) {
        return policySha256(readPolicyFileOrDefault(directory).text());
    }

    /** The SHA-256 of a policy's text (UTF-8), hex: the one hash every policy audit entry uses. */
    public static String policySha256(String text) {
        try {
            return java.util.HexFormat.of()
                    .formatHex(java.security.MessageDigest.getInstance("SHA-256")
                            .digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    /**
     * The policy in {@code directory/policy.yaml}, or the default one when the file is missing (which
     * this does not write: the first writer open does).
     */
    public static DataPolicy readPolicy(Path directory) {
        return readPolicyFileOrDefault(directory).policy();
    }

    /**
     * Warns when a file Lethe trusts (the policy, the receipt journal) may be changed by users other than its
     * owner (written so, or changed since: Lethe writes them 0644 and 0600): whoever may write it could {@code
     * what}. Said, not refused: a group of administrators may share it on purpose.
     */
    private static void warnIfOthersMayWrite(Path file, String name, String what) {
        try {
            java.util.Set<java.nio.file.attribute.PosixFilePermission> mode = Files.getPosixFilePermissions(file);
            if (mode.contains(java.nio.file.attribute.PosixFilePermission.GROUP_WRITE)
                    || mode.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE)) {
                System.getLogger(SqliteLethe.class.getName())
                        .log(
                                System.Logger.Level.WARNING,
                                name + " " + file + " may be changed by other users (mode "
                                        + java.nio.file.attribute.PosixFilePermissions.toString(mode) + "): whoever"
                                        + " may write it could " + what + "; chmod go-w it");
            }
        } catch (IOException | UnsupportedOperationException | SecurityException unknown) {
            // missing (a read-only view's default policy), or no POSIX modes here: nothing to say
        }
    }

    /** The policy file's text and what it says, read once. */
    private record PolicyFile(String text, DataPolicy policy) {}

    /** {@link #readPolicyFile}, but without writing: the default policy when the file is missing. */
    private static PolicyFile readPolicyFileOrDefault(Path directory) {
        if (Files.exists(directory.resolve(POLICY_FILE))) {
            return readPolicyFile(directory);
        }
        return new PolicyFile(DataPolicy.defaultYaml(), DataPolicy.parse(DataPolicy.defaultYaml()));
    }

    /** The largest {@code policy.yaml} read: 1 MiB, as {@link DataPolicy#MAX_BYTES}. */
    static final long MAX_POLICY_BYTES = DataPolicy.MAX_BYTES;

    /**
     * Reads {@code policy.yaml}; writes the default first when it is missing, {@code rw-r--r--}: anyone
     * who could write it could give a role more to read.
     */
    private static PolicyFile readPolicyFile(Path directory) {
        Path file = directory.resolve(POLICY_FILE);
        try {
            if (!Files.exists(file)) {
                dev.lethe.core.spi.DurableFiles.replace(
                        file,
                        DataPolicy.defaultYaml().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            }
            // A policy is a few kilobytes: a link to /dev/zero or a FIFO would never end reading.
            if (!Files.isRegularFile(file)) {
                throw InvalidEventException.of(
                        file.toString(), "is not a regular file; the data policy is a YAML file");
            }
            if (Files.size(file) > MAX_POLICY_BYTES) {
                throw InvalidEventException.of(
                        file.toString(),
                        "is " + Files.size(file) + " bytes; a data policy is at most " + MAX_POLICY_BYTES);
            }
            String yaml;
            try {
                yaml = Files.readString(file);
            } catch (java.nio.charset.CharacterCodingException notText) {
                throw InvalidEventException.of(
                        file.toString(), "is not UTF-8 text (saved as UTF-16?): save it as UTF-8 and run it again");
            }
            try {
                return new PolicyFile(yaml, DataPolicy.parse(yaml));
            } catch (InvalidEventException e) {
                // Refused rather than read in part (a misspelt 'strict' would silently stay off); the
                // policy commands read it too, so the fix is an edit of the file itself.
                throw InvalidEventException.of(
                        file + ": " + e.subject(),
                        e.getMessage().substring(e.subject().length() + 2)
                                + " (edit the file to fix it: nothing runs on a policy read in part)");
            }
        } catch (IOException e) {
            throw StorageException.permanent(
                    "cannot read the data policy " + file + ": " + StorageException.reasonOf(e), e);
        }
    }

    public SqliteEventStore store() {
        return store;
    }

    /** The read models' store: also the {@code CheckpointStore} a checkpointed subscription takes. */
    public SqliteProjectionStore projections() {
        return projections;
    }

    /**
     * The subject index in {@code projections.db}, which exports read ({@link
     * PrivateEventStore#useSubjectIndex}); a long-running process keeps it up to date with {@link
     * dev.lethe.core.privacy.SubjectIndexer#follow}. Written only by a writer open.
     */
    public dev.lethe.core.privacy.SubjectIndex subjectIndex() {
        return projections;
    }

    public PrivateEventStore privacy() {
        return privacy;
    }

    public DataPolicy policy() {
        return policy;
    }

    /** This store's id, which its copies and backups share; empty for a store no writer has opened yet. */
    public Optional<String> storeId() {
        return privacy.keys().note(STORE_ID_NOTE);
    }

    /** The text of the policy this store runs under, as read when it was opened. */
    public String policyText() {
        return policyText;
    }

    @Override
    public void close() {
        // Forgets in progress first: one cut short between its key's destruction and its audit entry would have
        // its caller told it failed (the next open writes the entry), and the notes below would be written before it.
        boolean forgetsDone = privacy.stopForgets(PrivateEventStore.FORGETS_CLOSE_WAIT);
        if (!store.isReadOnly() && forgetsDone) {
            try {
                privacy.noteForgetsChecked();
                privacy.noteJournalChecked();
            } catch (RuntimeException e) {
                // The next open reads those audit entries (and journal lines) again: slower, not wrong.
            }
        }
        projections.close();
        privacy.close();
    }
}
