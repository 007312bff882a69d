package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.StorageException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataDirectoryTest {
    @TempDir
    Path parent;

    @Test
    void a_directory_lethe_creates_is_its_owners_only_and_a_file_is_named_as_not_a_directory() throws Exception {
        Path data = parent.resolve("nested").resolve("lethe-data");
        SqliteLethe.open(data).close();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data)))
                .isEqualTo("rwx------");

        Path file = Files.writeString(parent.resolve("not-a-directory"), "x");
        assertThatThrownBy(() -> SqliteLethe.open(file))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("is a file, not a directory");
        assertThat(Files.readString(file)).isEqualTo("x");
    }

    @Test
    void its_database_files_are_its_owners_only_also_in_a_directory_others_may_read() throws Exception {
        Path data = Files.createDirectory(
                parent.resolve("shared"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().keys().resolve("ada@example.com");
            lethe.store()
                    .append(
                            dev.lethe.core.store.StreamId.of("order-1"),
                            dev.lethe.core.store.ExpectedVersion.any(),
                            java.util.List.of(dev.lethe.core.store.EventData.of("OrderPlaced", "{}")));
            for (String name : java.util.List.of(
                    "events.db", "events.db-wal", "events.db-shm", "keys.db", "keys.db-wal", "projections.db")) {
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve(name))))
                        .as(name)
                        .isEqualTo("rw-------");
            }
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("policy.yaml"))))
                    .as("policy.yaml: only its owner may give a role more to read")
                    .isEqualTo("rw-r--r--");
            assertThat(lethe.policyText()).isEqualTo(Files.readString(data.resolve("policy.yaml")));
        }
    }

    @Test
    void a_missing_directory_argument_is_bad_input_named_not_a_null_pointer() {
        for (Runnable open : java.util.List.<Runnable>of(
                () -> SqliteLethe.open(null),
                () -> SqliteLethe.openReadOnly(null),
                () -> SqliteEventStore.open(null),
                () -> SqliteEventStore.openReadOnly(null))) {
            assertThatThrownBy(open::run)
                    .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                    .hasMessageContaining("data directory");
        }
    }

    @Test
    void a_store_of_a_newer_format_is_refused_by_a_read_only_open_too_not_read_as_if_it_were_this_ones()
            throws Exception {
        Path data = parent.resolve("newer");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.store()
                    .append(
                            dev.lethe.core.store.StreamId.of("order-1"),
                            dev.lethe.core.store.ExpectedVersion.any(),
                            java.util.List.of(dev.lethe.core.store.EventData.of("Placed", "{}")));
        }
        try (var connection = java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve("events.db"));
                var statement = connection.createStatement()) {
            statement.executeUpdate("UPDATE lethe_meta SET value = '2' WHERE key = 'schema_version'");
        }
        for (java.util.function.Supplier<AutoCloseable> open :
                java.util.List.<java.util.function.Supplier<AutoCloseable>>of(
                        () -> SqliteEventStore.openReadOnly(data),
                        () -> SqliteLethe.openReadOnly(data),
                        () -> SqliteLethe.open(data))) {
            assertThatThrownBy(() -> open.get().close())
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("events.db has format 2, this Lethe reads up to 1; upgrade Lethe to open it");
        }
    }

    @Test
    void a_rotation_replaces_the_keyset_a_link_leads_to_not_the_link() throws Exception {
        Path data = parent.resolve("linked");
        dev.lethe.core.privacy.Principal dpo = new dev.lethe.core.privacy.Principal("dora", "dpo");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().keys().resolve("ada@example.com");
        }
        // The keyset moved to a vault, a link left in its place: what operators do to keep it apart.
        Path vault = Files.createDirectory(parent.resolve("vault"));
        Path kept = vault.resolve("keyset.json");
        Files.move(data.resolve("master.keyset.json"), kept);
        Files.createSymbolicLink(data.resolve("master.keyset.json"), kept);
        String before = Files.readString(kept);
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().rotateMasterKey(dpo);
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).isPresent();
        }
        // The old epoch is gone from where the link leads (it stayed there, readable, when the link was
        // replaced by a file in the data directory), and the link is still a link.
        assertThat(data.resolve("master.keyset.json")).isSymbolicLink();
        assertThat(Files.readString(kept)).isNotEqualTo(before);
        String oldKey = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(before)
                .get("key")
                .get(0)
                .get("keyData")
                .get("value")
                .asText();
        assertThat(Files.readString(kept)).doesNotContain(oldKey);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(kept)))
                .isEqualTo("rw-------");
        try (var left = Files.list(vault)) {
            assertThat(left.toList()).containsExactly(kept); // no copy left beside it
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).isPresent();
        }
        // A copy keeps the link (cp -a, rsync, a volume clone): it leads to the original's key, so the copy
        // may not rotate it (the original would lose its data), as for a shared --master-key-dir.
        Path copy = copyTree(data, parent.resolve("linked-copy"));
        Files.delete(copy.resolve("master.keyset.json"));
        Files.createSymbolicLink(copy.resolve("master.keyset.json"), kept);
        String shared = Files.readString(kept);
        try (SqliteLethe lethe = SqliteLethe.open(copy)) {
            assertThatThrownBy(() -> lethe.privacy().rotateMasterKey(dpo))
                    .hasMessageContaining("is a copy of " + data.toRealPath());
        }
        assertThat(Files.readString(kept)).isEqualTo(shared);
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).isPresent();
        }
    }

    @Test
    void a_missing_master_keyset_is_not_silently_replaced_while_keys_db_holds_keys() throws Exception {
        Path data = parent.resolve("keys");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().keys().resolve("ada@example.com");
        }
        Files.delete(data.resolve("master.keyset.json"));
        assertThatThrownBy(() -> SqliteLethe.open(data))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("master.keyset.json is missing, but keys.db holds keys");
        assertThat(data.resolve("master.keyset.json")).doesNotExist();
    }

    @Test
    void a_key_directory_shared_by_two_stores_keeps_a_keyset_per_store_and_a_missing_flag_is_refused()
            throws Exception {
        Path keys = parent.resolve("shared-keys");
        SqliteOptions elsewhere = SqliteOptions.DEFAULT.withMasterKeyDirectory(keys);
        Path a = parent.resolve("a");
        Path b = parent.resolve("b");
        dev.lethe.core.privacy.SubjectId inB;
        try (SqliteLethe lethe = SqliteLethe.open(a, elsewhere)) {
            lethe.privacy().keys().resolve("ada@example.com");
        }
        try (SqliteLethe lethe = SqliteLethe.open(b, elsewhere)) {
            inB = lethe.privacy().keys().resolve("bob@example.com");
        }
        try (var files = Files.list(keys)) {
            assertThat(files.map(f -> f.getFileName().toString()))
                    .hasSize(2)
                    .allMatch(name -> name.matches("master-[0-9a-f-]{36}\\.keyset\\.json"));
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keys)))
                .isEqualTo("rwx------");
        assertThat(a.resolve("master.keyset.json")).doesNotExist();

        try (SqliteLethe lethe = SqliteLethe.open(a, elsewhere)) {
            lethe.privacy().rotateMasterKey(new dev.lethe.core.privacy.Principal("dora", "dpo"));
        }
        try (SqliteLethe lethe = SqliteLethe.open(b, elsewhere)) {
            assertThat(lethe.privacy().keys().lookup("bob@example.com"))
                    .as("B after A rotated")
                    .contains(inB);
        }

        assertThatThrownBy(() -> SqliteLethe.open(b))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining(
                        "give --master-key-dir " + keys.toAbsolutePath().normalize());
        assertThat(b.resolve("master.keyset.json")).doesNotExist();
        Path other = parent.resolve("other-keys");
        assertThatThrownBy(() -> SqliteLethe.open(b, SqliteOptions.DEFAULT.withMasterKeyDirectory(other)))
                .hasMessageContaining(
                        "this store's master keyset is " + keys.toAbsolutePath().normalize());
        assertThat(other).doesNotExist();

        // Copied, not moved: the file is at the new place, so the refusal does not ask to move it there.
        Files.createDirectories(other);
        try (var files = Files.list(keys)) {
            for (Path file : files.toList()) {
                Files.copy(file, other.resolve(file.getFileName()));
            }
        }
        assertThatThrownBy(() -> SqliteLethe.open(b, SqliteOptions.DEFAULT.withMasterKeyDirectory(other)))
                .hasMessageContaining("exists too: a keyset is taken at a new place only once it is gone")
                .hasMessageContaining(
                        "--master-key-dir " + keys.toAbsolutePath().normalize())
                .hasMessageNotContaining("move that file");

        // Moved deliberately: found at the new place and gone from the old one, it is accepted.
        try (var files = Files.list(keys)) {
            for (Path file : files.toList()) {
                Files.move(file, other.resolve(file.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        try (SqliteLethe lethe = SqliteLethe.open(b, SqliteOptions.DEFAULT.withMasterKeyDirectory(other))) {
            assertThat(lethe.privacy().keys().lookup("bob@example.com")).contains(inB);
        }
        Path aFile = Files.writeString(parent.resolve("not-a-key-directory"), "x");
        assertThatThrownBy(() ->
                        SqliteLethe.open(parent.resolve("c"), SqliteOptions.DEFAULT.withMasterKeyDirectory(aFile)))
                .hasMessageContaining("is a file, not a directory");
    }

    @Test
    void a_copy_that_shares_its_originals_master_key_may_not_rotate_while_the_original_exists() throws Exception {
        SqliteOptions elsewhere = SqliteOptions.DEFAULT.withMasterKeyDirectory(parent.resolve("keys"));
        Path original = parent.resolve("original");
        try (SqliteLethe lethe = SqliteLethe.open(original, elsewhere)) {
            lethe.privacy().keys().resolve("ada@example.com");
        }
        Path copy = copyTree(original, parent.resolve("copy"));
        dev.lethe.core.privacy.Principal dpo = new dev.lethe.core.privacy.Principal("dora", "dpo");

        try (SqliteLethe lethe = SqliteLethe.open(copy, elsewhere)) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).isPresent();
            assertThat(lethe.privacy().masterKeyChangeRefusal())
                    .hasValueSatisfying(why -> assertThat(why).contains("is a copy of"));
            assertThatThrownBy(() -> lethe.privacy().rotateMasterKey(dpo))
                    .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                    .hasMessageContaining("is a copy of " + original.toRealPath())
                    .hasMessageContaining("Change it there");
        }
        SqliteOptions.Pkcs11 anyToken =
                new SqliteOptions.Pkcs11(parent.resolve("no-such-module.so"), 0, "0000".toCharArray());
        assertThatThrownBy(() -> SqliteLethe.moveMasterKeyToToken(copy, elsewhere, anyToken, dpo))
                .as("a move would delete the keyset the original needs")
                .hasMessageContaining("is a copy of " + original.toRealPath());
        try (var files = Files.list(parent.resolve("keys"))) {
            assertThat(files.toList()).as("the shared keyset is still there").hasSize(1);
        }
        try (SqliteLethe lethe = SqliteLethe.open(original, elsewhere)) {
            lethe.privacy().rotateMasterKey(dpo);
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).isPresent();
        }
        // Moved: the old directory is gone, so the note follows and rotation is allowed again.
        Path moved = parent.resolve("moved");
        java.nio.file.Files.move(original, moved);
        try (SqliteLethe lethe = SqliteLethe.open(moved, elsewhere)) {
            lethe.privacy().rotateMasterKey(dpo);
        }
    }

    @Test
    void a_copy_with_its_own_keyset_file_rotates_freely() throws Exception {
        Path original = parent.resolve("original");
        try (SqliteLethe lethe = SqliteLethe.open(original)) {
            lethe.privacy().keys().resolve("ada@example.com");
        }
        Path copy = copyTree(original, parent.resolve("copy"));
        dev.lethe.core.privacy.Principal dpo = new dev.lethe.core.privacy.Principal("dora", "dpo");
        try (SqliteLethe lethe = SqliteLethe.open(copy)) {
            lethe.privacy().rotateMasterKey(dpo);
        }
        try (SqliteLethe lethe = SqliteLethe.open(original)) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com"))
                    .as("the original keeps its own keyset")
                    .isPresent();
        }
    }

    @Test
    void a_writer_whose_lock_file_was_deleted_appends_nothing_more_and_the_next_writer_loses_nothing()
            throws Exception {
        Path data = parent.resolve("locked");
        java.util.List<dev.lethe.core.store.EventData> one =
                java.util.List.of(dev.lethe.core.store.EventData.of("Ticked", "{}"));
        try (SqliteEventStore first = SqliteEventStore.open(data)) {
            first.append(dev.lethe.core.store.StreamId.of("a-1"), dev.lethe.core.store.ExpectedVersion.any(), one);
            // It stays after every process, holding a pid: an operator may take it for a stale pid file.
            Files.delete(data.resolve("lethe.lock"));
            assertThatThrownBy(() -> first.append(
                            dev.lethe.core.store.StreamId.of("a-1"), dev.lethe.core.store.ExpectedVersion.any(), one))
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("lethe.lock was deleted while this process")
                    .hasMessageContaining("Never delete lethe.lock");
            assertThat(first.writeRefusal()).get().asString().contains("was deleted");
            try (SqliteEventStore second = SqliteEventStore.open(data)) {
                second.append(dev.lethe.core.store.StreamId.of("b-1"), dev.lethe.core.store.ExpectedVersion.any(), one);
                assertThatThrownBy(() -> first.append(
                                dev.lethe.core.store.StreamId.of("a-1"),
                                dev.lethe.core.store.ExpectedVersion.any(),
                                one))
                        .isInstanceOf(StorageException.class);
                second.append(
                        dev.lethe.core.store.StreamId.of("a-1"), dev.lethe.core.store.ExpectedVersion.exactly(0), one);
                assertThat(second.readAll(0, 10))
                        .extracting(e -> e.streamId().value() + "@" + e.position())
                        .containsExactly("a-1@0", "b-1@1", "a-1@2");
                assertThat(second.writeRefusal()).isEmpty();
            }
        }
    }

    @Test
    void a_writer_whose_lock_file_was_deleted_forgets_nothing() throws Exception {
        Path data = parent.resolve("fenced");
        dev.lethe.core.privacy.Principal dora = new dev.lethe.core.privacy.Principal("dora", "dpo");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            dev.lethe.core.privacy.SubjectId ada =
                    lethe.privacy().subjectFor("ada@example.com", dora).subject();
            Files.delete(data.resolve("lethe.lock"));
            assertThatThrownBy(() -> lethe.privacy().forget(ada, "GDPR Art. 17(1)(a)", null, dora))
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("lethe.lock was deleted")
                    .hasMessageContaining("nothing was changed");
            assertThat(lethe.privacy().keys().isForgotten(ada)).isFalse();
        }
    }

    /** A copy of a closed data directory, as an operator's {@code cp -r} makes it (without the lock file). */
    static Path copyTree(Path from, Path to) throws Exception {
        try (var paths = Files.walk(from)) {
            for (Path path : paths.toList()) {
                Path target = to.resolve(from.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                } else if (!path.getFileName().toString().equals("lethe.lock")) {
                    Files.copy(path, target);
                }
            }
        }
        return to;
    }

    @Test
    void a_keyset_copy_a_stopped_rotation_left_is_deleted_when_the_writer_opens() throws Exception {
        Path data = parent.resolve("rotation");
        SqliteLethe.open(data).close();
        Path stale = Files.writeString(data.resolve("master.keyset.json.tmp"), "{\"key material\":1}");
        SqliteLethe.open(data).close();
        assertThat(stale).doesNotExist();
    }

    @Test
    void a_new_stores_open_that_fails_takes_back_the_files_it_made_and_an_existing_stores_keeps_them()
            throws Exception {
        Path data = parent.resolve("new");
        Files.createDirectories(data);
        Files.writeString(data.resolve("notes.txt"), "kept");
        SqliteOptions noToken = SqliteOptions.DEFAULT.withPkcs11(
                new SqliteOptions.Pkcs11(parent.resolve("no-such-pkcs11.so"), 0, "1234".toCharArray()));

        assertThatThrownBy(() -> SqliteLethe.open(data, noToken)).isInstanceOf(RuntimeException.class);

        // Only what was there, and the lock file: no store a later open would take as made on purpose.
        try (java.util.stream.Stream<Path> left = Files.list(data)) {
            assertThat(left.map(file -> file.getFileName().toString()))
                    .containsExactlyInAnyOrder("notes.txt", "lethe.lock");
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().keys().resolve("ada@example.com");
        }
        assertThatThrownBy(() -> SqliteLethe.open(data, noToken)).isInstanceOf(RuntimeException.class);
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).isPresent();
        }
    }
}
