package dev.lethe.core.privacy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lethe.core.privacy.keys.ErasureReceipt;
import dev.lethe.core.store.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.function.Consumer;

/**
 * A file outside the data directory that holds every erasure receipt, one JSON object per line, as
 * {@link ErasureReceipt#asMap} gives it: the record of forgets that a data directory restored from a
 * backup does not have. Each receipt is appended and synced once its forget is committed; a store that
 * opens reads the lines written since it last looked and forgets again the subjects that still have a
 * key (see {@link PrivateEventStore#reapplyForgetsFromJournal}). Forgets scheduled for a later date are
 * written too, before they are stored ({@link PrivateEventStore.ScheduledForget#asMap}), and scheduled
 * again by such an open.
 *
 * <p>Each line also names where it was written ({@link Origin}): the store's id and its data directory,
 * so that a reader can leave out the forgets of other stores sharing the file.
 *
 * <p>It holds no personal data: pseudonyms, principals' names, legal bases, reasons, paths. The file is
 * created mode 0600 and never followed through a symbolic link. A line cut short by a crash (no newline at
 * its end) is not read, and the next append removes it.
 */
public final class ReceiptJournal {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final com.fasterxml.jackson.databind.ObjectReader LINE_READER = JSON.readerFor(JsonNode.class)
            .with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    /** A receipt's line is well under a kilobyte; a longer one is not a receipt. */
    static final int MAX_LINE_BYTES = 1 << 20;

    private static final java.util.concurrent.ConcurrentMap<Path, Object> LOCKS =
            new java.util.concurrent.ConcurrentHashMap<>();

    private final Path file;
    /** Written into each line; null until {@link #writtenFrom} (a read-only open never appends). */
    private Origin origin;
    /** Where the lines this process has read or written end, while no other writer came between; or -1. */
    private long knownEnd = -1;

    private ReceiptJournal(Path file) {
        this.file = file;
    }

    /** The journal at {@code file}; nothing is created until the first {@link #append}. */
    public static ReceiptJournal at(Path file) {
        if (file == null || !file.isAbsolute()) {
            throw new IllegalArgumentException("a receipt journal is an absolute path, was " + file);
        }
        return new ReceiptJournal(file.normalize());
    }

    public Path file() {
        return file;
    }

    /** Where a line was written: the store's id and its data directory (a real path). */
    public record Origin(String store, String directory) {}

    /**
     * A line read from the journal: an erasure receipt ({@code forget}), a forget scheduled for later
     * ({@code schedule}, a line with {@code "kind": "schedule"}) or its cancellation ({@code cancel}, {@code
     * "kind": "cancel"}), the others null; with where it was written (empty for a line that does not say).
     */
    public record Line(
            PrivateEventStore.PriorForget forget,
            PrivateEventStore.ScheduledForget schedule,
            PrivateEventStore.CancelledForget cancel,
            java.util.Optional<Origin> origin) {
        public Line {
            int kinds = (forget == null ? 0 : 1) + (schedule == null ? 0 : 1) + (cancel == null ? 0 : 1);
            if (kinds != 1) {
                throw new IllegalArgumentException("a journal line is a receipt, a scheduled forget or a cancellation");
            }
        }
    }

    /** Sets what the following appends write as their origin. */
    public synchronized void writtenFrom(Origin origin) {
        this.origin = origin;
    }

    /** Appends the receipt as one line and syncs it to disk before returning. */
    public void append(ErasureReceipt receipt) {
        append(java.util.List.of(receipt));
    }

    /** Creates the journal, empty, if it does not exist: once a store has read it, it must be there. */
    public synchronized void ensureExists() {
        write(new byte[0]);
    }

    /**
     * Appends the receipts, one line each, and syncs them to disk once before returning. The file is
     * opened for each append, so that a journal moved aside or replaced is followed by its path.
     */
    public synchronized void append(java.util.List<ErasureReceipt> receipts) {
        appendLines(receipts.stream().map(ErasureReceipt::asMap).toList());
    }

