package dev.lethe.server.cli;

import dev.lethe.core.privacy.Principal;
import dev.lethe.core.store.StorageException;
import dev.lethe.server.http.Pkcs11Settings;
import dev.lethe.server.http.ServerConfig;
import dev.lethe.sqlite.SqliteEventStore;
import dev.lethe.sqlite.SqliteLethe;
import dev.lethe.sqlite.SqliteOptions;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The options every command shares ({@code --data}, {@code --role}, {@code --user}), and how commands open a data directory. */
final class Store {
    /** The role of a reader who named none: it reads no personal data group. */
    static final String NO_ROLE = dev.lethe.core.privacy.policy.DataPolicy.NO_ROLE;

    @Option(
            names = "--data",
            scope = ScopeType.INHERIT,
            paramLabel = "DIR",
            defaultValue = "${env:LETHE_DATA:-./lethe-data}",
            description = "Data directory (default: $LETHE_DATA, else lethe-data in the current directory).")
    Path directory;

    @Option(
            names = "--init",
            scope = ScopeType.INHERIT,
            description = "Let a command that writes (append, import, schemas register, policy set, serve) create a"
                    + " new, empty store when the data directory holds none. Without it, such a directory is"
                    + " refused: a mistyped --data or $LETHE_DATA, or a volume not mounted, would otherwise become a"
                    + " new store taking personal data nobody knows of.")
    boolean init;

    @Option(
            names = "--master-key-dir",
            scope = ScopeType.INHERIT,
            paramLabel = "DIR",
            defaultValue = "${env:LETHE_MASTER_KEY_DIR}",
            description = "Where the master keyset lives, as master-STOREID.keyset.json (default:"
                    + " $LETHE_MASTER_KEY_DIR, else the data directory, as master.keyset.json)."
                    + " Outside the data directory, a backup of it alone cannot unwrap its keys.")
    Path masterKeyDirectory;

    @Option(
            names = "--pkcs11-library",
            scope = ScopeType.INHERIT,
            paramLabel = "FILE",
            defaultValue = "${env:LETHE_PKCS11_LIBRARY}",
            description = "Keep the master key in a PKCS#11 token (an HSM) instead of a keyset file: the token's"
                    + " PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so (default: $LETHE_PKCS11_LIBRARY)."
                    + " Needs --pkcs11-slot and the PIN.")
    String pkcs11Library;

    @Option(
            names = "--pkcs11-slot",
            scope = ScopeType.INHERIT,
            paramLabel = "ID",
            defaultValue = "${env:LETHE_PKCS11_SLOT}",
            description =
                    "The token's slot id, as softhsm2-util --show-slots (decimal) or pkcs11-tool -L (0x hex) lists it"
                            + " (default: $LETHE_PKCS11_SLOT).")
    String pkcs11Slot;

    @Option(
            names = "--pkcs11-pin-file",
            scope = ScopeType.INHERIT,
            paramLabel = "FILE",
            defaultValue = "${env:LETHE_PKCS11_PIN_FILE}",
            description = "A file holding the token's user PIN (default: $LETHE_PKCS11_PIN_FILE, else the PIN"
                    + " itself in $LETHE_PKCS11_PIN; never on the command line).")
    String pkcs11PinFile;

    @Option(
            names = "--role",
            scope = ScopeType.INHERIT,
            paramLabel = "ROLE",
            defaultValue = "${env:LETHE_ROLE:-none}",
            description =
                    "Your role in the data policy, which decides the personal data you may read and what you may do"
                            + " (default: $LETHE_ROLE, else none: personal fields read as restricted).")
    String role;

    @Option(
            names = "--user",
            scope = ScopeType.INHERIT,
            paramLabel = "NAME",
            defaultValue = "${env:USER:-cli}",
            description = "Your name for the audit trail (default: $USER, else cli).")
    String user;

