package dev.lethe.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.store.Mounts;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backup is checked and read where it is kept, on a read-only mount or snapshot: {@code keys check},
 * {@code stats}, {@code read}, {@code subject receipts} work there and create nothing. Backups are taken
 * in SQLite's rollback-journal mode, so that a reader needs no {@code -shm} file beside them; one taken
 * before that (its {@code keys.db} in WAL mode) is opened as immutable.
 *
 * <p>Mounting needs root and {@code mount}: without them the class is skipped with a warning, or fails
 * when {@code LETHE_REQUIRE_ALL=1}.
 */
class ReadOnlyBackupIT {
    @TempDir
    Path root;

    private record Run(int exitCode, String out, String err) {}

    private Run lethe(Path data, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all =
                new ArrayList<>(List.of("--data", data.toString(), "--init", "--master-key-dir", keys().toString()));
        all.addAll(List.of(args));
        int code = LetheCli.run(all.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    private Path keys() {
        return root.resolve("keys");
    }

    @Test
    void a_backup_is_checked_and_read_on_a_read_only_mount_and_nothing_is_created_there() throws Exception {
        Path data = root.resolve("data");
        Run demo = lethe(data, "demo");
        assertThat(demo.exitCode()).as(demo.err()).isZero();
        Path backup = root.resolve("backup");
        Run taken = lethe(data, "backup", backup.toString());
        assertThat(taken.exitCode()).as(taken.err()).isZero();
        for (String file : List.of("events.db", "keys.db", "projections.db")) {
            assertThat(journalModeByte(backup.resolve(file)))
                    .as("%s is in rollback-journal mode (1), not WAL (2)", file)
                    .isEqualTo(1);
        }
        // A backup taken before that: its keys.db in WAL mode.
        Path older = root.resolve("older-backup");
        Files.createDirectories(older);
        try (Stream<Path> files = Files.list(backup)) {
            for (Path file : files.toList()) {
                Files.copy(file, older.resolve(file.getFileName()));
            }
        }
        try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + older.resolve("keys.db"));
                Statement statement = connection.createStatement()) {
            statement.execute("PRAGMA journal_mode = WAL");
        }
        assertThat(journalModeByte(older.resolve("keys.db"))).isEqualTo(2);

        for (Path copy : List.of(backup, older)) {
            Path mounted = root.resolve("mnt-" + copy.getFileName());
            Files.createDirectories(mounted);
            Mounts.bindReadOnly(copy, mounted, "ReadOnlyBackupIT");
            try {
                List<String> before = names(mounted);
                Run check = lethe(mounted, "keys", "check");
                assertThat(check.exitCode()).as(check.err()).isZero();
                assertThat(check.out()).contains("result           ok");
                Run stats = lethe(mounted, "stats");
                assertThat(stats.exitCode()).as(stats.err()).isZero();
                assertThat(stats.out()).contains("forgotten        1 subjects");
                assertThat(stats.err()).contains("on a read-only file system");
                Run read = lethe(mounted, "read", "--all", "--category", "customer", "--role", "advisor");
                assertThat(read.exitCode()).as(read.err()).isZero();
                assertThat(read.out()).contains("CustomerRegistered").doesNotContain("Ada Lovelace");
                Run receipts = lethe(mounted, "subject", "receipts", "--role", "dpo");
                assertThat(receipts.exitCode()).as(receipts.err()).isZero();
                assertThat(receipts.err()).contains("1 receipt");
                Run tail = lethe(mounted, "tail", "--from", "0", "--count", "1");
                assertThat(tail.exitCode()).as(tail.err()).isZero();
                assertThat(tail.err()).contains("will not see events of a writer that starts later");
                assertThat(names(mounted)).as("nothing created on the mount").isEqualTo(before);
            } finally {
                Mounts.unmount(mounted);
            }
        }

        // A live store seen through a read-only mount (a monitoring sidecar): read as it is now, WAL
        // included, never as immutable (its writer changes it meanwhile: stale or torn pages).
        Path live = root.resolve("mnt-live");
        Files.createDirectories(live);
        Mounts.bindReadOnly(data, live, "ReadOnlyBackupIT");
        try {
            // The writer closes before the unmount: SQLite keeps a closed reader's descriptors open while
            // another connection of the process holds the same file (a POSIX lock rule), and the mount is busy.
            try (dev.lethe.sqlite.SqliteLethe writer = dev.lethe.sqlite.SqliteLethe.open(
                    data, dev.lethe.sqlite.SqliteOptions.DEFAULT.withMasterKeyDirectory(keys()))) {
                for (int round = 0; round < 2; round++) {
                    writer.store()
                            .append(
                                    dev.lethe.core.store.StreamId.of("tick-1"),
                                    dev.lethe.core.store.ExpectedVersion.any(),
                                    List.of(dev.lethe.core.store.EventData.of("Tick", "{}")));
                    long head = writer.store().headPosition();
                    Run stats = lethe(live, "stats", "--json");
                    assertThat(stats.exitCode()).as(stats.err()).isZero();
                    assertThat(stats.out()).contains("\"headPosition\":" + head + ",");
                }
            }
        } finally {
            String unmounted = Mounts.unmount(live);
            assertThat(unmounted).as("umount " + live).isNull();
        }
    }

    private static int journalModeByte(Path database) throws Exception {
        byte[] header = new byte[20];
        try (var in = Files.newInputStream(database)) {
            assertThat(in.readNBytes(header, 0, 20)).isEqualTo(20);
        }
        return header[18];
    }

    private static List<String> names(Path directory) throws Exception {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(file -> file.getFileName().toString()).sorted().toList();
        }
    }
}
