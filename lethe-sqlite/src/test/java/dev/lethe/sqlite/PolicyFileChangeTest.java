package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.privacy.AuditLog;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.RecordedEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A policy.yaml edited by hand, outside lethe policy set, is audited when a writer next opens the directory. */
class PolicyFileChangeTest {
    @TempDir
    Path data;

    private List<RecordedEvent> changes() {
        try (SqliteLethe lethe = SqliteLethe.openReadOnly(data)) {
            return lethe.store().readStream(AuditLog.STREAM, 0, Direction.FORWARD, 1000).stream()
                    .filter(e -> e.type().equals("PolicyFileChanged"))
                    .toList();
        }
    }

    @Test
    void a_policy_file_that_is_not_a_regular_utf8_file_of_at_most_1_mib_is_refused_naming_it() throws Exception {
        SqliteLethe.open(data).close();
        Path policy = data.resolve(SqliteLethe.POLICY_FILE);
        String text = Files.readString(policy);
        Files.write(policy, text.getBytes(java.nio.charset.StandardCharsets.UTF_16));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SqliteLethe.open(data))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("is not UTF-8 text");
        Files.writeString(policy, text + "#".repeat(2 << 20));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SqliteLethe.open(data))
                .hasMessageContaining("a data policy is at most 1048576");
        Files.delete(policy);
        Files.createDirectory(policy); // as a link to /dev/zero or a FIFO would be: never read to its end
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SqliteLethe.open(data))
                .hasMessageContaining("is not a regular file");
    }

    @Test
    void a_policy_file_others_may_write_is_warned_of_at_open() throws Exception {
        SqliteLethe.open(data).close();
        Path policy = data.resolve(SqliteLethe.POLICY_FILE);
        assertThat(warningsOpening()).noneMatch(warning -> warning.contains("may be changed by other users"));
        Files.setPosixFilePermissions(policy, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
        assertThat(warningsOpening())
                .anySatisfy(warning -> assertThat(warning)
                        .contains("the data policy " + policy + " may be changed by other users (mode rw-rw-rw-)")
                        .contains("give a role more to read"));
        Files.setPosixFilePermissions(data, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThat(warningsOpening())
                .anySatisfy(warning -> assertThat(warning)
                        .contains("the data directory " + data + " may be changed by other users (mode rwxrwxrwx)"));
        Files.setPosixFilePermissions(data, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    }

    private List<String> warningsOpening() {
        try (dev.lethe.core.testing.LogCapture capture = dev.lethe.core.testing.LogCapture.of(SqliteLethe.class)) {
            SqliteLethe.open(data).close();
            return capture.rawMessages();
        }
    }

    @Test
    void a_hand_edit_is_audited_once_with_both_hashes_and_an_unchanged_file_is_not() throws Exception {
        SqliteLethe.open(data).close();
        String before = SqliteLethe.policySha256(data);
        SqliteLethe.open(data).close();
        assertThat(changes()).isEmpty();

        Path policy = data.resolve(SqliteLethe.POLICY_FILE);
        Files.writeString(
                policy,
                Files.readString(policy)
                        .replace(
                                "analyst: { read: [], append: [] }",
                                "analyst: { read: [identity, contact], append: [] }"));
        String after = SqliteLethe.policySha256(data);
        assertThat(after).isNotEqualTo(before);
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.policy().roles().get("analyst").toString()).contains("identity");
            assertThat(lethe.recoveredAtOpen())
                    .singleElement()
                    .satisfies(what -> assertThat(what).startsWith("policy.yaml differs from the policy"));
        }
        SqliteLethe.open(data).close();

        assertThat(changes()).singleElement().satisfies(entry -> {
            assertThat(entry.data().asTree().get("sha256").asText()).isEqualTo(after);
            assertThat(entry.data().asTree().get("previousSha256").asText()).isEqualTo(before);
            assertThat(entry.data().asTree().get("principal").asText()).isEqualTo("lethe");
            // What the edit gave whom, from the trail alone.
            assertThat(entry.data().asTree().at("/access/roles/analyst/read").toString())
                    .isEqualTo("[\"contact\",\"identity\"]");
            assertThat(entry.data().asTree().at("/access/roles/analyst/append").toString())
                    .isEqualTo("[]");
            assertThat(entry.data().asTree().at("/access/retention/contact").asText())
                    .isEqualTo("P2Y");
            assertThat(entry.data().asTree().at("/access/period/contact").asText())
                    .isEqualTo("month");
        });
    }

    @Test
    void a_policy_too_large_to_summarise_in_an_audit_entry_still_opens_its_store() throws Exception {
        SqliteLethe.open(data).close();
        Path policy = data.resolve(SqliteLethe.POLICY_FILE);
        StringBuilder roles = new StringBuilder();
        String categories = java.util.stream.IntStream.range(0, 400)
                .mapToObj(i -> "category" + i)
                .collect(java.util.stream.Collectors.joining(", "));
        for (int r = 0; r < 200; r++) {
            roles.append("  role")
                    .append(r)
                    .append(": { read: [], append: [")
                    .append(categories)
                    .append("] }\n");
        }
        Files.writeString(policy, Files.readString(policy).replace("roles:\n", "roles:\n" + roles));
        assertThat(Files.size(policy)).as("its summary would be over 1 MiB").isGreaterThan(1_000_000);
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.policy().roles()).hasSizeGreaterThan(200);
        }
        assertThat(changes())
                .singleElement()
                .satisfies(entry -> assertThat(
                                entry.data().asTree().at("/access/omitted").asText())
                        .contains("more than an audit entry keeps"));
    }
}