    /**
     * The caller as the policy knows them. A role the policy does not declare is refused (a typo such as
     * "dop" would otherwise read everything as restricted, or be told it "may not" do what it asked);
     * "none", the default, is the role without any.
     */
    Principal principal() {
        if (!"none".equals(role) && Files.isRegularFile(directory.resolve(SqliteLethe.POLICY_FILE))) {
            java.util.Set<String> roles = new java.util.TreeSet<>(
                    SqliteLethe.readPolicy(directory).roles().keySet());
            if (!roles.contains(role)) {
                throw dev.lethe.core.store.InvalidEventException.of(
                        "--role",
                        "'" + role + "' (from --role or $LETHE_ROLE) is not a role of the data policy; its roles: "
                                + roles);
            }
        }
        return as(role);
    }

    /**
     * The options that name this store and its master key, as a command line gives them ("lethe" + these +
     * a command): printed in hints to run another command, which would otherwise open ./lethe-data (a new,
     * empty store without schemas, where nothing is encrypted).
     */
    String commandOptions() {
        StringBuilder options = new StringBuilder();
        storeOptions(options, false);
        if (role != null && !role.equals("none")) {
            options.append(" --role ").append(quoted(role));
        }
        return options.toString();
    }

    /**
     * The options that name this store and its master key for a hint printed to the shell that ran this
     * command: an option whose value that shell's environment gives already ({@code $LETHE_DATA}, or
     * ./lethe-data, {@code $LETHE_MASTER_KEY_DIR}, {@code $LETHE_PKCS11_*}) is left out; no role.
     */
    String hintOptions() {
        StringBuilder options = new StringBuilder();
        storeOptions(options, true);
        return options.toString();
    }

    private void storeOptions(StringBuilder options, boolean leaveOutEnvironment) {
        String data = directory.toAbsolutePath().normalize().toString();
        String implicitData = Path.of(environment("LETHE_DATA", "lethe-data"))
                .toAbsolutePath()
                .normalize()
                .toString();
        if (!leaveOutEnvironment || !data.equals(implicitData)) {
            options.append(" --data ").append(quoted(data));
        }
        if (masterKeyDirectory != null && !masterKeyDirectory.toString().isBlank()) {
            String keys = masterKeyDirectory.toAbsolutePath().normalize().toString();
            String implicitKeys = environment("LETHE_MASTER_KEY_DIR", "");
            if (!leaveOutEnvironment
                    || implicitKeys.isEmpty()
                    || !keys.equals(
                            Path.of(implicitKeys).toAbsolutePath().normalize().toString())) {
                options.append(" --master-key-dir ").append(quoted(keys));
            }
        }
        if (pkcs11Library != null && !pkcs11Library.isBlank()) {
            appendUnlessImplicit(
                    options, "--pkcs11-library", pkcs11Library, "LETHE_PKCS11_LIBRARY", leaveOutEnvironment);
            if (pkcs11Slot != null && !pkcs11Slot.isBlank()) {
                appendUnlessImplicit(options, "--pkcs11-slot", pkcs11Slot, "LETHE_PKCS11_SLOT", leaveOutEnvironment);
            }
            if (pkcs11PinFile != null && !pkcs11PinFile.isBlank()) {
                appendUnlessImplicit(
                        options, "--pkcs11-pin-file", pkcs11PinFile, "LETHE_PKCS11_PIN_FILE", leaveOutEnvironment);
            }
        }
    }

    private static void appendUnlessImplicit(
            StringBuilder options, String option, String value, String variable, boolean leaveOutEnvironment) {
        if (!leaveOutEnvironment || !value.equals(environment(variable, ""))) {
            options.append(' ').append(option).append(' ').append(quoted(value));
        }
    }

    private static String environment(String variable, String otherwise) {
        String value = System.getenv(variable);
        return value == null || value.isEmpty() ? otherwise : value;
    }

    /** A word as a shell reads it back: as is when plain, else in single quotes. */
    static String quoted(String word) {
        return SqliteLethe.shellWord(word);
    }

    /**
     * The user of {@code --user} in {@code role}; a name the audit trail cannot keep is refused, naming the
     * option. An empty {@code $USER} (or {@code --user ''}) is {@code cli}, as when it is unset.
     */
    private Principal as(String role) {
        if (role == null || role.isBlank()) {
            throw dev.lethe.core.store.InvalidEventException.of("--role", "is empty: name a role of the data policy");
        }
        try {
            return new Principal(user == null || user.isEmpty() ? "cli" : user, role);
        } catch (dev.lethe.core.store.InvalidEventException e) {
            throw e.at("--user");
        }
    }

