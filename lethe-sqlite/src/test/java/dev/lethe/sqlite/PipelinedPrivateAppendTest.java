package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.keys.InMemoryKeyStore;
import dev.lethe.core.privacy.keys.KeyService;
import dev.lethe.core.privacy.keys.LocalMasterKey;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.store.WrongExpectedVersionException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sealed appends kept in flight with {@code appendAsync}, each expecting the version the previous one
 * makes: the privacy layer's early check of a stale expected version must not refuse a batch whose
 * predecessor is still committing, only one the stream has already moved past.
 */
class PipelinedPrivateAppendTest {
    @TempDir
    Path directory;

    @Test
    void chained_expected_versions_in_flight_all_commit_and_a_stream_already_past_is_refused_early() {
        KeyService keys = new KeyService(
                new InMemoryKeyStore(),
                LocalMasterKey.openOrCreate(directory.resolve("keys")),
                DataPolicy.parse(SqliteRevealedReplayTest.POLICY),
                Clock.systemUTC());
        try (PrivateEventStore lethe =
                new PrivateEventStore(SqliteEventStore.open(directory.resolve("log")), keys, Clock.systemUTC())) {
            JsonNode schema = Json.parse(SqliteRevealedReplayTest.SCHEMA).asTree();
            lethe.registerSchema(
                    new Principal("dora", "dpo"),
                    JsonSchemaNotation.read("Bought", schema),
                    SchemaRegistry.Notation.JSON_SCHEMA,
                    SchemaRegistry.propertyPaths(schema),
                    Json.of(schema));
            long head = lethe.store().headPosition();
            List<CompletableFuture<AppendResult>> inFlight = new ArrayList<>();
            for (int stream = 0; stream < 50; stream++) {
                for (long version = 0; version < 5; version++) {
                    inFlight.add(lethe.appendAsync(
                            StreamId.of("buyer-" + stream),
                            version == 0 ? ExpectedVersion.noStream() : ExpectedVersion.exactly(version - 1),
                            List.of(event("b" + stream + "@example.com"))));
                }
            }
            inFlight.forEach(CompletableFuture::join);
            assertThat(lethe.store().headPosition()).isEqualTo(head + 50 * 5);

            assertThatThrownBy(() -> lethe.append(
                            StreamId.of("buyer-0"), ExpectedVersion.exactly(2), List.of(event("late@example.com"))))
                    .isInstanceOf(WrongExpectedVersionException.class);
            assertThat(lethe.keys().lookup("late@example.com")).isEmpty();
        }
    }

    private static EventData event(String email) {
        return EventData.of("Bought", "{\"email\":\"" + email + "\",\"name\":\"N\",\"product\":\"fund\"}");
    }
}
