package dev.lethe.core.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DurableFilesTest {
    @TempDir
    Path directory;

    @Test
    void a_file_is_created_or_replaced_whole_with_the_permissions_asked_for_and_no_temporary_file_left()
            throws Exception {
        Path secret = directory.resolve("master.keyset.json");
        Files.writeString(directory.resolve("master.keyset.json.tmp"), "stale copy of a stopped write");
        DurableFiles.replace(
                secret, "first".getBytes(StandardCharsets.UTF_8), PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.readString(secret)).isEqualTo("first");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(secret)))
                .isEqualTo("rw-------");

        DurableFiles.replace(
                secret,
                "second, longer".getBytes(StandardCharsets.UTF_8),
                PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.readString(secret)).isEqualTo("second, longer");
        try (var files = Files.list(directory)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("master.keyset.json");
        }
    }

    @Test
    void a_replacement_that_fails_leaves_the_target_as_it_was_and_deletes_its_temporary_file() throws Exception {
        Path target = directory.resolve("policy.yaml");
        Files.createDirectories(target.resolve("in-the-way"));
        assertThatThrownBy(() -> DurableFiles.replace(target, "groups: {}".getBytes(StandardCharsets.UTF_8), null))
                .isInstanceOf(java.io.IOException.class);
        assertThat(target.resolve("in-the-way")).isDirectory();
        assertThat(directory.resolve("policy.yaml.tmp")).doesNotExist();
    }
}
