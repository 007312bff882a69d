package dev.lethe.guide;

import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.projection.Projection;
import dev.lethe.core.projection.ProjectionRuntime;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteEventStore;
import dev.lethe.sqlite.SqliteLethe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Guide §8: reproduces the messages of the troubleshooting table. */
public class Troubleshooting {
    record CustomerRegistered(@DataSubject @PersonalData(group = "contact") String email,
                              @PersonalData String name, String tier) {}
    record Counter(int count) {}
    record RenamedCounter(int total) {}

    interface Step {
        void run() throws Exception;
    }

    static void attempt(String what, Step step) {
        try {
            step.run();
            System.out.println("- " + what + ": no exception");
        } catch (Exception e) {
            String m = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
            System.out.println("- " + what + ": " + e.getClass().getSimpleName() + ": " + m);
        }
    }

    public static void main(String[] args) throws Exception {
        Path root = Guide.dir("trouble");
        OpenStore.deleteTree(root);
        Path dir = root.resolve("lethe-data");
        Principal dora = new Principal("dora", "dpo");
        try (SqliteLethe lethe = SqliteLethe.open(dir)) {
            PrivateEventStore privacy = lethe.privacy();
            privacy.registerRecord(dora, "CustomerRegistered", CustomerRegistered.class);
            StreamId customer = StreamId.of("customer-1");
            attempt("stream id with a space", () -> StreamId.of("customer 7f3c"));
            attempt("stream id that is an e-mail", () -> StreamId.of("ada@example.com"));
            attempt("event type", () -> EventData.of("Customer Registered", "{}"));
            attempt("metadata not an object", () -> new EventData(null, "T", Json.parse("{}"), Json.parse("[]")));
            attempt("broken JSON", () -> Json.parse("{\"a\":"));
            attempt("expected version -2", () -> ExpectedVersion.exactly(-2));
            attempt("system stream via privacy", () -> privacy.append(StreamId.of("$audit"), ExpectedVersion.any(),
                    List.of(EventData.of("Note", "{}"))));
            attempt("raw store, classified type", () -> lethe.store().append(customer, ExpectedVersion.any(),
                    List.of(EventData.of("CustomerRegistered", "{\"email\":\"ada@example.com\"}"))));
            attempt("personal value, no key", () -> privacy.append(customer, ExpectedVersion.any(),
                    List.of(EventData.of("CustomerRegistered", "{\"name\":\"Ada\"}"))));
            attempt("misspelt classified field", () -> privacy.append(customer, ExpectedVersion.any(),
                    List.of(EventData.of("CustomerRegistered", "{\"Email\":\"ada@example.com\",\"name\":\"Ada\"}"))));
            attempt("boolean key", () -> privacy.append(customer, ExpectedVersion.any(),
                    List.of(EventData.of("CustomerRegistered", "{\"email\":true}"))));
            attempt("reserved metadata key", () -> privacy.append(customer, ExpectedVersion.any(),
                    List.of(EventData.of("Note", "{}").withMetadata(Json.parse("{\"lethe\":{}}")))));
            attempt("role not in policy, forget", () -> privacy.forget(dev.lethe.core.privacy.SubjectId.random(),
                    "GDPR Art. 17", null, new Principal("eve", "auditor")));
            attempt("legal basis '.'", () -> privacy.forget(dev.lethe.core.privacy.SubjectId.random(), ".", null, dora));
            attempt("SqliteEventStore.open on a Lethe directory (second open)", () -> SqliteEventStore.open(dir));

            try (ProjectionRuntime runtime = new ProjectionRuntime(lethe.store(), lethe.projections())) {
                Projection<Counter> counter = Projection.global("counter", Counter.class, new Counter(0))
                        .on("CustomerRegistered", (c, e) -> new Counter(c.count() + 1)).build();
                privacy.append(customer, ExpectedVersion.any(), List.of(EventData.of("CustomerRegistered",
                        Json.of(new CustomerRegistered("ada@example.com", "Ada", "gold")))));
                runtime.start(counter);
                runtime.awaitPosition("counter", lethe.store().headPosition(), Duration.ofSeconds(10));
                attempt("start twice", () -> runtime.start(counter));
                attempt("status of a projection not running", () -> runtime.status("countr"));
                Projection<RenamedCounter> renamed = Projection.global("counter", RenamedCounter.class,
                        new RenamedCounter(0)).on("CustomerRegistered", (c, e) -> c).build();
                attempt("state type changed", () -> runtime.state(renamed, Projection.GLOBAL_KEY));
            }
        }
        attempt("SqliteEventStore.open on a Lethe directory", () -> SqliteEventStore.open(dir));

        Path typo = root.resolve("typo");
        Files.createDirectories(typo);
        Files.writeString(typo.resolve("policy.yaml"), DataPolicy.defaultYaml().replace("strict: false", "stritc: true"));
        attempt("policy.yaml with a typo", () -> SqliteLethe.open(typo).close());

        Files.delete(dir.resolve("policy.yaml"));
        attempt("policy.yaml deleted", () -> SqliteLethe.open(dir).close());
        Files.writeString(dir.resolve("policy.yaml"), DataPolicy.defaultYaml());

        Path strictDir = root.resolve("strict");
        Files.createDirectories(strictDir);
        Files.writeString(strictDir.resolve("policy.yaml"), DataPolicy.defaultYaml().replace("strict: false", "strict: true"));
        try (SqliteLethe strict = SqliteLethe.open(strictDir)) {
            strict.privacy().registerJsonSchema(dora, "Note", Json.parse(
                    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}}}").asTree());
            attempt("strict: undeclared personal-looking member", () -> strict.privacy().append(
                    StreamId.of("note-1"), ExpectedVersion.any(),
                    List.of(EventData.of("Note", "{\"text\":\"hi\",\"email\":\"ada@example.com\"}"))));
            attempt("strict: IBAN stream id", () -> strict.privacy().append(
                    StreamId.of("payee-DE89370400440532013000"), ExpectedVersion.any(),
                    List.of(EventData.of("Note", "{\"text\":\"hi\"}"))));
            attempt("strict: schema with an unclassified personal-looking field", () ->
                    strict.privacy().registerJsonSchema(dora, "Signup", Json.parse(
                            "{\"type\":\"object\",\"properties\":{\"customerId\":{\"type\":\"string\","
                                    + "\"x-gdpr\":{\"key\":true,\"pii\":false}},\"phone\":{\"type\":\"string\"}}}").asTree()));
        }
    }
}
