package dev.lethe.sqlite.internal;

import dev.lethe.core.store.StorageException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.UUID;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/** Small helpers shared by the SQLite files: connections, encodings, error translation. */
public final class Sql {
    private Sql() {}

    /** Opens a connection and applies the pragmas, in order. */
    public static Connection open(Path file, String... pragmas) {
        return open(file, new java.util.Properties(), pragmas);
    }

    /**
     * Opens the write connection: its transactions begin with {@code BEGIN IMMEDIATE}, taking the write
     * lock first, so that waiting for a checkpoint goes through the busy timeout instead of failing
     * with SQLITE_BUSY when a read would be upgraded to a write.
     */
    public static Connection openWriter(Path file, String... pragmas) {
        java.util.Properties properties = new java.util.Properties();
        properties.setProperty(org.sqlite.SQLiteConfig.Pragma.TRANSACTION_MODE.pragmaName, "IMMEDIATE");
        return open(file, properties, pragmas);
    }

    private static Connection open(Path file, java.util.Properties properties, String... pragmas) {
        createPrivately(file);
        return connect(file, properties, pragmas);
    }

    private static Connection connect(Path file, java.util.Properties properties, String... pragmas) {
        try {
            Connection connection = DriverManager.getConnection(url(file), properties);
            try (Statement statement = connection.createStatement()) {
                for (String pragma : pragmas) {
                    statement.execute("PRAGMA " + pragma);
                }
            }
            return connection;
        } catch (SQLException e) {
            throw translate("cannot open " + file + whenFull(file, e) + whenDenied(file, e), e);
        }
    }