    /**
     * Appends forgets scheduled for later, one line each ({@code "kind": "schedule"}), and syncs them to
     * disk once before returning: a restored data directory schedules them again.
     */
    public synchronized void appendSchedules(java.util.List<PrivateEventStore.ScheduledForget> schedules) {
        appendLines(
                schedules.stream().map(PrivateEventStore.ScheduledForget::asMap).toList());
    }

    /** Appends cancellations of scheduled forgets ({@code "kind": "cancel"}), synced before returning. */
    public synchronized void appendCancels(java.util.List<PrivateEventStore.CancelledForget> cancels) {
        appendLines(
                cancels.stream().map(PrivateEventStore.CancelledForget::asMap).toList());
    }

    private void appendLines(java.util.List<java.util.Map<String, Object>> entries) {
        if (entries.isEmpty()) {
            return;
        }
        StringBuilder lines = new StringBuilder();
        for (java.util.Map<String, Object> entry : entries) {
            java.util.Map<String, Object> line = new java.util.LinkedHashMap<>(entry);
            if (origin != null) {
                line.put("store", origin.store());
                line.put("origin", origin.directory());
            }
            lines.append(JSON.valueToTree(line).toString()).append('\n');
        }
        write(lines.toString().getBytes(StandardCharsets.UTF_8));
    }

    private void write(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        Path parent = file.getParent();
        try {
            if (parent == null || !Files.isDirectory(parent)) {
                throw new IOException("its directory " + parent + " does not exist");
            }
            boolean created = !Files.exists(file);
            // One appender at a time, in this process and across processes (stores may share a journal):
            // a line without its newline is then one a crash cut short, never one being written.
            synchronized (LOCKS.computeIfAbsent(file, f -> new Object())) {
                try (FileChannel out = open(created);
                        java.nio.channels.FileLock lock = out.lock()) {
                    long size = out.size();
                    // Ours the last line written, and whole: no need to look for a line cut short.
                    long whole = knownEnd == size ? size : wholeLinesEnd(size);
                    if (whole < size) {
                        // Cut short by a crash before its sync: its append never returned, so its receipt is
                        // still pending in keys.db and is written again. Removed, not left as a bad line.
                        out.truncate(whole);
                    }
                    int length = buffer.remaining();
                    while (buffer.hasRemaining()) {
                        out.write(buffer);
                    }
                    out.force(created || whole < size);
                    knownEnd = knownEnd == whole ? whole + length : -1;
                }
            }
            if (created) {
                syncDirectory(parent); // the new file's name must survive a crash too
            }
        } catch (IOException e) {
            throw StorageException.transientFailure("cannot write the receipt journal " + file + ": " + why(e), e);
        }
    }