    /** Refuses an empty or blank --data (or $LETHE_DATA set to nothing): it would be the current directory. */
    void requireDataPath() {
        if (directory == null || directory.toString().isBlank()) {
            throw dev.lethe.core.store.InvalidEventException.of(
                    "--data",
                    "is empty (or $LETHE_DATA is set to nothing): name the data directory, or unset LETHE_DATA for"
                            + " ./lethe-data");
        }
    }

    /**
     * The engine's options: the default, with the master key where --master-key-dir or the PKCS#11
     * flags say; checked as {@code lethe serve} checks its config.
     */
    SqliteOptions options() {
        // An empty or blank LETHE_MASTER_KEY_DIR means unset, as in lethe serve's config.
        boolean unset =
                masterKeyDirectory == null || masterKeyDirectory.toString().isBlank();
        Pkcs11Settings pkcs11 =
                new Pkcs11Settings(pkcs11Library, pkcs11Slot, pkcs11PinFile, System.getenv("LETHE_PKCS11_PIN"));
        return ServerConfig.storeOptions(unset ? null : masterKeyDirectory, pkcs11);
    }

    /** For {@code keys move-to-pkcs11}: where the master keyset is now (--master-key-dir), without the token. */
    SqliteOptions keysetOptions() {
        boolean unset =
                masterKeyDirectory == null || masterKeyDirectory.toString().isBlank();
        return ServerConfig.storeOptions(unset ? null : masterKeyDirectory, Pkcs11Settings.NONE);
    }

    /** For {@code keys move-to-pkcs11}: the token the PKCS#11 flags name; refused when they name none. */
    SqliteOptions.Pkcs11 pkcs11Token() {
        SqliteOptions.Pkcs11 token = new Pkcs11Settings(
                        pkcs11Library, pkcs11Slot, pkcs11PinFile, System.getenv("LETHE_PKCS11_PIN"))
                .resolve();
        if (token == null) {
            throw dev.lethe.core.store.InvalidEventException.of(
                    "--pkcs11-library",
                    "is missing: name the token to move the master key into (--pkcs11-library, --pkcs11-slot and"
                            + " the PIN: --pkcs11-pin-file or LETHE_PKCS11_PIN)");
        }
        return token;
    }

    /** Refuses a directory without an event store: a mistyped --data, not a request to create one. */
    void requireExisting() {
        if (!Files.isRegularFile(directory.resolve(SqliteEventStore.FILE_NAME))) {
            throw noStore(
                    init
                            ? " (check --data or $LETHE_DATA; --init makes a store only for append, import, schemas"
                                    + " register, policy set and serve: this command needs one that exists — a dry"
                                    + " run, a read, keys and retention commands make none)"
                            : " (check --data or $LETHE_DATA; ./lethe demo makes one with the demo story, and a command"
                                    + " that writes makes an empty one with --init)");
        }
    }

    /**
     * The refusal of a directory without {@code events.db}: {@code advice} for an empty or missing directory;
     * a directory that holds {@code keys.db} lost its log, which no new one replaces.
     */
    /**
     * Refuses a data directory this user cannot reach — neither there nor not there to it, because a directory on
     * the way cannot be entered — naming that directory, its owner and mode (not "no store": one may be there).
     */
    static void requireReachable(Path directory) {
        Path where = directory.toAbsolutePath().normalize();
        if (Files.exists(where) || Files.notExists(where)) {
            return;
        }
        Path at = where.getRoot();
        for (Path part : where) {
            if (at == null) {
                return;
            }
            if (Files.isDirectory(at) && !(Files.isReadable(at) && Files.isExecutable(at))) {
                throw StorageException.permanent(
                        "data directory " + where + " cannot be reached: " + at + " cannot be entered"
                                + dev.lethe.sqlite.internal.Sql.traversal(at) + " (not --init: a store may be there)",
                        null);
            }
            at = at.resolve(part);
        }
    }

