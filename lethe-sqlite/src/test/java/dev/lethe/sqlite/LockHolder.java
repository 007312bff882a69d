package dev.lethe.sqlite;

import dev.lethe.sqlite.internal.DirectoryLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Another process that opens a data directory's log, says what it is, holds it a while, and exits. */
final class LockHolder {
    static final int REFUSED = 3;

    private LockHolder() {}

    /** {@code args}: directory, description, brief (true/false), milliseconds to hold it. */
    public static void main(String[] args) throws Exception {
        DirectoryLock.describeHolder(args[1], Boolean.parseBoolean(args[2]));
        SqliteEventStore store;
        try {
            store = SqliteEventStore.open(Path.of(args[0]));
        } catch (RuntimeException refused) {
            System.exit(REFUSED);
            return;
        }
        Thread.sleep(Long.parseLong(args[3]));
        store.close();
        System.exit(0);
    }

    static Process start(Path directory, String description, boolean brief, long holdMillis) throws Exception {
        return new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        LockHolder.class.getName(),
                        directory.toString(),
                        description,
                        Boolean.toString(brief),
                        Long.toString(holdMillis))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
    }

    /** Waits (up to 20 s) until the lock file names {@code description}. */
    static void awaitHolding(Path directory, String description) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        Path file = directory.resolve("lethe.lock");
        while (System.nanoTime() < deadline) {
            List<String> lines = Files.exists(file) ? Files.readAllLines(file) : List.of();
            if (lines.size() >= 2 && lines.get(1).equals(description)) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no process came to hold " + file + " as " + description);
    }
}
