package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.Redaction;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.keys.InMemoryKeyStore;
import dev.lethe.core.privacy.keys.KeyService;
import dev.lethe.core.privacy.keys.LocalMasterKey;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The parallel replay of the privacy layer on the embedded engine, across its 5,000-event pages. */
class SqliteRevealedReplayTest {
    static final String POLICY = """
            strict: true
            groups:
              contact:  { retention: P2Y, period: P1M }
              identity: { retention: P10Y, period: P1Y }
            roles:
              advisor: { read: [identity, contact] }
              dpo:     { read: [], may: [change-policy] }
            """;
    static final String SCHEMA = """
            {"type":"object","properties":{
               "email":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"contact"}},
               "name":{"type":"string","x-gdpr":{"pii":true,"dataGroup":"identity"}},
               "product":{"type":"string"}}}
            """;
    static final Principal ADVISOR = new Principal("ann", "advisor");

    @TempDir
    Path directory;

    /** What a reveal says of an event, in a form that compares by value. */
    record Seen(long position, String data, List<Redaction> redactions) {}

    @Test
    void a_replay_on_sqlite_delivers_what_sequential_reveal_does_in_log_order() throws Exception {
        Clock clock = Clock.fixed(Instant.parse("2026-11-26T10:00:00Z"), ZoneOffset.UTC);
        KeyService keys = new KeyService(
                new InMemoryKeyStore(),
                LocalMasterKey.openOrCreate(directory.resolve("keys")),
                DataPolicy.parse(POLICY),
                clock);
        try (PrivateEventStore lethe = new PrivateEventStore(
                SqliteEventStore.open(directory.resolve("log"), SqliteOptions.DEFAULT.withClock(clock)), keys, clock)) {
            JsonNode schema = Json.parse(SCHEMA).asTree();
            lethe.registerSchema(
                    new Principal("dora", "dpo"),
                    JsonSchemaNotation.read("Bought", schema),
                    SchemaRegistry.Notation.JSON_SCHEMA,
                    SchemaRegistry.propertyPaths(schema),
                    Json.of(schema));
            for (int done = 0; done < 12_345; done += 1_000) {
                List<EventData> batch = new ArrayList<>();
                for (int i = done; i < Math.min(12_345, done + 1_000); i++) {
                    batch.add(EventData.of(
                            "Bought",
                            "{\"email\":\"c" + (i % 5) + "@example.com\",\"name\":\"Buyer " + i + "\",\"product\":\"p-"
                                    + i + "\"}"));
                }
                lethe.append(StreamId.of("customer-" + (done % 4)), ExpectedVersion.any(), batch);
            }
            List<Seen> expected = new ArrayList<>();
            for (long from = 0; ; ) {
                List<RecordedEvent> page = lethe.store().readAll(from, EventStore.MAX_READ_LIMIT);
                for (RecordedEvent event : page) {
                    var revealed = lethe.reveal(event, ADVISOR);
                    expected.add(new Seen(event.position(), revealed.data().toString(), revealed.redactions()));
                }
                if (page.isEmpty()) {
                    break;
                }
                from = page.get(page.size() - 1).position() + 1;
            }

            List<Seen> replayed = new ArrayList<>();
            long count = assertTimeoutPreemptively(
                    Duration.ofSeconds(60),
                    () -> lethe.readAllRevealed(
                            0,
                            ADVISOR,
                            e -> replayed.add(
                                    new Seen(e.event().position(), e.data().toString(), e.redactions()))));

            assertThat(count).isEqualTo(replayed.size()).isEqualTo(expected.size());
            assertThat(replayed).containsExactlyElementsOf(expected);
            assertThat(replayed)
                    .filteredOn(s -> s.data().contains("\"name\":\"Buyer 12344\""))
                    .hasSize(1);
        }
    }
}