    /** An I/O failure in words: some exceptions' messages are only the path. */
    private static String why(IOException e) {
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null) {
            return fs.getReason();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private FileChannel open(boolean created) throws IOException {
        java.util.Set<java.nio.file.OpenOption> options = java.util.Set.of(
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE,
                StandardOpenOption.APPEND,
                java.nio.file.LinkOption.NOFOLLOW_LINKS);
        if (!created && !Files.isRegularFile(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("it is not a regular file (a link, a device, a directory?)");
        }
        if (created && file.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            return FileChannel.open(
                    file, options, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        }
        return FileChannel.open(file, options);
    }

    /** The offset after the file's last newline (0 when it has none): where its whole lines end. */
    private long wholeLinesEnd(long size) throws IOException {
        if (size == 0) {
            return 0;
        }
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer chunk = ByteBuffer.allocate(4096);
            long end = size;
            while (end > 0) {
                long start = Math.max(0, end - chunk.capacity());
                chunk.clear().limit((int) (end - start));
                while (chunk.hasRemaining()) {
                    if (in.read(chunk, start + chunk.position()) < 0) {
                        break;
                    }
                }
                for (int i = (int) (end - start) - 1; i >= 0; i--) {
                    if (chunk.get(i) == '\n') {
                        return start + i + 1;
                    }
                }
                end = start;
            }
            return 0;
        }
    }

    private static void syncDirectory(Path directory) {
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException | UnsupportedOperationException notOnThisSystem) {
            // Some systems cannot open a directory for syncing; the file's own sync still ran.
        }
    }

    /**
     * Notes that every line before {@code offset} has been read by this process: later appends of its own
     * extend what it knows, as long as no other process appends in between ({@link #knownEnd}).
     */
    public synchronized void knownUpTo(long offset) {
        knownEnd = offset;
    }

    /**
     * Forgets where this process's known lines end: a line it wrote was not applied to its store, and the
     * next open must read it (see {@link #knownEnd}).
     */
    public synchronized void forgetKnownEnd() {
        knownEnd = -1;
    }

    /**
     * The offset up to which every line was read or written by this process, with no other writer's line
     * in between; empty when another process appended since (or nothing was read).
     */
    public synchronized java.util.OptionalLong knownEnd() {
        return knownEnd < 0 ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(knownEnd);
    }

    /**
     * Where {@link #read} ended: the byte offset after the last whole line, the file's size, and the
     * receipt id of its first line ({@code "-"} when it has none), which tells this file from another
     * one at the same path.
     */
    public record End(long offset, long size, String first) {}

    /**
     * What tells this file from another at the same path: a hash of its first whole line (SHA-256,
     * the first 16 hex digits), {@code "-"} when it has none (or no file).
     */
    public String first() {
        String[] first = {"-"};
        try {
            readLines(0, Long.MAX_VALUE, 1, (line, text) -> first[0] = fingerprint(text));
        } catch (NoSuchFileException e) {
            return "-";
        } catch (IOException e) {
            throw StorageException.permanent("cannot read the receipt journal " + file + ": " + why(e), e);
        }
        return first[0];
    }

    private static String fingerprint(String line) {
        try {
            byte[] hash =
                    java.security.MessageDigest.getInstance("SHA-256").digest(line.getBytes(StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(hash, 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /**
     * Passes every receipt from byte offset {@code from} to the last whole line (as the file's size was
     * when the read began); returns where the lines ended. It reads from the start instead when {@code
     * from} is not where a line starts in this file (beyond its end, or inside a line: the file was
     * replaced). A missing file holds none. A line that is not a receipt is refused by its offset: the
     * journal is Lethe's alone. A read that meets a bad line while the file changed under it (an append
     * removing a line a crash cut short) is read once more.
     */
    public End read(long from, Consumer<Line> each) {
        try {
            return readOnce(from, each);
        } catch (StorageException e) {
            if (!(e.getCause() instanceof ChangedWhileRead)) {
                throw e;
            }
            return readOnce(from, each);
        }
    }

    /** Marks a bad line read while the file's size changed: worth reading once more. */
    private static final class ChangedWhileRead extends IOException {
        ChangedWhileRead() {
            super("the file changed while it was read");
        }
    }

    private End readOnce(long from, Consumer<Line> each) {
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            return new End(0, 0, "-");
        } catch (IOException e) {
            throw StorageException.permanent("cannot read the receipt journal " + file + ": " + why(e), e);
        }
        long start = from <= size && startsLine(Math.max(0, from)) ? Math.max(0, from) : 0;
        try {
            String first = start == 0 ? null : first();
            String[] firstRead = {first};
            long offset = readLines(start, size, Long.MAX_VALUE, (line, text) -> {
                if (firstRead[0] == null) {
                    firstRead[0] = fingerprint(text);
                }
                each.accept(line);
            });
            return new End(offset, size, firstRead[0] == null ? "-" : firstRead[0]);
        } catch (NoSuchFileException e) {
            return new End(0, 0, "-");
        } catch (IOException e) {
            throw StorageException.permanent("cannot read the receipt journal " + file + ": " + why(e), e);
        }
    }

    /**
     * Reads at most {@code maxLines} whole lines from {@code start}, up to byte {@code size}; returns the
     * offset after the last whole line read.
     */
    private long readLines(long start, long size, long maxLines, java.util.function.BiConsumer<Line, String> each)
            throws IOException {
        long offset = start;
        long lines = 0;
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                InputStream bytes = Channels.newInputStream(in.position(start))) {
            java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream(512);
            byte[] chunk = new byte[64 * 1024];
            long read = start; // bytes consumed so far
            int n;
            while (read < size
                    && lines < maxLines
                    && (n = bytes.read(chunk, 0, (int) Math.min(chunk.length, size - read))) > 0) {
                int from = 0;
                for (int k = 0; k < n && lines < maxLines; k++) {
                    if (chunk[k] != '\n') {
                        continue;
                    }
                    append(line, chunk, from, k - from, offset);
                    from = k + 1;
                    String text = line.toString(StandardCharsets.UTF_8).strip();
                    line.reset();
                    if (!text.isEmpty()) {
                        Line parsed;
                        try {
                            parsed = parse(text, offset);
                        } catch (StorageException e) {
                            if (Files.size(file) != size) {
                                throw StorageException.permanent(e.getMessage(), new ChangedWhileRead());
                            }
                            throw e;
                        }
                        each.accept(parsed, text);
                        lines++;
                    }
                    offset = read + k + 1;
                }
                if (lines < maxLines) {
                    append(line, chunk, from, n - from, offset); // the start of a line the next chunk ends
                }
                read += n;
            }
        }
        return offset;
    }

    /** Adds bytes to the line being read, refusing a line longer than any receipt's. */
    private void append(java.io.ByteArrayOutputStream line, byte[] chunk, int from, int length, long offset) {
        if (line.size() + length > MAX_LINE_BYTES) {
            throw StorageException.permanent(
                    "receipt journal " + file + ", the line at byte " + offset + ": longer than " + MAX_LINE_BYTES
                            + " bytes, so not an erasure receipt; " + ONLY_LETHE,
                    null);
        }
        line.write(chunk, from, length);
    }

    /** Whether a line starts at {@code offset}: the file's start, or just after a newline. */
    private boolean startsLine(long offset) {
        if (offset == 0) {
            return true;
        }
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer before = ByteBuffer.allocate(1);
            return in.read(before, offset - 1) == 1 && before.get(0) == '\n';
        } catch (IOException e) {
            throw StorageException.permanent("cannot read the receipt journal " + file + ": " + e.getMessage(), e);
        }
    }

    private Line parse(String text, long offset) {
        String where = "receipt journal " + file + ", the line at byte " + offset;
        JsonNode line;
        try {
            line = LINE_READER.readValue(text);
        } catch (IOException e) {
            // Not Jackson's message: it would quote the line, whatever a stranger wrote there.
            throw StorageException.permanent(where + ": not JSON, so not an erasure receipt; " + ONLY_LETHE, e);
        }
        try {
            if (!line.isObject()) {
                throw new IllegalArgumentException("not a JSON object");
            }
            if (line.has("kind")) {
                String kind = line.path("kind").asText();
                if (PrivateEventStore.ScheduledForget.KIND.equals(kind)) {
                    return new Line(null, PrivateEventStore.ScheduledForget.of(line), null, origin(line));
                }
                if (PrivateEventStore.CancelledForget.KIND.equals(kind) && !line.has("scheduleId")) {
                    return new Line(null, null, PrivateEventStore.CancelledForget.of(line), origin(line));
                }
                throw new IllegalArgumentException("an unknown kind of line");
            }
            return new Line(
                    new PrivateEventStore.PriorForget(
                            SubjectId.parse(line.path("subject").asText(null)),
                            line.path("id").asText(null),
                            line.path("legalBasis").asText("")),
                    null,
                    null,
                    origin(line));
        } catch (RuntimeException e) {
            throw StorageException.permanent(
                    where + ": not an erasure receipt, scheduled forget or cancellation (" + e.getMessage() + "); "
                            + ONLY_LETHE,
                    e);
        }
    }

    /** A line's origin: none when it names no store; refused when its fields are not of their types. */
    private static java.util.Optional<Origin> origin(JsonNode line) {
        if (!line.has("store")) {
            return java.util.Optional.empty();
        }
        JsonNode store = line.path("store");
        JsonNode directory = line.path("origin");
        if (!store.isTextual() || !directory.isTextual()) {
            throw new IllegalArgumentException("store and origin are text");
        }
        return java.util.Optional.of(new Origin(store.asText(), directory.asText()));
    }

    private static final String ONLY_LETHE = "only Lethe writes this file: restore it from a copy, or remove the"
            + " line if you know it names no forget";
}
