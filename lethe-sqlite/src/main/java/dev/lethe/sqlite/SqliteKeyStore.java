package dev.lethe.sqlite;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.keys.ErasureReceipt;
import dev.lethe.core.privacy.keys.KeyRefs;
import dev.lethe.core.privacy.keys.KeyStore;
import dev.lethe.core.store.StorageException;
import dev.lethe.sqlite.internal.DirectoryLock;
import dev.lethe.sqlite.internal.Sql;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * The key store in its own SQLite file, {@code keys.db}, beside the log: wrapped subject and period
 * keys, the blind index, erasure fences and receipts, destroyed periods. Every operation is one
 * transaction with {@code synchronous=FULL}.
 *
 * <p>Deleted keys do not survive in this file: {@code secure_delete} overwrites freed content with
 * zeros, and every transaction that deletes or replaces a key is followed by a checkpoint that
 * truncates the write-ahead log, which held the older page images. (Residue outside the file — old
 * file-system blocks, backups — is what master key rotation defeats.)
 */
public final class SqliteKeyStore implements KeyStore {
    public static final String FILE_NAME = "keys.db";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Connection connection;
    private final boolean readOnly;

    /**
     * Subjects this open treats as forgotten although the file still holds their keys: see {@link
     * #treatAsForgotten}.
     */
    private volatile Set<SubjectId> forgottenElsewhere = Set.of();

    /** Period keys this open treats as destroyed although the file still holds them: see {@link #treatAsExpired}. */
    private volatile Set<PeriodRef> expiredElsewhere = Set.of();

    private SqliteKeyStore(Connection connection, boolean readOnly) throws SQLException {
        this.connection = connection;
        this.readOnly = readOnly;
        if (readOnly) {
            // Beside a writer (perhaps an older version): change nothing, not even the schema.
            return;
        }
        try (Statement statement = connection.createStatement()) {
            statement.execute(
                    "CREATE TABLE IF NOT EXISTS subject_key (subject TEXT PRIMARY KEY, wrapped BLOB NOT NULL)");
            statement.execute("CREATE TABLE IF NOT EXISTS blind_index (hmac BLOB PRIMARY KEY, subject TEXT NOT NULL,"
                    + " sealed BLOB)");
            addColumn(statement, "blind_index", "sealed", "BLOB");
            // Entries keyed the old way, found at once whatever the number of subjects (asked at each open).
            statement.execute(
                    "CREATE INDEX IF NOT EXISTS blind_index_unsealed ON blind_index (hmac) WHERE sealed IS NULL");
            statement.execute("CREATE INDEX IF NOT EXISTS blind_index_by_subject ON blind_index (subject)");
            statement.execute(
                    "CREATE TABLE IF NOT EXISTS erasure_fence (subject TEXT PRIMARY KEY, receipt TEXT NOT NULL)");
            statement.execute("CREATE TABLE IF NOT EXISTS erasure_receipt (id TEXT PRIMARY KEY, receipt TEXT NOT NULL,"
                    + " audited INTEGER NOT NULL DEFAULT 0)");
            addColumn(statement, "erasure_receipt", "audited", "INTEGER NOT NULL DEFAULT 0");
            statement.execute("CREATE TABLE IF NOT EXISTS period_key (grp TEXT NOT NULL, period TEXT NOT NULL,"
                    + " wrapped BLOB NOT NULL, PRIMARY KEY (grp, period))");
            statement.execute("CREATE TABLE IF NOT EXISTS destroyed_period (grp TEXT NOT NULL, period TEXT NOT NULL,"
                    + " destroyed_at TEXT NOT NULL, PRIMARY KEY (grp, period))");
            statement.execute("CREATE TABLE IF NOT EXISTS secret (name TEXT PRIMARY KEY, wrapped BLOB NOT NULL)");
            statement.execute("CREATE TABLE IF NOT EXISTS note (name TEXT PRIMARY KEY, value TEXT NOT NULL)");
        }
    }

    /**
     * Adds a column a key store written by an earlier release lacks: receipts' {@code audited} (their
     * receipts are checked once), the blind index's {@code sealed} (its entries are re-keyed by the next
     * rotation).
     */
    private static void addColumn(Statement statement, String table, String column, String type) throws SQLException {
        if (!hasColumn(statement, table, column)) {
            statement.execute("ALTER TABLE " + table + " ADD COLUMN " + column + " " + type);
        }
    }