    /**
     * Refuses, before anything is created, a data directory that does not exist and cannot be created here: the
     * nearest directory above it that exists is not writable (or enterable) by this user. Said with its owner and
     * mode, not as the JDK's bare {@code AccessDeniedException} from half-way through an open.
     */
    static void requireCreatable(Path directory) {
        Path where = directory.toAbsolutePath().normalize();
        if (!Files.notExists(where)) {
            return;
        }
        Path above = where.getParent();
        while (above != null && Files.notExists(above)) {
            above = above.getParent();
        }
        if (above != null && !(Files.isWritable(above) && Files.isExecutable(above))) {
            throw StorageException.permanent(
                    "data directory " + where + " does not exist, and cannot be created: " + above + " is not writable"
                            + dev.lethe.sqlite.internal.Sql.creation(above),
                    null);
        }
    }

    private StorageException noStore(String advice) {
        requireReachable(directory);
        Path where = directory.toAbsolutePath().normalize();
        if (Files.isDirectory(where) && !(Files.isReadable(where) && Files.isExecutable(where))) {
            // Not "no store": this user cannot look inside (a directory of another user, mode 0700).
            return StorageException.permanent(
                    "data directory " + where + " cannot be read" + dev.lethe.sqlite.internal.Sql.ownership(where),
                    null);
        }
        if (Files.exists(directory.resolve(dev.lethe.sqlite.SqliteKeyStore.FILE_NAME))) {
            return StorageException.permanent(
                    "events.db is missing from " + where + ", which holds keys.db: the log was deleted, or left out of"
                            + " a restore. Restore the whole directory from one backup (docs/privacy.md §9,"
                            + " Restoring); --init does not make a new log beside a key store",
                    null);
        }
        return StorageException.permanent("no Lethe event store in " + where + advice, null);
    }

    /**
     * For commands that write: takes the directory's lock; creates the directory and its files when it holds
     * no store, only with {@code --init}.
     */
    SqliteLethe openForWriting() {
        SqliteOptions options = options(); // bad flags first: they are bad input whatever the directory holds
        requireReachable(directory); // before --init tries to create it
        if (init) {
            requireCreatable(directory);
        }
        if (!init && !Files.isRegularFile(directory.resolve(SqliteEventStore.FILE_NAME))) {
            throw noStore(": a command creates none unless asked (a mistyped --data or $LETHE_DATA, or a volume not"
                    + " mounted, would become a new store holding personal data nobody knows of); check the path, or"
                    + " give --init to create a store there");
        }
        return SqliteLethe.open(directory, options);
    }

    /**
     * For commands that act on data already there (forget, export, lookup, retention, key rotation): a
     * missing event store is a mistyped --data, not a request to create an empty one.
     */
    SqliteLethe openExisting() {
        requireExisting();
        return SqliteLethe.open(directory, options());
    }

    /** For the demo: the store and key service run on the story's clock. */
    SqliteLethe openForWriting(java.time.Clock clock) {
        return SqliteLethe.open(directory, options().withClock(clock));
    }

    /**
     * For commands that list what reveals no personal data (receipts, schedules): the writing
     * view when the directory is free, else a read-only one, with the caller's own role (their permission
     * is checked against the policy either way).
     */
    SqliteLethe openForQuerying(PrintWriter err) {
        requireExisting();
        String readOnly = null;
        SqliteLethe lethe = null;
        if (dev.lethe.sqlite.internal.Sql.onReadOnlyFileSystem(directory)) {
            readOnly = "note: the data directory is on a read-only file system; reading it read-only";
        } else {
            try {
                lethe = SqliteLethe.open(directory, options());
            } catch (StorageException e) {
                if (!e.getMessage().contains(" is in use by ")) {
                    throw e;
                }
                readOnly = "note: the data directory is in use by another process; reading it read-only";
            }
        }
        if (lethe == null) {
            err.println(readOnly);
            lethe = SqliteLethe.openReadOnly(directory, options());
            warnIfPolicyMissing(err);
        }
        warnIfMasterKeyDoesNotOpen(lethe, err);
        return lethe;
    }

