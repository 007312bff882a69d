package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.keys.KeyUnavailableException;
import java.nio.file.Path;
import java.sql.DriverManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A damaged blind index stops what depends on it, loudly, and leaves nothing half-done. */
class BlindIndexFailuresTest {
    private static final Principal DPO = new Principal("dora", "dpo");

    @TempDir
    Path data;

    private void sql(String statement) throws Exception {
        try (var connection = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("keys.db"));
                var run = connection.createStatement()) {
            run.execute(statement);
        }
    }

    private SubjectId ada() {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            return lethe.privacy().keys().resolve("ada@example.com");
        }
    }

    @Test
    void an_entry_that_does_not_open_stops_a_rotation_before_it_starts_a_new_epoch() throws Exception {
        ada();
        sql("UPDATE blind_index SET sealed = x'0102'"); // too short for a nonce
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            var before = lethe.privacy().keys().masterEpochs();
            assertThatThrownBy(() -> lethe.privacy().rotateMasterKey(DPO))
                    .isInstanceOf(KeyUnavailableException.class)
                    .hasMessageContaining("does not open under the index secret");
            // No epoch left behind: a failed rotation must not keep older epochs alive for good.
            assertThat(lethe.privacy().keys().masterEpochs()).isEqualTo(before);
        }
    }

    @Test
    void entries_whose_secret_is_gone_are_refused_not_replaced_by_a_new_secret() throws Exception {
        SubjectId ada = ada();
        sql("DELETE FROM secret WHERE name = 'blind-index-epoch'");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            // The readiness probe says so (a server would start "up", then fail every natural key), creating nothing.
            assertThat(lethe.privacy().keys().masterProblem())
                    .hasValueSatisfying(why -> assertThat(why).contains("no longer holds"));
            assertThat(lethe.privacy().keys().masterProblem()).as("asked again").isPresent();
            // A new secret would find none of the entries: Ada appended again would be a second subject.
            assertThatThrownBy(() -> lethe.privacy().keys().resolve("ada@example.com"))
                    .isInstanceOf(KeyUnavailableException.class)
                    .hasMessageContaining("no longer holds");
            assertThatThrownBy(() -> lethe.privacy().keys().lookup("ada@example.com"))
                    .isInstanceOf(KeyUnavailableException.class);
        }
        assertThat(ada).isNotNull();
    }
}