    private static boolean hasColumn(Statement statement, String table, String column) throws SQLException {
        try (ResultSet columns = statement.executeQuery("PRAGMA table_info(" + table + ")")) {
            while (columns.next()) {
                if (columns.getString("name").equals(column)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Opens (or creates) {@code keys.db} in the data directory. */
    public static SqliteKeyStore open(Path directory) {
        return open(directory, false);
    }

    /**
     * Whether {@code file} is a database holding a key store's tables; true also when it cannot be read as
     * one (opening it then says why). A file SQLite reads as an empty database (a header and no table) is
     * not a key store: opened, it would become a new, empty one.
     */
    static boolean holdsKeyTables(Path file) {
        try (Connection connection = Sql.open(file, "query_only = ON", "busy_timeout = 10000");
                Statement statement = connection.createStatement();
                ResultSet rows = statement.executeQuery("SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                        + " AND name IN ('subject_key', 'blind_index', 'secret')")) {
            return rows.next() && rows.getInt(1) == 3;
        } catch (SQLException | RuntimeException unreadable) {
            return true;
        }
    }

    /**
     * SQLite's {@code PRAGMA quick_check} of {@code keys.db} in {@code directory}, through a connection that
     * changes nothing: {@code "ok"}, or the problems it found (a damaged page of the blind index makes
     * forgets and new natural keys fail, though every key still unwraps), one per line, at most 10.
     */
    public static String quickCheck(Path directory) {
        return quickCheckFile(directory.resolve(FILE_NAME));
    }

    /** SQLite's {@code quick_check} of any database file of a data directory ({@code events.db} too), read-only. */
    public static String quickCheckFile(Path file) {
        try (Connection connection = Sql.open(file, "query_only = ON", "busy_timeout = 10000");
                Statement statement = connection.createStatement();
                java.sql.ResultSet rows = statement.executeQuery("PRAGMA quick_check(10)")) {
            List<String> found = new java.util.ArrayList<>();
            while (rows.next()) {
                found.add(rows.getString(1));
            }
            return found.isEmpty() ? "no answer" : String.join("\n", found);
        } catch (SQLException e) {
            // A file so damaged that the check cannot run is a failed check, said as SQLite says it.
            return Sql.translate("cannot check " + file, e).getMessage();
        }
    }

    /**
     * Opens {@code keys.db}; {@code readOnly}: for a process that reads beside the writer, which creates
     * and migrates nothing.
     */
    public static SqliteKeyStore open(Path directory, boolean readOnly) {
        Path file = directory.resolve(FILE_NAME);
        Connection connection;
        if (readOnly) {
            if (!Files.isRegularFile(file)) {
                throw StorageException.permanent("cannot open " + file + " for reading: it does not exist", null);
            }
            // SQLite itself refuses writes (query_only): nothing is created, migrated or changed, not even the
            // file's mode; and, unlike a read-only connection, closing it leaves no -wal or -shm file behind.
            connection = Sql.open(file, "query_only = ON", "temp_store = MEMORY", "busy_timeout = 10000");
        } else {
            DirectoryLock.ensureDirectory(directory);
            // Temporary tables and sort spills in memory, not in files of /tmp that secure_delete does not reach.
            connection = Sql.open(
                    file,
                    "journal_mode = WAL",
                    "synchronous = FULL",
                    "secure_delete = ON",
                    "temp_store = MEMORY",
                    "busy_timeout = 10000");
        }
        try {
            SqliteKeyStore store = new SqliteKeyStore(connection, readOnly);
            if (!readOnly) {
                restrictPermissions(file);
            }
            return store;
        } catch (SQLException e) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // The first failure is the one to report.
            }
            throw Sql.translate("cannot open the key store " + file, e);
        }
    }

    private static void restrictPermissions(Path file) {
        try {
            java.nio.file.Files.setPosixFilePermissions(
                    file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | UnsupportedOperationException e) {
            // Not a POSIX file system: the directory's permissions are what protects it.
        }
    }

    @FunctionalInterface
    private interface Work<T> {
        T run() throws SQLException;
    }

    private synchronized <T> T transaction(String what, Work<T> work) {
        requireOpen(what);
        if (readOnly) {
            throw StorageException.permanent(
                    "key store: cannot " + what + ": keys.db is open read-only here (beside the process that writes"
                            + " it); do this through the writing process",
                    null);
        }
        try {
            execute("BEGIN IMMEDIATE");
            T result;
            try {
                result = work.run();
                execute("COMMIT");
            } catch (SQLException | RuntimeException e) {
                try {
                    execute("ROLLBACK");
                } catch (SQLException rollback) {
                    e.addSuppressed(rollback);
                }
                throw e;
            }
            return result;
        } catch (SQLException e) {
            throw Sql.translate("key store: " + what, e);
        }
    }

    /**
     * Copies every page into the database file and empties the WAL, which held the deleted keys' older
     * page images. A reader in another process can hold it up: retried within {@code budget} in all (each
     * attempt waits at most {@value #CHECKPOINT_WAIT_MILLIS} ms for readers, not the connection's 10 s busy
     * timeout, since every key-store call of the process waits behind this lock), then an error, so a forget
     * never reports success while a deleted key's bytes remain in this store's files.
     */
    private void truncateWal(java.time.Duration budget) throws SQLException {
        long deadline = System.nanoTime() + budget.toNanos();
        execute("PRAGMA busy_timeout = " + CHECKPOINT_WAIT_MILLIS);
        try {
            while (true) {
                try (Statement statement = connection.createStatement();
                        ResultSet rs = statement.executeQuery("PRAGMA wal_checkpoint(TRUNCATE)")) {
                    if (rs.next() && rs.getInt(1) == 0) {
                        return;
                    }
                }
                if (System.nanoTime() - deadline > 0) {
                    break;
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        } finally {
            execute("PRAGMA busy_timeout = 10000");
        }
        throw StorageException.transientFailure(
                "key store: another process kept keys.db's WAL from being emptied (a reader of keys.db: a read"
                        + " command, a backup, a tool); the deleted keys' older page images remain in keys.db and"
                        + " keys.db-wal until a later forget, expiry, key rotation, writer open or close empties them",
                null);
    }

    /** How long one attempt to empty the WAL waits for readers. */
    private static final int CHECKPOINT_WAIT_MILLIS = 100;

    private synchronized <T> T query(String what, Work<T> work) {
        requireOpen(what);
        try {
            return work.run();
        } catch (SQLException e) {
            throw Sql.translate("key store: " + what, e);
        }
    }

    private void execute(String sql) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    private Optional<byte[]> blob(String sql, Object... args) throws SQLException {
        try (PreparedStatement statement = prepare(sql, args);
                ResultSet rs = statement.executeQuery()) {
            return rs.next() ? Optional.of(rs.getBytes(1)) : Optional.empty();
        }
    }

    private boolean exists(String sql, Object... args) throws SQLException {
        try (PreparedStatement statement = prepare(sql, args);
                ResultSet rs = statement.executeQuery()) {
            return rs.next();
        }
    }

    private int update(String sql, Object... args) throws SQLException {
        try (PreparedStatement statement = prepare(sql, args)) {
            return statement.executeUpdate();
        }
    }

    private PreparedStatement prepare(String sql, Object... args) throws SQLException {
        PreparedStatement statement = connection.prepareStatement(sql);
        try {
            for (int i = 0; i < args.length; i++) {
                statement.setObject(i + 1, args[i]);
            }
        } catch (SQLException | RuntimeException e) {
            statement.close(); // not handed to a try-with-resources yet
            throw e;
        }
        return statement;
    }

    /**
     * Makes this open read {@code subjects} as forgotten, their keys as absent, without changing the
     * file: for a read-only open of a key store restored from before the audit trail's latest forgets,
     * which the next writer open forgets again for good.
     */
    public void treatAsForgotten(Set<SubjectId> subjects) {
        forgottenElsewhere = Set.copyOf(subjects);
    }

    /**
     * Makes this open read {@code periods} as expired, their keys as destroyed, without changing the file:
     * for a read-only open of a key store restored from before the audit trail's latest retention runs,
     * which the next writer open destroys again for good.
     */
    public void treatAsExpired(Set<PeriodRef> periods) {
        expiredElsewhere = Set.copyOf(periods);
    }

    @Override
    public Optional<byte[]> subjectKey(SubjectId subject) {
        if (forgottenElsewhere.contains(subject)) {
            return Optional.empty();
        }
        return query(
                "read subject key",
                () -> blob("SELECT wrapped FROM subject_key WHERE subject = ?", subject.toString()));
    }

    @Override
    public void createSubject(SubjectId subject, byte[] wrappedKey, Optional<IndexEntry> blindIndex) {
        createSubjects(List.of(new NewSubject(subject, wrappedKey, blindIndex)));
    }

    private void insertIndex(SubjectId subject, IndexEntry entry) throws SQLException {
        update(
                "INSERT INTO blind_index (hmac, subject, sealed) VALUES (?, ?, ?)",
                entry.hash(),
                subject.toString(),
                entry.sealed());
    }

    @Override
    public void createSubjects(List<NewSubject> subjects) {
        if (subjects.isEmpty()) {
            return;
        }
        transaction(subjects.size() == 1 ? "create subject" : "create " + subjects.size() + " subjects", () -> {
            for (NewSubject s : subjects) {
                update("INSERT INTO subject_key VALUES (?, ?)", s.subject().toString(), s.wrappedKey());
                if (s.blindIndex().isPresent()) {
                    insertIndex(s.subject(), s.blindIndex().get());
                }
            }
            return null;
        });
    }

    @Override
    public Optional<SubjectId> subjectByBlindIndex(byte[] blindIndex) {
        return subjectByBlindIndexInFile(blindIndex).filter(subject -> !forgottenElsewhere.contains(subject));
    }

    private Optional<SubjectId> subjectByBlindIndexInFile(byte[] blindIndex) {
        return query("read blind index", () -> {
            try (PreparedStatement statement =
                            prepare("SELECT subject FROM blind_index WHERE hmac = ?", (Object) blindIndex);
                    ResultSet rs = statement.executeQuery()) {
                return rs.next() ? Optional.of(SubjectId.parse(rs.getString(1))) : Optional.empty();
            }
        });
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public boolean hasUnsealedBlindIndex() {
        return query("read blind index", () -> {
            try (Statement statement = connection.createStatement()) {
                // A reader beside an older writer may find no such column: every entry is then unsealed.
                String sql = hasColumn(statement, "blind_index", "sealed")
                        ? "SELECT 1 FROM blind_index WHERE sealed IS NULL LIMIT 1"
                        : "SELECT 1 FROM blind_index LIMIT 1";
                try (ResultSet rs = statement.executeQuery(sql)) {
                    return rs.next();
                }
            }
        });
    }

    @Override
    public boolean hasBlindIndexEntries() {
        return query("read blind index", () -> {
            try (Statement statement = connection.createStatement();
                    ResultSet rs = statement.executeQuery("SELECT 1 FROM blind_index LIMIT 1")) {
                return rs.next();
            }
        });
    }

    @Override
    public List<IndexRow> blindIndexRows() {
        return query("read blind index", () -> {
            List<IndexRow> rows = new ArrayList<>();
            try (Statement statement = connection.createStatement();
                    ResultSet rs = statement.executeQuery("SELECT hmac, subject, sealed FROM blind_index")) {
                while (rs.next()) {
                    rows.add(new IndexRow(
                            SubjectId.parse(rs.getString(2)), new IndexEntry(rs.getBytes(1), rs.getBytes(3))));
                }
            }
            return rows;
        });
    }

    @Override
    public boolean isForgotten(SubjectId subject) {
        if (forgottenElsewhere.contains(subject)) {
            return true;
        }
        return query(
                "read erasure fence",
                () -> exists("SELECT 1 FROM erasure_fence WHERE subject = ?", subject.toString()));
    }

    @Override
    public int forget(SubjectId subject, ErasureReceipt receipt, Collection<UUID> audited) {
        return transaction("forget subject", () -> {
            markAuditedIn(audited);
            if (update("DELETE FROM subject_key WHERE subject = ?", subject.toString()) == 0) {
                return -1;
            }
            int entries = update("DELETE FROM blind_index WHERE subject = ?", subject.toString());
            update(
                    "INSERT INTO erasure_fence VALUES (?, ?)",
                    subject.toString(),
                    receipt.id().toString());
            update(
                    "INSERT INTO erasure_receipt (id, receipt) VALUES (?, ?)",
                    receipt.id().toString(),
                    toJson(receipt));
            return entries;
        });
    }

    @Override
    public void scrub() {
        scrub(java.time.Duration.ofSeconds(10));
    }

    /**
     * As {@link #scrub()}, trying for {@code budget} at most (an open does not wait 10 s beside a reader for
     * page images a forget left, which the next forget or close empties as well).
     */
    @Override
    public void scrub(java.time.Duration budget) {
        synchronized (this) {
            requireOpen("empty the WAL");
            try {
                truncateWal(budget);
            } catch (SQLException e) {
                throw Sql.translate("key store: empty the WAL", e);
            }
        }
    }

    @Override
    public List<ErasureReceipt> receipts() {
        return receipts("SELECT receipt FROM erasure_receipt ORDER BY rowid");
    }

    @Override
    public List<ErasureReceipt> unauditedReceipts() {
        return receipts("SELECT receipt FROM erasure_receipt WHERE audited = 0 ORDER BY rowid");
    }

    @Override
    public List<ErasureReceipt> receiptsOf(SubjectId subject) {
        // Found by SQLite, not by parsing every receipt: a retried forget asks this, under the store's lock.
        return query("read receipts", () -> {
            List<ErasureReceipt> out = new ArrayList<>();
            try (PreparedStatement statement = prepare(
                            "SELECT receipt FROM erasure_receipt WHERE json_extract(receipt, '$.subject') = ?"
                                    + " ORDER BY rowid",
                            subject.toString());
                    ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    out.add(fromJson(rs.getString(1)));
                }
            }
            return out;
        });
    }

    private List<ErasureReceipt> receipts(String sql) {
        return query("read receipts", () -> {
            List<ErasureReceipt> out = new ArrayList<>();
            try (Statement statement = connection.createStatement();
                    ResultSet rs = statement.executeQuery(sql)) {
                while (rs.next()) {
                    out.add(fromJson(rs.getString(1)));
                }
            }
            return out;
        });
    }

    @Override
    public void markAudited(Collection<UUID> receipts) {
        if (!receipts.isEmpty()) {
            transaction("mark receipts audited", () -> {
                markAuditedIn(receipts);
                return null;
            });
        }
    }

    /**
     * Marks receipts as not audited: for a backup's copy of this file, whose log lacks their entries
     * (see {@link SqliteBackup}); the next writer open writes them.
     */
    void markUnaudited(Collection<UUID> receipts) {
        if (!receipts.isEmpty()) {
            transaction("mark receipts unaudited", () -> {
                for (UUID receipt : receipts) {
                    update("UPDATE erasure_receipt SET audited = 0 WHERE id = ?", receipt.toString());
                }
                return null;
            });
        }
    }

    private void markAuditedIn(Collection<UUID> receipts) throws SQLException {
        for (UUID receipt : receipts) {
            update("UPDATE erasure_receipt SET audited = 1 WHERE id = ?", receipt.toString());
        }
    }

    @Override
    public Optional<byte[]> periodKey(DataGroup group, String period) {
        if (expiredElsewhere.contains(new PeriodRef(group, period))) {
            return Optional.empty();
        }
        return query(
                "read period key",
                () -> blob("SELECT wrapped FROM period_key WHERE grp = ? AND period = ?", group.name(), period));
    }

    @Override
    public byte[] createPeriodKey(DataGroup group, String period, byte[] wrappedKey) {
        return transaction("create period key", () -> {
            if (exists("SELECT 1 FROM destroyed_period WHERE grp = ? AND period = ?", group.name(), period)) {
                throw dev.lethe.core.store.InvalidEventException.of(
                        "data group " + group, "period " + period + " has expired; it takes no new data");
            }
            update("INSERT OR IGNORE INTO period_key VALUES (?, ?, ?)", group.name(), period, wrappedKey);
            return blob("SELECT wrapped FROM period_key WHERE grp = ? AND period = ?", group.name(), period)
                    .orElseThrow();
        });
    }

    @Override
    public boolean isPeriodDestroyed(DataGroup group, String period) {
        if (expiredElsewhere.contains(new PeriodRef(group, period))) {
            return true;
        }
        return query(
                "read destroyed periods",
                () -> exists("SELECT 1 FROM destroyed_period WHERE grp = ? AND period = ?", group.name(), period));
    }

    @Override
    public List<PeriodRef> livePeriods() {
        return query("list period keys", () -> {
            List<PeriodRef> out = new ArrayList<>();
            try (Statement statement = connection.createStatement();
                    ResultSet rs = statement.executeQuery("SELECT grp, period FROM period_key ORDER BY grp, period")) {
                while (rs.next()) {
                    PeriodRef ref = new PeriodRef(DataGroup.of(rs.getString(1)), rs.getString(2));
                    if (!expiredElsewhere.contains(ref)) {
                        out.add(ref);
                    }
                }
            }
            return out;
        });
    }

    @Override
    public List<DestroyedPeriod> destroyedPeriods() {
        return query("list destroyed periods", () -> {
            java.util.TreeMap<String, DestroyedPeriod> out = new java.util.TreeMap<>();
            try (Statement statement = connection.createStatement();
                    ResultSet rs = statement.executeQuery("SELECT grp, period, destroyed_at FROM destroyed_period")) {
                while (rs.next()) {
                    out.put(
                            rs.getString(1) + "/" + rs.getString(2),
                            new DestroyedPeriod(
                                    DataGroup.of(rs.getString(1)), rs.getString(2), Instant.parse(rs.getString(3))));
                }
            }
            for (PeriodRef ref : expiredElsewhere) {
                out.putIfAbsent(
                        ref.group().name() + "/" + ref.period(), new DestroyedPeriod(ref.group(), ref.period(), null));
            }
            return List.copyOf(out.values());
        });
    }

    @Override
    public void destroyPeriod(DataGroup group, String period, Instant at) {
        // Not scrubbed here (nor in rewrap): a failure to empty the WAL after the commit would read as the
        // change not made, with the keys still cached; the key service evicts them, then scrubs.
        transaction("destroy period key", () -> {
            update("DELETE FROM period_key WHERE grp = ? AND period = ?", group.name(), period);
            update("INSERT OR IGNORE INTO destroyed_period VALUES (?, ?, ?)", group.name(), period, at.toString());
            return null;
        });
    }

    @Override
    public Optional<String> note(String name) {
        return query("read note", () -> {
            if (!exists("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'note'")) {
                return Optional.empty(); // a key store from before notes, opened read-only
            }
            try (PreparedStatement statement = prepare("SELECT value FROM note WHERE name = ?", name);
                    ResultSet rs = statement.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        });
    }

    @Override
    public void setNote(String name, String value) {
        transaction("set note", () -> {
            update(
                    "INSERT INTO note VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    name,
                    value);
            return null;
        });
    }

    @Override
    public Optional<byte[]> secret(String name) {
        return query("read secret", () -> blob("SELECT wrapped FROM secret WHERE name = ?", name));
    }

    @Override
    public byte[] createSecret(String name, byte[] wrapped) {
        return transaction("create secret", () -> {
            update("INSERT OR IGNORE INTO secret VALUES (?, ?)", name, wrapped);
            return blob("SELECT wrapped FROM secret WHERE name = ?", name).orElseThrow();
        });
    }

    @Override
    public Map<String, byte[]> allWrappedKeys() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        forEachWrappedKey(out::put);
        return out;
    }

    /** Subject keys read per query by {@link #forEachWrappedKey}, which holds this store's lock per page only. */
    private static final int WRAPPED_KEYS_PAGE = 10_000;

    @Override
    public void forEachWrappedKey(java.util.function.BiConsumer<String, byte[]> each) {
        forEachWrappedKey(each, WRAPPED_KEYS_PAGE);
    }

    void forEachWrappedKey(java.util.function.BiConsumer<String, byte[]> each, int pageSize) {
        // A page at a time, so that a million subjects' keys are never all in memory and other calls on
        // this store are not kept waiting while the caller unwraps; period keys and secrets are few.
        long after = Long.MIN_VALUE;
        while (true) {
            long from = after;
            long[] lastRowid = {from};
            List<Map.Entry<SubjectId, byte[]>> page = query("list wrapped keys", () -> {
                List<Map.Entry<SubjectId, byte[]>> out = new ArrayList<>();
                try (PreparedStatement statement = prepare(
                                "SELECT rowid, subject, wrapped FROM subject_key WHERE rowid > ? ORDER BY rowid"
                                        + " LIMIT ?",
                                from,
                                pageSize);
                        ResultSet rs = statement.executeQuery()) {
                    while (rs.next()) {
                        lastRowid[0] = rs.getLong(1);
                        out.add(Map.entry(SubjectId.parse(rs.getString(2)), rs.getBytes(3)));
                    }
                }
                return out;
            });
            page.stream()
                    .filter(entry -> !forgottenElsewhere.contains(entry.getKey()))
                    .forEach(entry -> each.accept(KeyRefs.subject(entry.getKey()), entry.getValue()));
            if (page.size() < pageSize) {
                break;
            }
            after = lastRowid[0];
        }
        Map<String, byte[]> others = query("list wrapped keys", () -> {
            Map<String, byte[]> out = new LinkedHashMap<>();
            try (Statement statement = connection.createStatement()) {
                try (ResultSet rs = statement.executeQuery("SELECT grp, period, wrapped FROM period_key")) {
                    while (rs.next()) {
                        out.put(KeyRefs.period(DataGroup.of(rs.getString(1)), rs.getString(2)), rs.getBytes(3));
                    }
                }
                try (ResultSet rs = statement.executeQuery("SELECT name, wrapped FROM secret")) {
                    while (rs.next()) {
                        out.put(KeyRefs.secret(rs.getString(1)), rs.getBytes(2));
                    }
                }
            }
            return out;
        });
        others.forEach(each);
    }

    @Override
    public void rewrap(Map<String, byte[]> rewrapped, Map<String, String> notes, List<IndexRow> index) {
        transaction("re-wrap keys", () -> {
            if (index != null) {
                // Every entry re-keyed, in the commit that replaces the secret they are keyed by.
                update("DELETE FROM blind_index");
                for (IndexRow row : index) {
                    insertIndex(row.subject(), row.entry());
                }
            }
            for (Map.Entry<String, String> note : notes.entrySet()) {
                update(
                        "INSERT INTO note VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                        note.getKey(),
                        note.getValue());
            }
            for (Map.Entry<String, byte[]> entry : rewrapped.entrySet()) {
                KeyRefs.Parsed ref = KeyRefs.parse(entry.getKey());
                switch (ref.kind()) {
                    case "subject" ->
                        update("UPDATE subject_key SET wrapped = ? WHERE subject = ?", entry.getValue(), ref.a());
                    case "period" ->
                        update(
                                "UPDATE period_key SET wrapped = ? WHERE grp = ? AND period = ?",
                                entry.getValue(),
                                ref.a(),
                                ref.b());
                    default ->
                        update(
                                "INSERT INTO secret VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET wrapped ="
                                        + " excluded.wrapped",
                                ref.a(),
                                entry.getValue());
                }
            }
            return null;
        });
    }

    private static String toJson(ErasureReceipt receipt) {
        try {
            return JSON.writeValueAsString(receipt.asMap());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ErasureReceipt fromJson(String text) {
        try {
            var node = JSON.readTree(text);
            List<String> destroyed = new ArrayList<>();
            node.path("destroyed").forEach(d -> destroyed.add(d.asText()));
            return new ErasureReceipt(
                    UUID.fromString(node.get("id").asText()),
                    SubjectId.parse(node.get("subject").asText()),
                    node.get("actor").asText(),
                    Instant.parse(node.get("at").asText()),
                    node.get("legalBasis").asText(),
                    node.path("reason").asText(""),
                    destroyed);
        } catch (IOException e) {
            throw StorageException.permanent("a stored erasure receipt is not JSON: " + e.getMessage(), e);
        }
    }

    /** Guarded by this store's lock. */
    private boolean closed;

    private void requireOpen(String what) {
        if (closed) {
            throw StorageException.permanent("key store: cannot " + what + ": the store is closed", null);
        }
    }

    @Override
    public synchronized void close() {
        if (!closed && !readOnly) {
            // SQLite checkpoints at close only when no other connection has keys.db open: tried here, briefly.
            try {
                truncateWal(java.time.Duration.ofMillis(200));
            } catch (SQLException | RuntimeException busy) {
                // A reader holds it: the next writer open empties it.
            }
        }
        closed = true;
        try {
            connection.close();
        } catch (SQLException e) {
            // Every transaction is committed or rolled back; closing loses nothing.
        }
    }
}