    /**
     * SQLite says {@code SQLITE_CANTOPEN} or {@code SQLITE_READONLY} where the file system denied access (a
     * data directory restored as root and run as a service user): said plainly, naming the file that this
     * process may not read or write, its owner and mode, and the user the process runs as.
     */
    static String whenDenied(Path file, SQLException e) {
        if (!(e instanceof SQLiteException sqlite)) {
            return "";
        }
        int base = sqlite.getResultCode().code & 0xFF;
        if (base != SQLiteErrorCode.SQLITE_CANTOPEN.code && base != SQLiteErrorCode.SQLITE_READONLY.code) {
            return "";
        }
        Path absolute = file.toAbsolutePath();
        java.util.List<Path> candidates = new java.util.ArrayList<>();
        candidates.add(absolute.getParent());
        for (String suffix : new String[] {"", "-wal", "-shm", "-journal"}) {
            candidates.add(absolute.resolveSibling(absolute.getFileName() + suffix));
        }
        for (Path candidate : candidates) {
            if (!java.nio.file.Files.exists(candidate, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            boolean readable = java.nio.file.Files.isReadable(candidate);
            boolean writable = java.nio.file.Files.isWritable(candidate);
            if (readable && writable) {
                continue;
            }
            try {
                if (java.nio.file.Files.getFileStore(candidate).isReadOnly()) {
                    return ""; // a read-only file system: not a matter of owners
                }
            } catch (java.io.IOException unknown) {
                return "";
            }
            return " (permission denied: " + candidate + " is " + (readable ? "not writable" : "not readable")
                    + ownership(candidate) + ")";
        }
        return "";
    }

    /**
     * Who may not use {@code path} and why, to follow a refusal: " by user U: it is owned by O, mode M; give
     * the data directory and its files to the user that runs Lethe (chown -R)".
     */
    public static String ownership(Path path) {
        return " by user " + System.getProperty("user.name") + describeOwner(path)
                + "; give the data directory and its files to the user that runs Lethe (chown -R)";
    }

    /**
     * For a directory on the way to the data directory that the process's user cannot enter: who it is, who owns
     * it and its mode, and what to do — let the user through, not hand it the directory (a parent such as /srv).
     */
    public static String traversal(Path path) {
        return " by user " + System.getProperty("user.name") + describeOwner(path)
                + "; let the user that runs Lethe through it (its group, or o+x), or choose a data directory it can"
                + " reach";
    }

    /**
     * For the nearest existing directory above a data directory to be created, where the process's user may not
     * write: who it is, who owns it and its mode, and what to do.
     */
    public static String creation(Path path) {
        return " by user " + System.getProperty("user.name") + describeOwner(path)
                + "; create the data directory beforehand and give it to the user that runs Lethe, or choose one it"
                + " can create";
    }

    private static String describeOwner(Path path) {
        try {
            String owner = java.nio.file.Files.getOwner(path).getName();
            String mode = java.nio.file.attribute.PosixFilePermissions.toString(
                    java.nio.file.Files.getPosixFilePermissions(path));
            return ": it is owned by " + owner + ", mode " + mode;
        } catch (java.io.IOException | UnsupportedOperationException unknown) {
            return "";
        }
    }

    /**
     * A full file system makes SQLite fail an open with an I/O error that does not say so
     * ({@code SQLITE_IOERR_SHMSIZE}): the free space is said beside it when little is left.
     */
    private static String whenFull(Path file, SQLException e) {
        if (!(e instanceof SQLiteException sqlite)) {
            return "";
        }
        int base = sqlite.getResultCode().code & 0xFF;
        if (base != SQLiteErrorCode.SQLITE_IOERR.code && base != SQLiteErrorCode.SQLITE_FULL.code) {
            return "";
        }
        try {
            Path directory = file.toAbsolutePath().getParent();
            long free = java.nio.file.Files.getFileStore(directory).getUsableSpace();
            return free < 1024 * 1024 ? " (its file system has " + free + " bytes free: is it full?)" : "";
        } catch (java.io.IOException | RuntimeException unknown) {
            return "";
        }
    }

    /**
     * The JDBC URL of a database file. A file on a read-only medium (a backup on a read-only mount or
     * snapshot, a write-once store, a stopped store's snapshot) with no {@code -wal} or {@code -shm} file
     * beside it is opened as immutable: SQLite then needs no {@code -shm} file beside a database in WAL
     * mode, which it could not create there. No writer has the file open then (SQLite keeps both files
     * while any connection has a WAL database open); one that started meanwhile, through another path,
     * could change pages under such a read. A live store seen through a read-only mount (its writer
     * running: {@code -wal} and {@code -shm} beside it) is opened as it is, and SQLite reads its WAL
     * read-only. Elsewhere, the path as it is.
     */
    public static String url(Path file) {
        Path absolute = file.toAbsolutePath();
        return isQuietOnReadOnlyMedium(absolute)
                ? "jdbc:sqlite:" + absolute.toUri() + "?immutable=1"
                : "jdbc:sqlite:" + absolute;
    }

    private static boolean isQuietOnReadOnlyMedium(Path file) {
        Path directory = file.getParent();
        return directory != null
                && java.nio.file.Files.isRegularFile(file)
                && !java.nio.file.Files.exists(Path.of(file + "-wal"))
                && !java.nio.file.Files.exists(Path.of(file + "-shm"))
                && onReadOnlyFileSystem(directory);
    }

    /**
     * Whether the path (a directory, or a file's directory) lies on a read-only file system: the mount or
     * the file system itself read-only as {@code /proc/self/mountinfo} says (a read-only bind mount, a
     * squashfs image mounted {@code rw}), which the JDK's {@code FileStore} does not tell for bind mounts;
     * else, for a directory this process may not write, a file created there failing as on a read-only
     * file system. Not merely one this user may not write.
     */
    public static boolean onReadOnlyFileSystem(Path path) {
        Path real;
        try {
            real = (java.nio.file.Files.isDirectory(path)
                            ? path
                            : path.toAbsolutePath().getParent())
                    .toRealPath();
        } catch (java.io.IOException | RuntimeException e) {
            return false; // SQLite reports what is wrong with the path
        }
        if (mountedReadOnly(real)) {
            return true;
        }
        if (java.nio.file.Files.isWritable(real)) {
            return false;
        }
        try {
            java.nio.file.Files.delete(java.nio.file.Files.createTempFile(real, ".lethe-probe-", ".tmp"));
            return false;
        } catch (java.nio.file.AccessDeniedException denied) {
            return false;
        } catch (java.nio.file.FileSystemException e) {
            return e.getReason() != null && e.getReason().contains("Read-only file system");
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }

    /** What /proc/self/mountinfo says of the mount holding {@code real}: read-only, or not (or no /proc). */
    private static boolean mountedReadOnly(Path real) {
        String text;
        try {
            // Bytes, not lines of UTF-8: a mount point that is no UTF-8 must not hide the others.
            text = new String(
                    java.nio.file.Files.readAllBytes(Path.of("/proc/self/mountinfo")),
                    java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
        String best = null;
        boolean readOnly = false;
        for (String line : text.split("\n")) {
            // id parent major:minor root mount-point mount-options [optional fields] - type source super-options
            String[] fields = line.split(" ");
            int separator = java.util.Arrays.asList(fields).indexOf("-");
            if (fields.length < 6 || separator < 6 || separator + 3 >= fields.length) {
                continue;
            }
            String mountPoint = unescapeMountPath(fields[4]);
            boolean under = real.toString().equals(mountPoint)
                    || mountPoint.equals("/")
                    || real.toString().startsWith(mountPoint + "/");
            // The last of the longest: a later mount on the same point hides the earlier one.
            if (under && (best == null || mountPoint.length() >= best.length())) {
                best = mountPoint;
                readOnly = java.util.Arrays.asList(fields[5].split(",")).contains("ro")
                        || java.util.Arrays.asList(fields[separator + 3].split(","))
                                .contains("ro");
            }
        }
        return readOnly;
    }

    /** A mount point as mountinfo writes it: space, tab, newline and backslash as octal escapes. */
    private static String unescapeMountPath(String escaped) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < escaped.length(); i++) {
            char c = escaped.charAt(i);
            if (c == '\\'
                    && i + 3 < escaped.length()
                    && escaped.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                out.append((char) Integer.parseInt(escaped.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /**
     * Creates a database file that does not exist yet as {@code rw-------}, before SQLite creates it with
     * the process's umask (often world-readable): its WAL and shared-memory files take the same mode.
     * The log holds the non-personal facts, metadata and the audit trail; keys.db holds keys. An
     * existing file keeps the mode an operator gave it.
     */
    private static void createPrivately(Path file) {
        if (java.nio.file.Files.exists(file)
                || !java.nio.file.Files.isDirectory(file.toAbsolutePath().getParent())) {
            return; // a missing directory is SQLite's error to report, with its path
        }
        try {
            java.nio.file.Files.createFile(
                    file,
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        } catch (java.nio.file.FileAlreadyExistsException | UnsupportedOperationException raceOrNotPosix) {
            // Created meanwhile, or a file system without POSIX modes: SQLite opens or creates it.
        } catch (java.io.IOException e) {
            throw StorageException.permanent("cannot create " + file + ": " + e.getMessage(), e);
        }
    }

    /** A storage failure with the SQLite reason; disk full and busy are transient. */
    public static StorageException translate(String what, SQLException e) {
        String message = what + ": " + e.getMessage();
        if (e instanceof SQLiteException sqlite) {
            // Extended result codes (SQLITE_IOERR_FSYNC, SQLITE_BUSY_SNAPSHOT…) carry the base code in their low byte.
            int base = sqlite.getResultCode().code & 0xFF;
            boolean transientFailure = base == SQLiteErrorCode.SQLITE_FULL.code
                    || base == SQLiteErrorCode.SQLITE_BUSY.code
                    || base == SQLiteErrorCode.SQLITE_LOCKED.code
                    || base == SQLiteErrorCode.SQLITE_IOERR.code;
            return transientFailure
                    ? StorageException.transientFailure(message, e)
                    : StorageException.permanent(message, e);
        }
        return StorageException.transientFailure(message, e);
    }

    public static byte[] uuidBytes(UUID id) {
        return ByteBuffer.allocate(16)
                .putLong(id.getMostSignificantBits())
                .putLong(id.getLeastSignificantBits())
                .array();
    }

    public static UUID uuid(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        return new UUID(buffer.getLong(), buffer.getLong());
    }

    public static long micros(Instant instant) {
        return Math.addExact(Math.multiplyExact(instant.getEpochSecond(), 1_000_000L), instant.getNano() / 1_000);
    }

    /** Microseconds since the epoch, clamped to the range of a long instead of overflowing. */
    public static long microsSaturated(Instant instant) {
        try {
            return micros(instant);
        } catch (ArithmeticException e) {
            return instant.isBefore(Instant.EPOCH) ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }

    public static Instant instant(long micros) {
        return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L);
    }
}