    /**
     * A key store the master key does not open (restored from before a rotation, beside another keyset or
     * token) reads every personal field as unavailable, exit 0: said on standard error, as {@code lethe
     * serve}'s readiness says it.
     */
    static void warnIfMasterKeyDoesNotOpen(SqliteLethe lethe, PrintWriter err) {
        lethe.privacy()
                .keys()
                .masterProblem()
                .ifPresent(
                        why -> err.println(
                                "warning: the master key does not open this key store, or it lost its blind index's secret ("
                                        + why
                                        + "): personal fields read as unavailable; lethe keys check names the keys it cannot unwrap"));
    }

    /**
     * For commands that read: the writing view when the directory is free (so key releases are
     * audited); beside another process that writes, a read-only view in which personal data stays
     * restricted, because only the writing process can audit releasing it.
     */
    Opened openForReading(PrintWriter err) {
        requireExisting();
        if (dev.lethe.sqlite.internal.Sql.onReadOnlyFileSystem(directory)) {
            // A backup on a read-only mount: no writer can be there, and no key release can be audited.
            return openReadOnly(
                    err,
                    "note: the data directory is on a read-only file system; reading it read-only, with personal"
                            + " fields restricted (key releases cannot be audited there)");
        }
        try {
            SqliteLethe lethe = SqliteLethe.open(directory, options());
            warnIfMasterKeyDoesNotOpen(lethe, err);
            return new Opened(lethe, principal());
        } catch (StorageException e) {
            if (!e.getMessage().contains(" is in use by ")) {
                throw e;
            }
            return openReadOnly(
                    err,
                    "note: the data directory is in use by another process; reading it read-only, with personal"
                            + " fields restricted (key releases must be audited by the writing process: use its API)");
        }
    }

    /**
     * A read-only view, whoever else has the directory open: it never stops a writer, and personal data
     * stays restricted in it (only a writing process can audit releasing it). Prints {@code note} first.
     */
    Opened openReadOnly(PrintWriter err, String note) {
        requireExisting();
        err.println(note);
        SqliteLethe lethe = SqliteLethe.openReadOnly(directory, options());
        warnIfPolicyMissing(err);
        warnIfMasterKeyDoesNotOpen(lethe, err);
        if (lethe.forgottenOnlyInTrail() > 0) {
            err.println("warning: keys.db still holds the keys of " + lethe.forgottenOnlyInTrail()
                    + " subject(s) the audit trail says were forgotten (was it restored from a backup?);"
                    + " read as forgotten here, and forgotten again for good by the next writer open");
        }
        if (lethe.expiredOnlyInTrail() > 0) {
            err.println("warning: keys.db does not record " + lethe.expiredOnlyInTrail() + " period key(s) as"
                    + " destroyed that the audit trail's retention runs destroyed (was it restored from a"
                    + " backup?); read as expired here, and destroyed again for good by the next writer open");
        }
        return new Opened(lethe, as(NO_ROLE));
    }

    /**
     * For a dry run: a read-only view, whoever else has the directory open (a running server): the checks
     * read the store's schemas, policy and erasure fences, and write nothing.
     */
    SqliteLethe openForChecking(PrintWriter err) {
        requireExisting();
        SqliteLethe lethe = SqliteLethe.openReadOnly(directory, options());
        warnIfPolicyMissing(err);
        return lethe;
    }

    /** A read-only view of a directory without {@code policy.yaml} reads under the default policy: said. */
    void warnIfPolicyMissing(PrintWriter err) {
        if (SqliteLethe.policyFileMissing(directory)) {
            err.println("warning: " + directory.toAbsolutePath().normalize().resolve(SqliteLethe.POLICY_FILE)
                    + " is missing: read under the default policy, whose retention periods and roles may not be"
                    + " this store's (a writing command refuses to open until it is put back)");
        }
    }

    /** A data directory opened for reading, and who reads it. */
    record Opened(SqliteLethe lethe, Principal principal) implements AutoCloseable {
        @Override
        public void close() {
            lethe.close();
        }
    }
}
