package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP API with a real client against a real server on 127.0.0.1: every endpoint, roles and
 * redaction, problems for bad input, SSE resume, and a log that never holds a personal value.
 */
class HttpApiIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String ADMIN = "demo-admin-token";

    /** The {@code extensions.code} of a GraphQL answer's first error. */
    static String firstErrorCode(Response answer) throws Exception {
        return answer.json()
                .path("errors")
                .get(0)
                .path("extensions")
                .path("code")
                .asText();
    }
    /** Dates to come for scheduled forgets: a fixed year would pass one day. */
    static final String LATER = (java.time.Year.now(java.time.ZoneOffset.UTC).getValue() + 4) + "-01-01";

    static final String LATER_STILL =
            (java.time.Year.now(java.time.ZoneOffset.UTC).getValue() + 5) + "-01-01";
    static final String ADVISOR = "demo-advisor-token";
    static final String ANALYST = "demo-analyst-token";
    static final String MARKER_NAME = "Marker-" + UUID.randomUUID();
    static final String MARKER_EMAIL = "marker-" + UUID.randomUUID() + "@example.com";

    @TempDir
    static Path data;

    static LetheServer server;
    static final ByteArrayOutputStream logs = new ByteArrayOutputStream();
    /** HTTP/1.1, as the server speaks: no h2c upgrade attempt on a pooled connection. */
    static final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    static String base;

    record Response(int status, String contentType, String body) {
        JsonNode json() throws Exception {
            return JSON.readTree(body);
        }
    }

    @BeforeAll
    static void start() throws Exception {
        dev.lethe.server.cli.DemoLoader.load(data);
        ServerConfig config = ServerConfig.load(null, Map.of())
                .withData(data)
                .withPort(0)
                .withDemo()
                .withJwt(new ServerConfig.Jwt(JwtVerifierTest.SECRET, null, null, null, "roles"));
        server = LetheServer.start(
                config, new LetheServer.JsonLogTarget(new PrintStream(logs, true, StandardCharsets.UTF_8)));
        base = "http://127.0.0.1:" + server.port();
        String schema = """
                {"eventType":"ContactAdded","notation":"json-schema","schema":{"type":"object","required":["email"],
                 "properties":{"email":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"contact"}},
                               "name":{"type":"string","x-gdpr":{"pii":true,"dataGroup":"identity"}},
                               "channel":{"type":"string"}}}}""";
        assertThat(post("/v1/schemas", ADMIN, schema).status()).isEqualTo(201);
        // The server's first retention run appends to $audit, and the projections catch up, on threads
        // of their own: tests that compare the head before and after, or read a projection, start once
        // both are done.
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!auditHolds("RetentionRun") && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(auditHolds("RetentionRun")).as("the startup retention run").isTrue();
        long head = server.lethe().store().headPosition();
        for (var status : server.projectionRuntime().statuses()) {
            assertThat(server.projectionRuntime().awaitPosition(status.name(), head, Duration.ofSeconds(30)))
                    .as("projection %s caught up", status.name())
                    .isTrue();
        }
    }

    /** Every entry of {@code $audit}, page by page. */
    private static List<dev.lethe.core.store.RecordedEvent> auditEntries() {
        var store = server.lethe().store();
        List<dev.lethe.core.store.RecordedEvent> entries = new ArrayList<>();
        for (long from = 0; ; from += dev.lethe.core.store.EventStore.MAX_READ_LIMIT) {
            var page = store.readStream(
                    dev.lethe.core.privacy.AuditLog.STREAM,
                    from,
                    dev.lethe.core.store.Direction.FORWARD,
                    dev.lethe.core.store.EventStore.MAX_READ_LIMIT);
            entries.addAll(page);
            if (page.size() < dev.lethe.core.store.EventStore.MAX_READ_LIMIT) {
                return entries;
            }
        }
    }

    /** The entries of {@code type} in {@code $audit} that name {@code subject}. */
    private static long auditCount(String type, String subject) {
        return auditEntries().stream()
                .filter(e -> e.type().equals(type)
                        && e.data().asTree().path("subject").asText().equals(subject))
                .count();
    }

    private static boolean auditHolds(String type) {
        return auditEntries().stream().anyMatch(e -> e.type().equals(type));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static Response send(HttpRequest.Builder request) throws Exception {
        HttpResponse<String> response =
                http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        return new Response(
                response.statusCode(),
                response.headers().firstValue("Content-Type").orElse(""),
                response.body());
    }

    static Response get(String path, String token) throws Exception {
        HttpRequest.Builder request =
                HttpRequest.newBuilder(URI.create(base + path)).GET();
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return send(request);
    }

    static Response post(String path, String token, String body) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(base + path))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    static String addContact(String stream, String email, String name) throws Exception {
        Response response = post(
                "/v1/streams/" + stream + "/events",
                ADVISOR,
                "{\"events\":[{\"type\":\"ContactAdded\"," + "\"data\":{\"email\":\"" + email + "\",\"name\":\"" + name
                        + "\",\"channel\":\"web\"}}]}");
        assertThat(response.status()).as(response.body()).isEqualTo(201);
        return stream;
    }

    @Test
    void requests_without_a_known_token_get_401_and_missing_permissions_403() throws Exception {
        assertThat(get("/v1/events", null).status()).isEqualTo(401);
        Response unknown = get("/v1/events", "nope");
        assertThat(unknown.status()).isEqualTo(401);
        assertThat(unknown.contentType()).startsWith(LetheServer.PROBLEM_JSON);
        // The request log says why, never with the token.
        assertThat(logs.toString(StandardCharsets.UTF_8))
                .contains("\"refused\":\"unknown token\"", "\"refused\":\"no bearer token\"")
                .doesNotContain("nope");
        Response forbidden = post("/v1/subjects/" + UUID.randomUUID() + "/forget", ADVISOR, "{\"legalBasis\":\"x\"}");
        assertThat(forbidden.status()).isEqualTo(403);
        assertThat(forbidden.json().get("detail").asText()).contains("may not forget");
    }

    @Test
    void a_role_that_may_append_but_not_read_a_key_field_cannot_use_an_append_to_look_a_natural_key_up()
            throws Exception {
        String email = "oracle-" + UUID.randomUUID() + "@example.com";
        String customer = addContact("contact-" + UUID.randomUUID().toString().substring(0, 8), email, "Known Person");
        // The analyst (no contact group, no export) may not append at all (its append list is empty)...
        String probe = "contact-" + UUID.randomUUID().toString().substring(0, 8);
        String guess = "{\"events\":[{\"type\":\"ContactAdded\",\"data\":{\"email\":\"" + email
                + "\",\"name\":\"Guess\",\"channel\":\"web\"}}]}";
        Response refused = post("/v1/streams/" + probe + "/events", ANALYST, guess);
        assertThat(refused.status()).as(refused.body()).isEqualTo(403);
        assertThat(refused.json().get("detail").asText())
                .contains("may not append to a stream of category 'contact'", "may append to no stream");
        assertThat(post(
                                "/graphql",
                                ANALYST,
                                "{\"query\":\"mutation { append(stream: \\\"" + probe
                                        + "\\\", events: [{type: \\\"A\\\", data: {}}]) { firstPosition } }\"}")
                        .status())
                .isEqualTo(403);
        // ...so a role that may (the advisor) appends the guess, and the analyst reads both events back...
        Response appended = post("/v1/streams/" + probe + "/events", ADVISOR, guess);
        assertThat(appended.status()).as(appended.body()).isEqualTo(201);
        for (String stream : List.of(customer, probe)) {
            JsonNode event =
                    get("/v1/streams/" + stream, ANALYST).json().get("events").get(0);
            assertThat(event.path("metadata").path("lethe").path("subjects").has("email"))
                    .as("REST, " + stream)
                    .isFalse();
            JsonNode graphQl = post(
                            "/graphql",
                            ANALYST,
                            "{\"query\":\"{ events(stream: \\\"" + stream + "\\\") { metadata } }\"}")
                    .json();
            assertThat(graphQl.path("data")
                            .path("events")
                            .get(0)
                            .path("metadata")
                            .toString())
                    .as("GraphQL, " + stream)
                    .doesNotContain("subjects\":{\"email");
        }
        // ...while the advisor, who reads the e-mail itself, sees the one subject both events name.
        String known = firstEmailSubject(customer, ADVISOR);
        assertThat(known).isNotEmpty();
        assertThat(firstEmailSubject(probe, ADVISOR)).isEqualTo(known);
    }

    /** The subject of the e-mail of a stream's first event, as {@code token}'s role reads it ("" when not shown). */
    private static String firstEmailSubject(String stream, String token) throws Exception {
        return get("/v1/streams/" + stream, token)
                .json()
                .get("events")
                .get(0)
                .path("metadata")
                .path("lethe")
                .path("subjects")
                .path("email")
                .asText();
    }

    @Test
    void append_returns_201_and_a_conflict_409_names_both_versions() throws Exception {
        String stream = "order-" + UUID.randomUUID().toString().substring(0, 8);
        Response created = post(
                "/v1/streams/" + stream + "/events",
                ADVISOR,
                "{\"expectedVersion\":\"no_stream\",\"events\":[{\"type\":\"OrderPlaced\",\"data\":{\"n\":1}},{\"type\":\"OrderPaid\",\"data\":{}}]}");
        assertThat(created.status()).isEqualTo(201);
        assertThat(created.json().get("lastVersion").asInt()).isEqualTo(1);
        Response conflict = post(
                "/v1/streams/" + stream + "/events",
                ADVISOR,
                "{\"expectedVersion\":0,\"events\":[{\"type\":\"OrderShipped\",\"data\":{}}]}");
        assertThat(conflict.status()).isEqualTo(409);
        assertThat(conflict.json().get("expectedVersion").isNumber())
                .as("in the request's own form")
                .isTrue();
        assertThat(conflict.json().get("expectedVersion").asInt()).isEqualTo(0);
        assertThat(conflict.json().get("actualVersion").asInt()).isEqualTo(1);
        Response read = get("/v1/streams/" + stream + "?direction=backward&limit=1", ANALYST);
        assertThat(read.json().get("events")).hasSize(1);
        assertThat(read.json().get("events").get(0).get("type").asText()).isEqualTo("OrderPaid");
        // A full page says where the next begins; the last one does not.
        assertThat(read.json().get("next").asLong()).isZero();
        Response rest = get("/v1/streams/" + stream + "?direction=backward&limit=1&from=0", ANALYST);
        assertThat(rest.json().get("events").get(0).get("type").asText()).isEqualTo("OrderPlaced");
        assertThat(rest.json().has("next")).isFalse();
        Response first = get("/v1/streams/" + stream + "?limit=1", ANALYST);
        assertThat(first.json().get("next").asLong()).isEqualTo(1);
        assertThat(get("/v1/streams/" + stream + "?limit=2", ANALYST)
                        .json()
                        .get("next")
                        .asLong())
                .isEqualTo(2);
        assertThat(get("/v1/streams/" + stream + "?from=2", ANALYST).json().has("next"))
                .isFalse();
    }

    @Test
    void a_page_of_large_events_ends_at_its_size_and_says_where_the_next_begins() throws Exception {
        String stream = "blob-" + UUID.randomUUID().toString().substring(0, 8);
        String blob = "x".repeat(600 * 1024);
        for (int i = 0; i < 10; i++) {
            Response appended = post(
                    "/v1/streams/" + stream + "/events",
                    ADVISOR,
                    "{\"events\":[{\"type\":\"BlobStored\",\"data\":{\"i\":" + i + ",\"blob\":\"" + blob + "\"}}]}");
            assertThat(appended.status()).isEqualTo(201);
        }
        // 10,000 events of up to 1 MiB each would be read and written in memory at once: a page stops at ~4 MiB.
        Response first = get("/v1/streams/" + stream + "?limit=10000", ANALYST);
        int got = first.json().get("events").size();
        assertThat(got).isBetween(1, 9);
        assertThat(first.json().get("next").asLong()).isEqualTo(got);
        Response rest = get("/v1/streams/" + stream + "?limit=10000&from=" + got, ANALYST);
        assertThat(got + rest.json().get("events").size()).isEqualTo(10);
        assertThat(rest.json().has("next")).isFalse();
        // The log too: its next cursor goes on after the page's last event.
        Response log = get("/v1/events?limit=10000&category=blob", ANALYST);
        assertThat(log.json().get("events").size()).isBetween(1, 9);
        // GraphQL has no next: such a page is refused rather than cut short (paging on by limit would skip).
        Response graphql = post(
                "/graphql",
                ANALYST,
                "{\"query\":\"{ events(stream: \\\"" + stream + "\\\", limit: 100) { version } }\"}");
        assertThat(graphql.body()).contains("limit: 100 events from 0 hold more than 4 MiB: ask for fewer");
        Response small = post(
                "/graphql",
                ANALYST,
                "{\"query\":\"{ events(stream: \\\"" + stream + "\\\", limit: 2) { version } }\"}");
        assertThat(small.json().get("data").get("events")).hasSize(2);
    }

    @Test
    void bad_input_gets_a_problem_and_stores_nothing() throws Exception {
        String stream = "bad-" + UUID.randomUUID().toString().substring(0, 8);
        long head = server.lethe().store().headPosition();
        Response malformed = post("/v1/streams/" + stream + "/events", ADVISOR, "{\"events\": [");
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(malformed.contentType()).startsWith(LetheServer.PROBLEM_JSON);
        assertThat(malformed.json().get("detail").asText()).contains("malformed JSON");
        Response quoting = post(
                "/v1/streams/" + stream + "/events",
                ADVISOR,
                "{\"events\":[{\"type\":\"A\",\"data\":{\"email\": ada@example.com}}]}");
        assertThat(quoting.status()).isEqualTo(400);
        assertThat(quoting.json().get("detail").asText())
                .contains("malformed JSON", "line 1")
                .doesNotContain("ada");
        // An exponent no double holds: Jackson throws a NumberFormatException (it was a 500).
        Response huge = post(
                "/v1/streams/" + stream + "/events",
                ADVISOR,
                "{\"events\":[{\"type\":\"A\",\"data\":{\"n\":1e99999999999}}]}");
        assertThat(huge.status()).isEqualTo(400);
        assertThat(huge.json().get("detail").asText()).contains("malformed JSON: a number cannot be read");
        Response wrongType = send(HttpRequest.newBuilder(URI.create(base + "/v1/streams/" + stream + "/events"))
                .header("Authorization", "Bearer " + ADVISOR)
                .header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString("{}")));
        assertThat(wrongType.status()).isEqualTo(415);
        // A body of undeclared length (chunked) over the limit: the server reads up to the limit, answers
        // 413 and closes the connection, which may cut the client while it is still sending. Either way
        // nothing is stored (the head is checked below). (Expect: 100-continue would avoid the cut, but
        // JDK 17's client then waits forever for a 100 that a refusal never sends.)
        byte[] big = ("{\"events\":[{\"type\":\"Big\",\"data\":\""
                        + "x".repeat((int) ServerConfig.DEFAULT_MAX_BODY_BYTES + 10) + "\"}]}")
                .getBytes(StandardCharsets.UTF_8);
        try {
            Response tooBig = send(HttpRequest.newBuilder(URI.create(base + "/v1/streams/" + stream + "/events"))
                    .header("Authorization", "Bearer " + ADVISOR)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big))));
            assertThat(tooBig.status()).isEqualTo(413);
            assertThat(tooBig.body()).as("a problem, as every error").contains("\"status\":413");
        } catch (java.io.IOException cutWhileSending) {
            // Refused too: the connection was closed before the whole body was sent.
        }
        // A declared length over the limit is refused at once, as a problem, without waiting for the body.
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.port())) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream()
                    .write(("POST /v1/streams/" + stream + "/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                    + "Authorization: Bearer " + ADVISOR + "\r\nContent-Type: application/json\r\n"
                                    + "Content-Length: 999999999\r\nConnection: close\r\n\r\n{}")
                            .getBytes(StandardCharsets.US_ASCII));
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(answer).startsWith("HTTP/1.1 413").contains(LetheServer.PROBLEM_JSON, "the limit is");
        }
        assertThat(post("/v1/streams/bad%20stream/events", ADVISOR, "{\"events\":[{\"type\":\"A\",\"data\":{}}]}")
                        .json()
                        .get("detail")
                        .asText())
                .contains("stream id");
        assertThat(post("/v1/streams/" + stream + "/events", ADVISOR, "{\"events\":[]}")
                        .json()
                        .get("detail")
                        .asText())
                .contains("empty");
        assertThat(post(
                                "/v1/streams/" + stream + "/events",
                                ADVISOR,
                                "{\"expectedVersion\":-3,\"events\":[{\"type\":\"A\",\"data\":{}}]}")
                        .json()
                        .get("detail")
                        .asText())
                .contains("below -1");
        assertThat(post(
                                "/v1/streams/" + stream + "/events",
                                ADVISOR,
                                "{\"expectedVersion\":{\"v\":1},\"events\":[{\"type\":\"A\",\"data\":{}}]}")
                        .json()
                        .get("detail")
                        .asText())
                .contains("expectedVersion: must be a number or one of any, no_stream, stream_exists, not an object");
        Response asOf = get("/v1/streams/" + stream + "?asOf=yesterday", ADVISOR);
        assertThat(asOf.status()).isEqualTo(400);
        assertThat(asOf.json().get("detail").asText()).contains("'yesterday'");
        Response unknown = get("/v1/nothing-here", ADVISOR);
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.contentType()).startsWith(LetheServer.PROBLEM_JSON);
        // A known path with another method: 405, with the methods it takes.
        HttpResponse<String> wrongMethod = http.send(
                HttpRequest.newBuilder(URI.create(base + "/v1/events"))
                        .header("Authorization", "Bearer " + ADVISOR)
                        .DELETE()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(wrongMethod.statusCode()).isEqualTo(405);
        assertThat(wrongMethod.headers().firstValue("Allow")).hasValue("GET");
        assertThat(wrongMethod.headers().firstValue("Content-Type").orElse("")).startsWith(LetheServer.PROBLEM_JSON);
        assertThat(JSON.readTree(wrongMethod.body()).get("detail").asText())
                .isEqualTo("/v1/events does not take DELETE; it takes GET");
        assertThat(server.lethe().store().headPosition()).isEqualTo(head);
        assertThat(get("/health", null).status()).isEqualTo(200);
    }

    @Test
    void numbers_are_kept_exactly_and_a_member_name_twice_is_refused() throws Exception {
        String stream = "num-" + UUID.randomUUID().toString().substring(0, 8);
        String data =
                "{\"a\":1.50, \"prec\":3.141592653589793238462643383279,\"huge\":1e400,\"tiny\":1e-400,\"z\":-0.0,\"n\":7}";
        Response appended = post(
                "/v1/streams/" + stream + "/events",
                ADVISOR,
                "{\"events\":[{\"type\":\"Num\",\"data\":" + data + "}]}");
        assertThat(appended.status()).as(appended.body()).isEqualTo(201);
        String stored = server.lethe()
                .store()
                .readStream(dev.lethe.core.store.StreamId.of(stream), 0, dev.lethe.core.store.Direction.FORWARD, 1)
                .get(0)
                .data()
                .toString();
        assertThat(stored).isEqualTo(data); // byte for byte, as the request wrote it
        String read = get("/v1/streams/" + stream, ADVISOR).body();
        assertThat(read)
                .contains("1.50", "3.141592653589793238462643383279", "1E+400")
                .doesNotContain("Infinity");

        long head = server.lethe().store().headPosition();
        Response twice = post(
                "/v1/streams/" + stream + "/events",
                ADVISOR,
                "{\"events\":[{\"type\":\"ContactAdded\",\"data\":{\"email\":\"a@example.com\",\"email\":\"b@example.com\"}}]}");
        assertThat(twice.status()).isEqualTo(400);
        assertThat(twice.json().get("detail").asText())
                .contains("Duplicate field")
                .doesNotContain("a@example.com", "b@example.com");
        assertThat(server.lethe().store().headPosition()).isEqualTo(head);
    }

    @Test
    void a_forget_through_graphql_is_logged_as_one_through_rest_is() throws Exception {
        String stream = addContact(
                "contact-" + UUID.randomUUID().toString().substring(0, 8),
                "gq-" + UUID.randomUUID() + "@example.com",
                "GraphQL Forgotten");
        String subject = firstEmailSubject(stream, ADVISOR);
        String forget = "{\"query\":\"mutation { forget(subject: \\\"" + subject
                + "\\\", legalBasis: \\\"GDPR Art. 17\\\") { id subject } }\"}";
        JsonNode receipt = post("/graphql", ADMIN, forget).json().path("data").path("forget");
        assertThat(receipt.path("subject").asText()).isEqualTo(subject);
        assertThat(logs.toString(StandardCharsets.UTF_8))
                .contains("\"subject forgotten\"", subject, receipt.path("id").asText())
                .doesNotContain("GraphQL Forgotten");
    }

    @Test
    void an_event_nested_as_deep_as_an_append_takes_is_answered_over_rest_and_graphql() throws Exception {
        String stream = "deep-" + UUID.randomUUID().toString().substring(0, 8);
        String deep = "[".repeat(990) + "1" + "]".repeat(990);
        Response appended = post(
                "/v1/streams/" + stream + "/events",
                ADVISOR,
                "{\"events\":[{\"type\":\"Deep\",\"data\":{\"value\":" + deep + "}}]}");
        assertThat(appended.status()).as(appended.body()).isEqualTo(201);
        assertThat(get("/v1/streams/" + stream, ADVISOR).status()).isEqualTo(200);
        // GraphQL wraps an event in more levels than REST: writing the answer failed (500) for every query
        // whose page held it.
        Response viaGraphQl =
                post("/graphql", ADVISOR, "{\"query\":\"{ events(stream: \\\"" + stream + "\\\") { data } }\"}");
        assertThat(viaGraphQl.status()).as(viaGraphQl.body()).isEqualTo(200);
        assertThat(viaGraphQl.body()).contains("[[[[1]]]]");
    }

    @Test
    void a_forget_answer_names_the_key_fields_that_keep_natural_keys_in_plaintext() throws Exception {
        String kyc = "{\"eventType\":\"KycChecked\",\"schema\":{\"type\":\"object\",\"properties\":{"
                + "\"email\":{\"type\":\"string\",\"x-gdpr\":{\"key\":true}},"
                + "\"name\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true,\"dataGroup\":\"identity\"}}}}}";
        Response registered = post("/v1/schemas", ADMIN, kyc);
        assertThat(registered.status()).as(registered.body()).isIn(200, 201);
        // A descriptor set given empty is said to be empty, not missing.
        Response empty = post(
                "/v1/schemas",
                ADMIN,
                "{\"eventType\":\"Kyc2\",\"notation\":\"protobuf\",\"descriptorSet\":\"\",\"message\":\"ev.Kyc\"}");
        assertThat(empty.status()).isEqualTo(400);
        assertThat(empty.json().get("detail").asText()).isEqualTo("'descriptorSet' is empty");
        String rest = firstEmailSubject(
                addContact("contact-" + UUID.randomUUID().toString().substring(0, 8), "kr@example.com", "K R"),
                ADVISOR);
        Response forgotten = post("/v1/subjects/" + rest + "/forget", ADMIN, "{\"legalBasis\":\"GDPR Art. 17(1)(a)\"}");
        assertThat(forgotten.status()).as(forgotten.body()).isEqualTo(200);
        assertThat(forgotten.json().get("plaintextKeyFields").toString())
                .contains("\"KycChecked.email\"")
                .doesNotContain("ContactAdded"); // sealed: pii as well as key
        String graphql = firstEmailSubject(
                addContact("contact-" + UUID.randomUUID().toString().substring(0, 8), "kg@example.com", "K G"),
                ADVISOR);
        JsonNode receipt = post(
                        "/graphql",
                        ADMIN,
                        "{\"query\":\"mutation { forget(subject: \\\"" + graphql
                                + "\\\", legalBasis: \\\"GDPR Art. 17\\\") { id plaintextKeyFields } }\"}")
                .json()
                .path("data")
                .path("forget");
        assertThat(receipt.path("plaintextKeyFields").toString()).contains("\"KycChecked.email\"");
        // A listing is not a forget's answer: what the schemas say now is not what they said then.
        JsonNode listed = post(
                        "/graphql",
                        ADMIN,
                        "{\"query\":\"{ receipts(subject: \\\"" + graphql + "\\\") { id plaintextKeyFields } }\"}")
                .json()
                .path("data")
                .path("receipts");
        assertThat(listed.get(0).path("plaintextKeyFields").isNull())
                .as(listed.toString())
                .isTrue();
    }

    @Test
    void a_graphql_request_whose_second_mutation_is_refused_answers_the_first_as_committed() throws Exception {
        String stream = "two-" + UUID.randomUUID().toString().substring(0, 8);
        long head = server.lethe().store().headPosition();
        String two = "{\"query\":\"mutation { first: append(stream: \\\"" + stream
                + "\\\", events: [{type: \\\"A\\\", data: {}}]) { firstPosition }"
                + " second: append(stream: \\\"" + stream
                + "\\\", expectedVersion: \\\"no_stream\\\", events: [{type: \\\"A\\\", data: {}}])"
                + " { firstPosition }"
                + " third: append(stream: \\\"" + stream + "-other\\\", events: [{type: \\\"A\\\", data: {}}])"
                + " { firstPosition } }\"}";
        Response answer = post("/graphql", ADVISOR, two);
        // The first append is committed: a 4xx would tell the client it was not, and a retry would store it twice.
        assertThat(answer.status()).as(answer.body()).isEqualTo(200);
        assertThat(answer.json()
                        .path("data")
                        .path("first")
                        .path("firstPosition")
                        .asLong())
                .isEqualTo(head + 1);
        assertThat(answer.json().path("data").path("second").isNull()).isTrue();
        assertThat(answer.json().path("errors").get(0).path("message").asText()).contains("wrong expected version");
        // What REST's 409 says, for a client to branch on rather than parse messages.
        JsonNode conflict = answer.json().path("errors").get(0).path("extensions");
        assertThat(conflict.path("code").asText()).isEqualTo("CONFLICT");
        assertThat(conflict.path("expectedVersion").asText()).isEqualTo("no_stream");
        assertThat(conflict.path("actualVersion").asLong()).isZero();
        assertThat(answer.json()
                        .path("errors")
                        .get(1)
                        .path("extensions")
                        .path("code")
                        .asText())
                .isEqualTo("NOT_RUN");
        // The one after the refused one is not run: a guard on an earlier mutation holds for the later ones.
        assertThat(answer.json().path("data").path("third").isNull()).isTrue();
        assertThat(answer.json().path("errors").get(1).path("message").asText()).contains("not run");
        assertThat(server.lethe().store().headPosition()).isEqualTo(head + 1);
        // A query's field that fails is a 200 with its error when another field was answered; alone, a 400 (as
        // docs/api.md says, and as a refused one alone is a 403), though the field is nullable.
        assertThat(post(
                                "/graphql",
                                ADVISOR,
                                "{\"query\":\"{ projections { name } projection(name: \\\"nosuch\\\", key:"
                                        + " \\\"x\\\") { key } }\"}")
                        .status())
                .isEqualTo(200);
        Response unknownProjection = post(
                "/graphql", ADVISOR, "{\"query\":\"{ projection(name: \\\"nosuch\\\", key: \\\"x\\\") { key } }\"}");
        assertThat(unknownProjection.status()).isEqualTo(400);
        assertThat(firstErrorCode(unknownProjection)).isEqualTo("NOT_FOUND");
        Response syntax = post("/graphql", ADVISOR, "{\"query\":\"{ events(limit: 1) { position }\"}");
        assertThat(firstErrorCode(syntax)).isEqualTo("GRAPHQL_PARSE_FAILED");
        Response unknownField = post("/graphql", ADVISOR, "{\"query\":\"{ nosuch }\"}");
        assertThat(firstErrorCode(unknownField)).isEqualTo("GRAPHQL_VALIDATION_FAILED");
        // A __typename beside refused mutations answers nothing about them: still a 4xx.
        String typename = "{\"query\":\"mutation { __typename append(stream: \\\"" + stream
                + "\\\", expectedVersion: \\\"no_stream\\\", events: [{type: \\\"A\\\", data: {}}])"
                + " { firstPosition } }\"}";
        assertThat(post("/graphql", ADVISOR, typename).status()).isEqualTo(400);
        // Alone, a refused mutation is still a 4xx, nothing stored.
        String alone = "{\"query\":\"mutation { append(stream: \\\"" + stream
                + "\\\", expectedVersion: \\\"no_stream\\\", events: [{type: \\\"A\\\", data: {}}])"
                + " { firstPosition } }\"}";
        assertThat(post("/graphql", ADVISOR, alone).status()).isEqualTo(400);
        assertThat(server.lethe().store().headPosition()).isEqualTo(head + 1);
    }

    @Test
    void forgets_can_be_scheduled_listed_and_cancelled_over_http_and_graphql() throws Exception {
        String stream =
                addContact("contact-" + UUID.randomUUID().toString().substring(0, 8), MARKER_EMAIL, MARKER_NAME);
        String subject = firstEmailSubject(stream, ADVISOR);
        String forget = "/v1/subjects/" + subject + "/forget";

        Response withReason =
                post(forget, ADMIN, "{\"legalBasis\":\"contract ended\",\"at\":\"" + LATER + "\",\"reason\":\"x\"}");
        assertThat(withReason.status()).isEqualTo(400);
        assertThat(withReason.json().get("detail").asText()).contains("'reason' is not kept for a scheduled forget");
        // A misspelt "at" must not forget at once; nor may an event's misspelt member or trailing text pass.
        Response misspelt =
                post(forget, ADMIN, "{\"legalBasis\":\"contract ended\",\"scheduledAt\":\"" + LATER + "\"}");
        assertThat(misspelt.status()).isEqualTo(400);
        assertThat(misspelt.json().get("detail").asText())
                .contains("unknown member 'scheduledAt'", "legalBasis, reason, at");
        Response metdata = post(
                "/v1/streams/note-1/events",
                ADMIN,
                "{\"events\":[{\"type\":\"Note\",\"data\":{},\"metdata\":{\"x\":1}}]}");
        assertThat(metdata.status()).isEqualTo(400);
        assertThat(metdata.json().get("detail").asText()).contains("unknown member 'metdata'");
        Response ibanMember = post(
                "/v1/streams/note-1/events",
                ADMIN,
                "{\"events\":[{\"type\":\"Note\",\"data\":{},\"DE89370400440532013000\":1}]}");
        assertThat(ibanMember.status()).isEqualTo(400);
        assertThat(ibanMember.json().get("detail").asText())
                .contains("unknown member (a name not shown: it holds what looks like an IBAN)")
                .doesNotContain("DE89370400440532013000");
        // A charset the server does not know is the client's error (it was a 500 and an error in the log).
        Response unknownCharset = send(HttpRequest.newBuilder(URI.create(base + "/v1/streams/note-1/events"))
                .header("Authorization", "Bearer " + ADMIN)
                .header("Content-Type", "application/json; charset=no-such-charset")
                .POST(HttpRequest.BodyPublishers.ofString("{\"events\":[{\"type\":\"Note\",\"data\":{}}]}")));
        assertThat(unknownCharset.status()).as(unknownCharset.body()).isEqualTo(415);
        assertThat(unknownCharset.body()).contains("send UTF-8");
        assertThat(post("/v1/streams/note-1/events", ADMIN, "{\"events\":[{\"type\":\"Note\",\"data\":{}}]} xx")
                        .status())
                .isEqualTo(400);
        assertThat(get("/v1/streams/note-1", ADMIN).json().path("events"))
                .as("nothing appended")
                .isEmpty();
        Response farFuture = get("/v1/retention/plan?now=%2B999999999-12-31", ADMIN);
        assertThat(farFuture.status()).as(farFuture.body()).isEqualTo(200);
        JsonNode types = post(
                        "/graphql", ADMIN, "{\"query\":\"{ eventTypes { name fields { path pii dataGroup } } }\"}")
                .json();
        assertThat(types.path("errors").isMissingNode()).as(types.toString()).isTrue();
        assertThat(types.path("data").path("eventTypes")).isNotEmpty();
        // Explicit nulls, as typed clients send every field: a null "at" is no date, a null "reason" none.
        Response nulls =
                post(forget, ADMIN, "{\"legalBasis\":\"contract ended\",\"reason\":null,\"at\":\"" + LATER + "\"}");
        assertThat(nulls.status()).as(nulls.body()).isEqualTo(202);
        assertThat(post(
                                "/v1/scheduled-forgets/"
                                        + nulls.json().get("id").asText() + "/cancel",
                                ADMIN,
                                "{\"reason\":\"a test of nulls\"}")
                        .status())
                .isEqualTo(200);
        assertThat(nulls.json().has("warning")).as("a date to come: no warning").isFalse();
        // A date in the past (a year typed wrong) is scheduled as asked, with a warning saying what follows.
        Response past = post(forget, ADMIN, "{\"legalBasis\":\"contract ended\",\"at\":\"2020-01-01\"}");
        assertThat(past.status()).isEqualTo(202);
        String pastId = past.json().get("id").asText();
        assertThat(past.json().get("warning").asText())
                .contains("in the past", "next retention run", "/v1/scheduled-forgets/" + pastId + "/cancel");
        assertThat(post("/v1/scheduled-forgets/" + pastId + "/cancel", ADMIN, "{\"reason\":\"a year typed wrong\"}")
                        .status())
                .isEqualTo(200);
        Response notAnInstant = post(forget, ADMIN, "{\"legalBasis\":\"contract ended\",\"at\":\"soon\"}");
        assertThat(notAnInstant.status()).isEqualTo(400);
        assertThat(notAnInstant.json().get("detail").asText()).contains("at", "soon");
        assertThat(post(forget, ADVISOR, "{\"legalBasis\":\"contract ended\",\"at\":\"" + LATER + "\"}")
                        .status())
                .isEqualTo(403);
        Response scheduled = post(forget, ADMIN, "{\"legalBasis\":\"contract ended\",\"at\":\"" + LATER + "\"}");
        assertThat(scheduled.status()).isEqualTo(202);
        assertThat(scheduled.json().get("at").asText()).isEqualTo(LATER + "T00:00:00Z");
        String id = scheduled.json().get("id").asText();

        assertThat(get("/v1/scheduled-forgets?subject=" + subject, ADMIN).json())
                .singleElement()
                .satisfies(entry -> assertThat(entry.get("id").asText()).isEqualTo(id));
        assertThat(get("/v1/scheduled-forgets", ADVISOR).status()).isEqualTo(403);

        // The retention plan: the period keys for any role, the scheduled forgets due for those who may forget.
        JsonNode plan =
                get("/v1/retention/plan?now=2099-01-01T00:00:00Z", ADMIN).json();
        assertThat(plan.path("now").asText()).isEqualTo("2099-01-01T00:00:00Z");
        assertThat(plan.path("periodKeys")).isNotEmpty().allSatisfy(key -> {
            assertThat(key.path("due").asBoolean()).isTrue();
            assertThat(key.path("expiresAt").asText()).endsWith("T00:00:00Z");
        });
        assertThat(plan.path("scheduledForgetsDue").toString()).contains(id);
        JsonNode advisorsPlan = get("/v1/retention/plan", ADVISOR).json();
        assertThat(advisorsPlan.has("scheduledForgetsDue")).isFalse();
        assertThat(advisorsPlan.path("periodKeys"))
                .noneSatisfy(key -> assertThat(key.path("due").asBoolean()).isTrue());
        assertThat(get("/v1/retention/plan?now=soon", ADMIN).status()).isEqualTo(400);
        JsonNode graphQlPlan = post(
                        "/graphql",
                        ADMIN,
                        "{\"query\":\"{ retentionPlan(now: \\\"2099-01-01\\\") { now periodKeys { group period due }"
                                + " scheduledForgetsDue { id } } }\"}")
                .json()
                .path("data")
                .path("retentionPlan");
        assertThat(graphQlPlan.path("periodKeys")).isNotEmpty();
        assertThat(graphQlPlan.path("scheduledForgetsDue").toString()).contains(id);
        String byGraphQl =
                "{\"query\":\"{ scheduledForgets(subject: \\\"" + subject + "\\\") { id at legalBasis } }\"}";
        assertThat(post("/graphql", ADMIN, byGraphQl)
                        .json()
                        .path("data")
                        .path("scheduledForgets")
                        .toString())
                .contains(id, "contract ended");

        Response cancelled =
                post("/v1/scheduled-forgets/" + id + "/cancel", ADMIN, "{\"reason\":\"contract extended\"}");
        assertThat(cancelled.status()).as(cancelled.body()).isEqualTo(200);
        assertThat(cancelled.json().get("subject").asText()).isEqualTo(subject);
        Response twice = post("/v1/scheduled-forgets/" + id + "/cancel", ADMIN, "{\"reason\":\"again\"}");
        assertThat(twice.status()).as("a conflict with the schedule's state").isEqualTo(409);
        assertThat(twice.json().get("detail").asText()).contains("was already cancelled");
        assertThat(get("/v1/scheduled-forgets?subject=" + subject, ADMIN).json())
                .isEmpty();

        // The same through GraphQL: schedule, then cancel.
        String schedule = "{\"query\":\"mutation { scheduleForget(subject: \\\"" + subject
                + "\\\", legalBasis: \\\"contract ended\\\", at: \\\"" + LATER_STILL + "\\\") { id at } }\"}";
        JsonNode viaGraphQl =
                post("/graphql", ADMIN, schedule).json().path("data").path("scheduleForget");
        assertThat(viaGraphQl.path("at").asText()).isEqualTo(LATER_STILL + "T00:00:00Z");
        String cancel = "{\"query\":\"mutation { cancelScheduledForget(schedule: \\\""
                + viaGraphQl.path("id").asText() + "\\\", reason: \\\"extended\\\") { id subject } }\"}";
        assertThat(post("/graphql", ADMIN, cancel)
                        .json()
                        .path("data")
                        .path("cancelScheduledForget")
                        .path("subject")
                        .asText())
                .isEqualTo(subject);
        assertThat(get("/v1/scheduled-forgets?subject=" + subject, ADMIN).json())
                .isEmpty();
        assertThat(get("/v1/audit?limit=1000", ADMIN).body()).contains("ForgetScheduled", "ForgetCancelled");
        // Logged as REST's are.
        for (String message : List.of("\"forget scheduled\"", "\"scheduled forget cancelled\"")) {
            assertThat(logs.toString(StandardCharsets.UTF_8)
                            .lines()
                            .filter(line -> line.contains(message)
                                    && line.contains(viaGraphQl.path("id").asText())))
                    .as(message)
                    .hasSize(1);
        }
    }

    @Test
    void personal_fields_are_shown_per_role_and_forgotten_for_everyone_after_a_forget() throws Exception {
        String stream =
                addContact("contact-" + UUID.randomUUID().toString().substring(0, 8), MARKER_EMAIL, MARKER_NAME);

        JsonNode advisor =
                get("/v1/streams/" + stream, ADVISOR).json().get("events").get(0);
        assertThat(advisor.path("data").get("name").asText()).isEqualTo(MARKER_NAME);
        HttpResponse<String> plain = http.send(
                HttpRequest.newBuilder(URI.create(base + "/v1/streams/" + stream))
                        .header("Authorization", "Bearer " + ADVISOR)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(plain.headers().firstValue("Cache-Control")).contains("no-store");
        assertThat(plain.headers().firstValue("X-Content-Type-Options")).contains("nosniff");
        assertThat(plain.headers().firstValue("X-Frame-Options")).contains("DENY");
        // GraphiQL's page, too, is never shown inside another site's frame.
        HttpResponse<String> page = http.send(
                HttpRequest.newBuilder(URI.create(base + "/graphiql")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(page.headers().firstValue("Content-Security-Policy")).contains("frame-ancestors 'none'");
        // So is GraphQL, by any path that reaches it (a trailing slash did without the header).
        for (String graphQl : List.of("/graphql", "/graphql/")) {
            HttpResponse<String> answer = http.send(
                    HttpRequest.newBuilder(URI.create(base + graphQl))
                            .header("Authorization", "Bearer " + ADVISOR)
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(
                                    "{\"query\":\"{ events(stream: \\\"" + stream + "\\\") { data } }\"}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(answer.body()).as(graphQl).contains(MARKER_NAME);
            assertThat(answer.headers().firstValue("Cache-Control")).as(graphQl).contains("no-store");
        }
        assertThat(advisor.get("redacted")).isEmpty();
        JsonNode analyst =
                get("/v1/streams/" + stream, ANALYST).json().get("events").get(0);
        assertThat(analyst.path("data").get("name").isNull()).isTrue();
        assertThat(analyst.get("redacted").toString()).contains("restricted");
        assertThat(analyst.path("data").get("channel").asText()).isEqualTo("web");

        String subject = advisor.path("metadata")
                .path("lethe")
                .path("subjects")
                .get("email")
                .asText();
        Response export = get("/v1/subjects/" + subject + "/export", ADMIN);
        assertThat(export.body()).contains(MARKER_NAME);
        Response receipt =
                post("/v1/subjects/" + subject + "/forget", ADMIN, "{\"legalBasis\":\"GDPR Art. 17(1)(a)\"}");
        assertThat(receipt.status()).isEqualTo(200);
        assertThat(receipt.json().get("subject").asText()).isEqualTo(subject);
        Response again = post("/v1/subjects/" + subject + "/forget", ADMIN, "{\"legalBasis\":\"GDPR Art. 17(1)(a)\"}");
        assertThat(again.status()).as("a conflict with the subject's state").isEqualTo(409);
        assertThat(again.json().get("detail").asText()).contains("already forgotten");
        String stranger = UUID.randomUUID().toString();
        Response unknownForget =
                post("/v1/subjects/" + stranger + "/forget", ADMIN, "{\"legalBasis\":\"GDPR Art. 17(1)(a)\"}");
        assertThat(unknownForget.status()).isEqualTo(404);
        assertThat(unknownForget.json().get("detail").asText()).contains("unknown to the key service");
        Response unknownExport = get("/v1/subjects/" + stranger + "/export", ADMIN);
        assertThat(unknownExport.status()).isEqualTo(404);
        assertThat(unknownExport.json().get("detail").asText()).contains("unknown to the key service");
        // A natural key where the subject id goes: refused, and neither the detail nor the instance repeats it.
        Response byEmail =
                post("/v1/subjects/someone@example.com/forget", ADMIN, "{\"legalBasis\":\"GDPR Art. 17(1)(a)\"}");
        assertThat(byEmail.status()).isEqualTo(400);
        assertThat(byEmail.body()).doesNotContain("someone@example.com");
        assertThat(byEmail.json().get("instance").asText()).isEqualTo("/v1/subjects/{id}/forget");

        String query = "{\"query\":\"{ events(stream: \\\"" + stream + "\\\") { data redacted { path reason } } }\"}";
        for (String token : List.of(ADMIN, ADVISOR)) {
            JsonNode after = post("/graphql", token, query)
                    .json()
                    .path("data")
                    .path("events")
                    .get(0);
            assertThat(after.get("redacted").toString()).contains("forgotten").doesNotContain("restricted");
            assertThat(after.path("data").get("channel").asText()).isEqualTo("web");
            assertThat(after.toString()).doesNotContain(MARKER_NAME);
        }
        assertThat(get("/v1/audit?limit=50", ADMIN).body()).contains("SubjectForgotten", "SubjectExported");
        Response paged = get("/v1/audit?from=3&limit=2", ADMIN);
        assertThat(paged.status()).as("not the latest two, silently").isEqualTo(400);
        assertThat(paged.json().get("detail").asText()).contains("takes 'limit' only", "/v1/streams/$audit?from=");
        Response receipts = get("/v1/receipts?subject=" + subject, ADMIN);
        assertThat(receipts.status()).isEqualTo(200);
        assertThat(receipts.json()).hasSize(1);
        assertThat(receipts.json().get(0).get("id").asText())
                .isEqualTo(receipt.json().get("id").asText());
        assertThat(receipts.json().get(0).get("legalBasis").asText()).isEqualTo("GDPR Art. 17(1)(a)");
        assertThat(receipts.json().get(0).get("store").asText())
                .as("names its store")
                .hasSize(36);
        assertThat(get("/v1/receipts", ADVISOR).status()).isEqualTo(403);
        assertThat(get("/v1/receipts?subject=someone", ADMIN).status()).isEqualTo(400);
        String byGraphQl = "{\"query\":\"{ receipts(subject: \\\"" + subject + "\\\") { id legalBasis reason } }\"}";
        assertThat(post("/graphql", ADMIN, byGraphQl)
                        .json()
                        .path("data")
                        .path("receipts")
                        .get(0)
                        .get("id")
                        .asText())
                .isEqualTo(receipt.json().get("id").asText());
        Response refused = post("/graphql", ADVISOR, byGraphQl);
        assertThat(refused.status()).isEqualTo(403);
        assertThat(refused.body()).contains("may not forget");
        assertThat(firstErrorCode(refused)).isEqualTo("FORBIDDEN");
        // A nullable field refused (the lookup takes export): 403 too, as REST answers it, not 200 with null.
        Response lookup =
                post("/graphql", ADVISOR, "{\"query\":\"{ subject(naturalKey: \\\"x@example.com\\\") { id } }\"}");
        assertThat(lookup.status()).as(lookup.body()).isEqualTo(403);
        assertThat(lookup.body()).contains("may not export");
        // The event's own day (UTC), not the clock's: the test may run across midnight.
        String today = advisor.get("recordedAt").asText().substring(0, 10);
        String byPeriod =
                "{\"query\":\"{ events(stream: \\\"" + stream + "\\\", period: \\\"" + today + "\\\") { type } }\"}";
        assertThat(post("/graphql", ADVISOR, byPeriod).json().path("data").path("events"))
                .hasSize(1);
        String badPeriod =
                "{\"query\":\"{ events(stream: \\\"" + stream + "\\\", period: \\\"last week\\\") { type } }\"}";
        assertThat(post("/graphql", ADVISOR, badPeriod).body())
                .contains("period: is not a year")
                .doesNotContain("last week");
        assertThat(logs.toString(StandardCharsets.UTF_8))
                .doesNotContain(MARKER_NAME, MARKER_EMAIL)
                .contains("\"route\"");
    }

    @Test
    void the_seeds_graphql_queries_work_verbatim() throws Exception {
        String queries = """
                query eventJourney{
                  dataJourney{
                    events(period:"2021-04-30",itemTypes:ShareClass){
                      code leg eventType eventTypeDescription itemType
                      sourceInfo{ by lastUpdated version }
                    }
                  }
                }
                query commitmentsForCurrentPeriod{
                  dataJourney{
                    items(itemTypes:SubFund) { code }
                    commitmentStatus{ commitmentDeadline dateFulfilled fulfilmentStatus commitmentType period }
                    commitments{ businessDayDeadline startEffectiveDate endEffectiveDate }
                  }
                }""";
        for (String operation : List.of("eventJourney", "commitmentsForCurrentPeriod")) {
            String body = JSON.writeValueAsString(Map.of("query", queries, "operationName", operation));
            Response response = post("/graphql", ANALYST, body);
            assertThat(response.status()).as(response.body()).isEqualTo(200);
            JsonNode journey = response.json().path("data").path("dataJourney");
            if (operation.equals("eventJourney")) {
                assertThat(journey.get("events")).hasSizeGreaterThanOrEqualTo(3);
                JsonNode first = journey.get("events").get(0);
                assertThat(first.get("code").asText()).isEqualTo("AMER_GBP_A_ACC");
                assertThat(first.get("eventType").asText()).isEqualTo("PerformancePublishedProvisional");
                assertThat(first.get("eventTypeDescription").asText())
                        .isEqualTo("Performance Published as Provisional - awaiting signoff");
                assertThat(first.path("sourceInfo").get("by").asText()).isEqualTo("Performance Platform");
            } else {
                assertThat(journey.get("items").toString()).contains("AMER");
                assertThat(journey.get("commitmentStatus")
                                .get(0)
                                .get("fulfilmentStatus")
                                .asText())
                        .isNotBlank();
                assertThat(journey.get("commitments")
                                .get(0)
                                .get("businessDayDeadline")
                                .asText())
                        .isNotBlank();
            }
        }
    }

    @Test
    void graphql_refuses_invalid_and_too_complex_queries_with_400() throws Exception {
        Response invalid = post("/graphql", ADVISOR, "{\"query\":\"{ nope }\"}");
        assertThat(invalid.status()).isEqualTo(400);
        assertThat(invalid.json().get("errors").toString()).contains("nope");
        // graphql-java quotes the input it could not read; personal values must not come back in errors.
        String literal = "mutation { append(stream: \"c-2\", events: [{type: \"Customer\", data: "
                + "{email: \"ada@example.com\", name: \"Ada Lovelace\", vip: TRUE}}]) { firstPosition } }";
        Response wrongLiteral = post("/graphql", ADVISOR, JSON.writeValueAsString(Map.of("query", literal)));
        assertThat(wrongLiteral.status()).isEqualTo(400);
        assertThat(wrongLiteral.body())
                .contains("events[0].data", "not shown")
                .doesNotContain("ada@example.com", "Ada Lovelace");
        Response unterminated = post(
                "/graphql",
                ADVISOR,
                JSON.writeValueAsString(Map.of("query", "{ events(stream: \"Ada Lovelace) { type } }")));
        assertThat(unterminated.status()).isEqualTo(400);
        assertThat(unterminated.body()).contains("line 1").doesNotContain("Lovelace");
        // (Not aliases of events: each reads a page, and more pages than a request may take is 413, before this.)
        String aliases = "{ "
                + Stream.iterate(0, i -> i + 1)
                        .limit(120)
                        .map(i -> "a" + i + ": eventTypes { name version fields { path pii } }")
                        .reduce("", (a, b) -> a + " " + b)
                + " }";
        Response complex = post("/graphql", ADVISOR, JSON.writeValueAsString(Map.of("query", aliases)));
        assertThat(complex.status()).isEqualTo(400);
        assertThat(complex.body()).containsIgnoringCase("complexity");
        // The limit counts: three aliases of 10,000 events each are too much, one is not.
        String big = "a%d: events(limit: 10000) { data metadata }";
        Response threeBig = post(
                "/graphql",
                ADVISOR,
                JSON.writeValueAsString(Map.of(
                        "query",
                        "{ " + String.format(big, 1) + " " + String.format(big, 2) + " " + String.format(big, 3)
                                + " }")));
        assertThat(threeBig.status()).isEqualTo(400);
        assertThat(threeBig.body()).containsIgnoringCase("complexity").contains("ask for a smaller limit");
        // Nor through a named fragment the aliases share: each alias counts it (it was counted once for all).
        String shared = "{ "
                + Stream.iterate(0, i -> i + 1)
                        .limit(40)
                        .map(i -> "f" + i + ": events(limit: 10000) { ...F }")
                        .reduce("", (a, b) -> a + " " + b)
                + " } fragment F on Event { data }";
        Response fragments = post("/graphql", ADVISOR, JSON.writeValueAsString(Map.of("query", shared)));
        assertThat(fragments.status()).as(fragments.body()).isEqualTo(400);
        assertThat(fragments.body()).containsIgnoringCase("complexity");
        Response twoFragments = post(
                "/graphql",
                ADVISOR,
                JSON.writeValueAsString(Map.of(
                        "query",
                        "{ a: events(limit: 100) { ...F } b: events(limit: 100) { ...F } } fragment F on Event {"
                                + " type data }")));
        assertThat(twoFragments.status()).as(twoFragments.body()).isEqualTo(200);
        assertThat(post(
                                "/graphql",
                                ADVISOR,
                                JSON.writeValueAsString(Map.of("query", "{ " + String.format(big, 1) + " }")))
                        .status())
                .isEqualTo(200);
    }

    @Test
    void schemas_subjects_projections_policy_health_metrics_and_openapi_answer() throws Exception {
        assertThat(get("/v1/schemas", ANALYST).body()).contains("CustomerRegistered", "\"pii\":true", "ContactAdded");
        Response refusedSchema = post(
                "/v1/schemas",
                ADVISOR,
                "{\"eventType\":\"Refused\",\"notation\":\"json-schema\",\"schema\":{\"type\":\"object\"}}");
        assertThat(refusedSchema.status()).isEqualTo(403);
        assertThat(refusedSchema.json().get("detail").asText()).contains("may not change-policy");
        assertThat(get("/v1/schemas", ANALYST).body()).doesNotContain("Refused");
        Response twice = post(
                "/v1/schemas",
                ADMIN,
                "{\"eventType\":\"Twice\",\"notation\":\"json-schema\",\"schema\":{\"type\":\"object\",\"properties\":"
                        + "{\"email\":{\"x-gdpr\":{\"pii\":true,\"key\":true}},\"email\":{\"type\":\"string\"}}}}");
        assertThat(twice.status()).isEqualTo(400);
        assertThat(twice.json().get("detail").asText()).contains("Duplicate field");
        assertThat(get("/v1/schemas", ANALYST).body()).doesNotContain("Twice");
        assertThat(get("/v1/audit?limit=1000", ADMIN).body())
                .contains("SchemaRegistered", "\"eventType\":\"ContactAdded\"", "\"notation\":\"JSON_SCHEMA\"");
        String someone = "someone-" + UUID.randomUUID();
        Response unknown = post("/v1/subjects", ADMIN, "{\"naturalKey\":\"" + someone + "\"}");
        assertThat(unknown.status()).as("a lookup creates nothing").isEqualTo(404);
        assertThat(unknown.json().get("detail").asText())
                .contains("the registered key fields: ", "ContactAdded.email", "CustomerRegistered.customerNumber");
        Response subject = post("/v1/subjects", ADMIN, "{\"naturalKey\":\"" + someone + "\",\"create\":true}");
        assertThat(subject.status()).isEqualTo(201);
        assertThat(subject.json().get("subject").asText()).hasSize(36);
        Response again = post("/v1/subjects", ADMIN, "{\"naturalKey\":\"" + someone + "\",\"create\":true}");
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.json().get("subject")).isEqualTo(subject.json().get("subject"));
        assertThat(post("/v1/subjects", ADMIN, "{\"naturalKey\":\"" + someone + "\"}")
                        .json()
                        .get("subject"))
                .isEqualTo(subject.json().get("subject"));
        // The subject's own id names it: no new subject, no SubjectCreated entry.
        String id = subject.json().get("subject").asText();
        Response byId = post("/v1/subjects", ADMIN, "{\"naturalKey\":\"" + id + "\",\"create\":true}");
        assertThat(byId.status()).isEqualTo(200);
        assertThat(byId.json().get("subject").asText()).isEqualTo(id);
        assertThat(byId.json().get("created").asBoolean()).isFalse();
        assertThat(byId.json().get("forgotten").asBoolean()).isFalse();
        assertThat(auditCount("SubjectCreated", id))
                .as("one SubjectCreated entry names it")
                .isEqualTo(1);
        // Each lookup that found it is audited: the create that found it, the plain lookup, the id itself.
        assertThat(auditCount("SubjectLookedUp", id)).isEqualTo(3);
        assertThat(post("/v1/subjects", ADMIN, "{\"naturalKey\":\"nobody-" + UUID.randomUUID() + "\"}")
                        .status())
                .isEqualTo(404);
        String lookupQuery = "{\"query\":\"{ subject(naturalKey: \\\"" + someone + "\\\") { id } }\"}";
        assertThat(post("/graphql", ADMIN, lookupQuery)
                        .json()
                        .path("data")
                        .path("subject")
                        .path("id")
                        .asText())
                .isEqualTo(id);
        assertThat(auditCount("SubjectLookedUp", id)).isEqualTo(4);
        assertThat(post("/graphql", ADVISOR, lookupQuery).body()).contains("may not export");
        assertThat(auditCount("SubjectLookedUp", id))
                .as("a refused lookup reveals and audits nothing")
                .isEqualTo(4);
        assertThat(post("/v1/subjects", ADMIN, "{\"naturalKey\":\"x\",\"create\":\"yes\"}")
                        .status())
                .isEqualTo(400);
        assertThat(get("/v1/audit?limit=1000", ADMIN).body())
                .contains("SubjectCreated", subject.json().get("subject").asText())
                .doesNotContain(someone);
        assertThat(post("/v1/subjects", ADVISOR, "{\"naturalKey\":\"x\"}").status())
                .isEqualTo(403);
        JsonNode projections = get("/v1/projections", ANALYST).json();
        assertThat(projections.toString()).contains("customer-summary", "sales-by-product", "data-journey");
        JsonNode sales = get("/v1/projections/sales-by-product/global", ANALYST).json();
        assertThat(sales.path("state").path("sales").toString()).contains("Global Equity Fund");
        // How fresh the state is: up to which position it folds the log, what it had yet to look at, its phase.
        long head = server.lethe().store().headPosition();
        assertThat(server.projectionRuntime().awaitPosition("sales-by-product", head, Duration.ofSeconds(30)))
                .isTrue();
        JsonNode fresh = get("/v1/projections/sales-by-product/global", ANALYST).json();
        assertThat(fresh.path("checkpoint").asLong()).isGreaterThan(head);
        assertThat(fresh.path("lag").isIntegralNumber()).isTrue();
        // The head may move after the answer (an audit entry of the read itself): at most what it is now.
        assertThat(fresh.path("lag").asLong())
                .isBetween(
                        0L,
                        Math.max(
                                0,
                                server.lethe().store().headPosition()
                                        + 1
                                        - fresh.path("checkpoint").asLong()));
        assertThat(fresh.path("phase").asText()).isIn("LIVE", "CATCHING_UP");
        Response notFound = get("/v1/projections/sales-by-product/none-such-key", ANALYST);
        assertThat(notFound.status()).isEqualTo(404);
        Response noRoute = get("/v1/none-such-route", ANALYST);
        assertThat(noRoute.status()).isEqualTo(404);
        assertThat(noRoute.json().get("title").asText()).isEqualTo("Not found");
        assertThat(noRoute.json().get("detail").asText())
                .isEqualTo("no route GET /v1/none-such-route; see /openapi.json for the API");
        assertThat(notFound.body()).doesNotContain("none-such-key");
        assertThat(get("/v1/projections/no-such-projection/global", ANALYST).body())
                .contains("projection 'no-such-projection' does not exist");
        // A read model's keys, a page at a time, for a screen that lists what it can show.
        JsonNode firstKeys =
                get("/v1/projections/customer-summary?limit=1&", ANALYST).json();
        assertThat(firstKeys.path("keys")).hasSize(1);
        String firstKey = firstKeys.path("keys").get(0).asText();
        assertThat(firstKeys.path("next").asText()).isEqualTo(firstKey);
        JsonNode secondKeys = get("/v1/projections/customer-summary?limit=1&after=" + firstKey, ANALYST)
                .json();
        assertThat(secondKeys.path("keys").get(0).asText()).isGreaterThan(firstKey);
        assertThat(get("/v1/projections/customer-summary/" + firstKey, ANALYST).status())
                .isEqualTo(200);
        assertThat(get("/v1/projections/sales-by-product", ANALYST).json().path("keys"))
                .extracting(JsonNode::asText)
                .containsExactly("global");
        assertThat(get("/v1/projections/sales-by-product", ANALYST)
                        .json()
                        .path("next")
                        .isNull())
                .isTrue();
        assertThat(get("/v1/projections/no-such-projection", ANALYST).status()).isEqualTo(404);
        assertThat(get("/v1/projections/customer-summary?from=3", ANALYST)
                        .json()
                        .get("detail")
                        .asText())
                .contains("takes 'after' and 'limit' only");
        assertThat(get("/v1/projections/customer-summary?after=a&after=b", ANALYST)
                        .json()
                        .get("detail")
                        .asText())
                .contains("'after' is given more than once");
        assertThat(get("/v1/projections/customer-summary?limit=0", ANALYST)
                        .json()
                        .get("detail")
                        .asText())
                .contains("limit", "outside 1..1000");
        JsonNode keysViaGraphQl = post(
                        "/graphql",
                        ANALYST,
                        "{\"query\":\"{ projectionKeys(name: \\\"customer-summary\\\", limit: 1) { keys next } }\"}")
                .json();
        assertThat(keysViaGraphQl
                        .path("data")
                        .path("projectionKeys")
                        .path("keys")
                        .get(0)
                        .asText())
                .isEqualTo(firstKey);
        assertThat(projections.toString()).contains("\"phase\"");
        // The demo's read models were folded from this log: each fits it, with a lag.
        assertThat(projections.findValuesAsText("fit")).isNotEmpty().containsOnly("FITS");
        assertThat(projections.findValues("lag"))
                .allSatisfy(lag -> assertThat(lag.isNumber()).isTrue());
        // Caught up, a running projection lags by nothing, though the log's last events are of other
        // categories (this test's own $audit entries) that its stored checkpoint has not passed yet.
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        JsonNode listed = projections;
        while (System.nanoTime() < deadline
                && !listed.findValuesAsText("lag").stream().allMatch("0"::equals)) {
            Thread.sleep(100);
            listed = get("/v1/projections", ANALYST).json();
        }
        assertThat(listed.findValuesAsText("lag")).as(listed.toString()).containsOnly("0");
        assertThat(post("/graphql", ANALYST, "{\"query\":\"{ projections { name fit } }\"}")
                        .json()
                        .path("data")
                        .path("projections")
                        .findValuesAsText("fit"))
                .isNotEmpty()
                .containsOnly("FITS");
        // A sale with no product or reason (no strict mode here) is counted, not a poison event that
        // stops the read model for every later one.
        long partial = server.lethe()
                .privacy()
                .append(
                        dev.lethe.core.store.StreamId.of("customer-partial"),
                        dev.lethe.core.store.ExpectedVersion.any(),
                        java.util.List.of(dev.lethe.core.store.EventData.of("ProductSold", "{\"amount\":1}")))
                .lastPosition();
        assertThat(server.projectionRuntime().awaitPosition("sales-by-product", partial, Duration.ofSeconds(30)))
                .isTrue();
        assertThat(get("/v1/projections/sales-by-product/global", ANALYST).body())
                .contains("(not given)");
        JsonNode ready = get("/health/ready", null).json();
        assertThat(ready.get("status").asText()).isEqualTo("up");
        assertThat(ready.get("failedProjections")).isEmpty();
        JsonNode viaGraphQl = post(
                        "/graphql",
                        ANALYST,
                        "{\"query\":\"{ projection(name: \\\"sales-by-product\\\", key: \\\"global\\\")"
                                + " { name key state redacted { path reason } } }\"}")
                .json();
        // Each state takes its share of the page budget before the query runs: more than a request may hold is 413.
        StringBuilder many = new StringBuilder("{\"query\":\"{");
        for (int i = 0; i < 200; i++) {
            many.append(" s")
                    .append(i)
                    .append(": projection(name: \\\"sales-by-product\\\", key: \\\"global\\\") { key }");
        }
        // A fragment that spreads itself is refused as invalid (400), not counted into a stack overflow (500).
        Response cycle = post("/graphql", ANALYST, "{\"query\":\"query { ...A } fragment A on Query { ...A }\"}");
        assertThat(cycle.status()).as(cycle.body()).isEqualTo(400);
        Response tooMany = post("/graphql", ANALYST, many.append(" }\"}").toString());
        assertThat(tooMany.status()).as(tooMany.body()).isEqualTo(413);
        assertThat(tooMany.body()).contains("reads 0 page(s) of events and 200 read-model state(s) at once");
        // The data journey is a read-model state too: as many aliases of it take as much of the budget.
        StringBuilder journeys = new StringBuilder("{\"query\":\"{");
        for (int i = 0; i < 200; i++) {
            journeys.append(" j").append(i).append(": dataJourney { events { code } }");
        }
        Response tooManyJourneys =
                post("/graphql", ANALYST, journeys.append(" }\"}").toString());
        assertThat(tooManyJourneys.status()).as(tooManyJourneys.body()).isEqualTo(413);
        assertThat(tooManyJourneys.body()).contains("reads 0 page(s) of events and 200 read-model state(s) at once");
        // Each events (or audit) field reads a page of up to 4 MiB as stored: as many aliases of it take a turn each
        // (150 of them read 600 MiB at once, and stopped the server).
        StringBuilder pages = new StringBuilder("{\"query\":\"{");
        for (int i = 0; i < 150; i++) {
            pages.append(" e").append(i).append(": events(limit: 4) { position }");
        }
        Response tooManyPages = post("/graphql", ANALYST, pages.append(" }\"}").toString());
        assertThat(tooManyPages.status()).as(tooManyPages.body()).isEqualTo(413);
        assertThat(tooManyPages.body()).contains("reads 150 page(s) of events and 0 read-model state(s) at once");
        // Fragments that spread the next one twice, 30 deep, 1 KB: a billion fields once spelt out. Refused
        // from the query's text, before any walk of it spells them out (it ran the server out of memory).
        String bomb = "{\"query\":\"{ ...F0 }" + GraphQlExpansionTest.doubling("F", 30) + "\"}";
        Response exploded = post("/graphql", ANALYST, bomb);
        assertThat(exploded.status()).as(exploded.body()).isEqualTo(400);
        assertThat(exploded.body()).contains("expands to more than 10000 fields");
        // A fragment defined twice: counted by its first definition, it would run by its last (a bomb).
        String definedTwice = "{\"query\":\"query { ...A } fragment A on Query { __typename } fragment A on Query {"
                + " ...B0 }" + GraphQlExpansionTest.doubling("B", 30) + "\"}";
        Response duplicate = post("/graphql", ANALYST, definedTwice);
        assertThat(duplicate.status()).as(duplicate.body()).isEqualTo(400);
        assertThat(duplicate.body()).contains("defines fragment A twice");
        assertThat(get("/health/live", null).status()).isEqualTo(200);
        assertThat(viaGraphQl.path("errors").isMissingNode())
                .as(viaGraphQl.toString())
                .isTrue();
        assertThat(viaGraphQl.path("data").path("projection").path("name").asText())
                .isEqualTo("sales-by-product");
        assertThat(viaGraphQl.path("data").path("projection").path("state").toString())
                .contains("Global Equity Fund");
        Response policy = get("/v1/policy", ANALYST);
        assertThat(policy.body()).as("the YAML as UTF-8").contains("groups:", "privacy.md \u00a7");
        assertThat(policy.contentType()).isEqualTo("application/yaml; charset=utf-8");
        assertThat(post("/v1/policy/check", ANALYST, "{}").status()).isEqualTo(403);
        JsonNode check = post("/v1/policy/check", ADMIN, "{}").json();
        assertThat(check.has("findings")).isTrue();
        assertThat(check.path("streamsChecked").asLong()).isPositive();
        assertThat(check.path("findingsTotal").asLong())
                .isEqualTo(check.path("findings").size());
        assertThat(post("/v1/policy/check?streams=false", ADMIN, "{}")
                        .json()
                        .path("streamsChecked")
                        .asLong())
                .isZero();
        assertThat(post("/v1/policy/check?streams=maybe", ADMIN, "{}").status()).isEqualTo(400);
        assertThat(get("/health", null).json().get("ready").asBoolean()).isTrue();
        // Made-up methods, which need no token, add no metric series each, nor their names to the log.
        for (String method : List.of("MADEUP1", "MADEUP2")) {
            Response madeUp = send(HttpRequest.newBuilder(URI.create(base + "/v1/streams/x/events"))
                    .method(method, HttpRequest.BodyPublishers.noBody()));
            assertThat(madeUp.status()).isBetween(400, 499);
            assertThat(madeUp.body()).doesNotContain(method).doesNotContain("OTHER");
        }
        // Refused before its handler ran (no token): counted under its route, as answered requests are.
        java.util.regex.Pattern stateCount = java.util.regex.Pattern.compile(
                "lethe_http_request_seconds_count\\{route=\"GET /v1/projections/\\{name}/\\{key}\"} (\\d+)");
        java.util.regex.Matcher before =
                stateCount.matcher(get("/metrics", null).body());
        long stateRequestsBefore = before.find() ? Long.parseLong(before.group(1)) : 0;
        assertThat(get("/v1/projections/metrics-probe/key", null).status()).isEqualTo(401);
        java.util.regex.Matcher after = stateCount.matcher(get("/metrics", null).body());
        assertThat(after.find()).isTrue();
        assertThat(Long.parseLong(after.group(1))).isEqualTo(stateRequestsBefore + 1);
        assertThat(get("/metrics", null).body())
                .contains("lethe_appends_total", "lethe_key_cache_hits", "lethe_http_request_seconds_count")
                // Counters kept by the key cache are typed as counters, so rate() works on them.
                .contains("# TYPE lethe_key_cache_hits_total counter", "# TYPE lethe_key_cache_misses_total counter")
                .contains("lethe_period_keys_destroyed_total ")
                .contains("lethe_http_responses_total{status=\"4xx\"}", "lethe_data_free_bytes ")
                .contains("OTHER ")
                .doesNotContain("MADEUP")
                // Readiness as numbers, and a HELP line for every series.
                .contains("lethe_ready 1\n", "lethe_projections_failed 0\n", "lethe_retention_held 0\n")
                .contains("lethe_projection_lag_events_max ", "lethe_subject_index_lag_events ")
                .contains("# HELP lethe_ready ", "# HELP lethe_appends_total ", "# HELP lethe_http_request_seconds ")
                .doesNotContain("NaN")
                // Request times as a histogram (for quantiles), and the process and JVM under their usual names.
                .contains("# TYPE lethe_http_request_seconds histogram\n")
                .containsPattern("lethe_http_request_seconds_bucket\\{route=\"GET /health\",le=\"0.005\"} \\d+\n")
                .containsPattern("lethe_http_request_seconds_bucket\\{route=\"GET /health\",le=\"\\+Inf\"} [1-9]")
                .containsPattern("\nprocess_cpu_seconds_total [0-9.E]+\n")
                .containsPattern("\nprocess_open_fds [1-9][0-9]*\n")
                .containsPattern("\njvm_memory_used_bytes\\{area=\"heap\"} [1-9][0-9]*\n")
                .containsPattern("\njvm_threads_current [1-9][0-9]*\n")
                .contains("# TYPE jvm_gc_collection_seconds summary\n", "jvm_gc_collection_seconds_count{gc=\"");
        // Cumulative buckets: each one counts at least the requests of the one before, +Inf all of them.
        java.util.regex.Matcher bucket = java.util.regex.Pattern.compile(
                        "lethe_http_request_seconds_bucket\\{route=\"GET /health\",le=\"[^\"]+\"} (\\d+)")
                .matcher(get("/metrics", null).body());
        long previous = 0;
        int buckets = 0;
        while (bucket.find()) {
            long cumulated = Long.parseLong(bucket.group(1));
            assertThat(cumulated).isGreaterThanOrEqualTo(previous);
            previous = cumulated;
            buckets++;
        }
        assertThat(buckets).isEqualTo(Metrics.BUCKETS.length + 1);
        String exposition = get("/metrics", null).body();
        exposition
                .lines()
                .filter(line -> line.startsWith("# TYPE "))
                .map(line -> line.split(" ")[2])
                .forEach(series -> assertThat(exposition).as(series).contains("# HELP " + series + " "));
        JsonNode openApi = get("/openapi.json", null).json();
        assertThat(openApi.path("paths").has("/v1/streams/{stream}/events")).isTrue();
        // Every operation says what it answers; each that needs a token says 401, and is in fact refused without.
        for (var path : (Iterable<java.util.Map.Entry<String, JsonNode>>)
                () -> openApi.path("paths").fields()) {
            for (var op : (Iterable<java.util.Map.Entry<String, JsonNode>>)
                    () -> path.getValue().fields()) {
                JsonNode operation = op.getValue();
                String where = op.getKey() + " " + path.getKey();
                assertThat(operation.path("responses").size()).as(where).isPositive();
                boolean open =
                        operation.has("security") && operation.path("security").isEmpty();
                assertThat(operation.path("responses").has("401")).as(where).isEqualTo(!open);
                if (op.getKey().equals("get") && !path.getKey().contains("{")) {
                    int status = get(path.getKey(), null).status();
                    assertThat(status == 401).as(where + " answered " + status).isEqualTo(!open);
                }
            }
        }
        assertThat(get("/graphql", null).body()).contains("type Query");
        // A client set to send queries by GET would have taken the schema for its answer.
        for (String parameter : List.of("query=%7B%20events%20%7B%20position%20%7D%20%7D", "extensions=%7B%7D")) {
            Response byGet = get("/graphql?" + parameter, ADVISOR);
            assertThat(byGet.status()).as(parameter).isEqualTo(400);
            assertThat(byGet.json().get("detail").asText()).contains("sent by POST");
        }
    }

    @Test
    void sse_delivers_events_with_their_position_as_id_and_resumes_after_last_event_id_with_no_gap() throws Exception {
        String stream = "sse-" + UUID.randomUUID().toString().substring(0, 8);
        for (int i = 0; i < 6; i++) {
            post(
                    "/v1/streams/" + stream + "/events",
                    ADVISOR,
                    "{\"events\":[{\"type\":\"Tick\",\"data\":{\"i\":" + i + "}}]}");
        }
        long first = server.lethe()
                .store()
                .streamInfo(dev.lethe.core.store.StreamId.of(stream))
                .eventCount();
        Response notAStream = get("/v1/subscribe?category=sse&from=0", ADVISOR);
        assertThat(notAStream.status()).as("without Accept: text/event-stream").isEqualTo(406);
        long past = server.lethe().store().headPosition() + 10;
        Response pastTheHead = send(HttpRequest.newBuilder(URI.create(base + "/v1/subscribe?from=" + past))
                .header("Authorization", "Bearer " + ADVISOR)
                .header("Accept", "text/event-stream"));
        assertThat(pastTheHead.status()).isEqualTo(400);
        assertThat(pastTheHead.json().get("detail").asText()).contains("from " + past + " is past the log's head");
        List<Long> firstIds = readSse("/v1/subscribe?category=sse&from=0", null, 3);
        List<Long> resumed = readSse("/v1/subscribe?category=sse", Long.toString(firstIds.get(2)), 3);
        assertThat(first).isEqualTo(6);
        List<Long> all = new ArrayList<>(firstIds);
        all.addAll(resumed);
        List<Long> positions = server.lethe().store().readCategory("sse", 0, 100).stream()
                .map(dev.lethe.core.store.RecordedEvent::position)
                .toList();
        assertThat(all).containsExactlyElementsOf(positions.subList(0, 6));
        // The id names the event too: a reconnect with it resumes where a bare position would...
        List<String> ids = readSseIds("/v1/subscribe?category=sse&from=0", null, 3);
        dev.lethe.core.store.RecordedEvent third =
                server.lethe().store().readAll(firstIds.get(2), 1).get(0);
        assertThat(ids.get(2))
                .startsWith(firstIds.get(2) + ":" + third.id() + ":"
                        + third.recordedAt().getEpochSecond() + ".");
        assertThat(readSse("/v1/subscribe?category=sse", ids.get(2), 3)).isEqualTo(resumed);
        // ...unless the log holds another event at that position (restored from an older copy): 409, not a gap.
        String elsewhere = firstIds.get(2) + ":" + UUID.randomUUID();
        Response restored = send(HttpRequest.newBuilder(URI.create(base + "/v1/subscribe?category=sse"))
                .header("Authorization", "Bearer " + ADVISOR)
                .header("Accept", "text/event-stream")
                .header("Last-Event-ID", elsewhere));
        assertThat(restored.status()).isEqualTo(409);
        assertThat(restored.json().get("detail").asText()).contains("this log holds another event there");
        // The same client-chosen id appended again at that position of a restored log is told apart by its instant.
        Response retried = send(HttpRequest.newBuilder(URI.create(base + "/v1/subscribe?category=sse"))
                .header("Authorization", "Bearer " + ADVISOR)
                .header("Accept", "text/event-stream")
                .header("Last-Event-ID", firstIds.get(2) + ":" + third.id() + ":1.000000000"));
        assertThat(retried.status()).isEqualTo(409);
        assertThat(retried.json().get("detail").asText())
                .contains(
                        "an event of that id recorded at another instant",
                        "subscribe again to ?category=sse with ?from=");
        // Past the head, a checked id is a conflict as for ?after= (a 409), and before the log it names nothing.
        long head = server.lethe().store().headPosition();
        Response ahead = send(HttpRequest.newBuilder(URI.create(base + "/v1/subscribe?category=sse"))
                .header("Authorization", "Bearer " + ADVISOR)
                .header("Accept", "text/event-stream")
                .header("Last-Event-ID", (head + 5) + ":" + third.id() + ":1.000000000"));
        assertThat(ahead.status()).isEqualTo(409);
        assertThat(ahead.json().get("detail").asText()).contains("does not hold");
        Response before = send(HttpRequest.newBuilder(URI.create(base + "/v1/subscribe?category=sse"))
                .header("Authorization", "Bearer " + ADVISOR)
                .header("Accept", "text/event-stream")
                .header("Last-Event-ID", "-1:" + third.id()));
        assertThat(before.status()).isEqualTo(400);
        assertThat(before.json().get("detail").asText()).contains("Last-Event-ID", "not a position");
    }

    @Test
    void log_pages_carry_a_next_cursor_that_goes_on_after_the_last_event_only_while_the_log_still_holds_it()
            throws Exception {
        String category = "pages" + UUID.randomUUID().toString().substring(0, 8);
        for (int i = 0; i < 5; i++) {
            post(
                    "/v1/streams/" + category + "-1/events",
                    ADVISOR,
                    "{\"events\":[{\"type\":\"Tick\",\"data\":{\"i\":" + i + "}}]}");
        }
        Response first = get("/v1/events?category=" + category + "&limit=3", ADVISOR);
        assertThat(first.status()).as(first.body()).isEqualTo(200);
        JsonNode page = first.json();
        assertThat(page.get("events")).hasSize(3);
        JsonNode last = page.get("events").get(2);
        String next = page.get("next").asText();
        assertThat(next)
                .startsWith(last.get("position").asLong() + ":" + last.get("id").asText() + ":");

        JsonNode second = get("/v1/events?category=" + category + "&limit=3&after=" + next, ADVISOR)
                .json();
        assertThat(second.get("events"))
                .extracting(e -> e.get("data").get("i").asInt())
                .containsExactly(3, 4);
        // The end of the log: no events, no next (keep the cursor and ask again later).
        JsonNode end = get(
                        "/v1/events?category=" + category + "&after="
                                + second.get("next").asText(),
                        ADVISOR)
                .json();
        assertThat(end.get("events")).isEmpty();
        assertThat(end.has("next")).isFalse();

        // Another event at that position (a log restored from an older copy, another store): 409, not a gap.
        String position = next.substring(0, next.indexOf(':'));
        Response elsewhere = get(
                "/v1/events?category=" + category + "&after=" + position + ":" + UUID.randomUUID() + ":1.000000000",
                ADVISOR);
        assertThat(elsewhere.status()).isEqualTo(409);
        assertThat(elsewhere.json().get("detail").asText())
                .contains("after names event", "this log holds another event there", "read on with ?from=");
        Response past =
                get("/v1/events?after=" + Long.MAX_VALUE / 2 + ":" + UUID.randomUUID() + ":1.000000000", ADVISOR);
        assertThat(past.status()).isEqualTo(409);
        assertThat(past.json().get("detail").asText()).contains("which this log (head ");
        assertThat(get("/v1/events?after=" + position, ADVISOR)
                        .json()
                        .get("detail")
                        .asText())
                .contains("is not a cursor");
        assertThat(get("/v1/events?after=-1:" + UUID.randomUUID() + ":1.000000000", ADVISOR)
                        .status())
                .isEqualTo(400);
        assertThat(get("/v1/events?from=0&after=" + next, ADVISOR)
                        .json()
                        .get("detail")
                        .asText())
                .contains("give from or after, not both");
        assertThat(get("/v1/events?after=" + position + ":not-a-uuid:1.000000000", ADVISOR)
                        .status())
                .isEqualTo(400);
        // A bare from past the head's next (kept from before a restore, another store's): 400, as a subscription's.
        long head = server.lethe().store().headPosition();
        assertThat(get("/v1/events?from=" + (head + 1), ADVISOR).status()).isEqualTo(200);
        Response pastHead = get("/v1/events?from=" + (head + 5), ADVISOR);
        assertThat(pastHead.status()).isEqualTo(400);
        assertThat(pastHead.json().get("detail").asText())
                .contains((head + 5) + " is past the log's head (" + head + "): read from at most " + (head + 1));
        Response graphqlPast =
                post("/graphql", ADVISOR, "{\"query\":\"{ events(from: " + (head + 5) + ") { position } }\"}");
        assertThat(graphqlPast.status()).isEqualTo(400);
        assertThat(graphqlPast.body()).contains("is past the log's head");
        assertThat(post("/graphql", ADVISOR, "{\"query\":\"{ events(from: " + (head + 1) + ") { position } }\"}")
                        .status())
                .isEqualTo(200);
    }

    @Test
    void a_schema_version_that_stops_encrypting_a_field_says_so_in_its_answer() throws Exception {
        String v1 = "{\"eventType\":\"Declassified\",\"schema\":{\"type\":\"object\",\"properties\":{"
                + "\"id\":{\"type\":\"string\",\"x-gdpr\":{\"key\":true,\"pii\":false}},"
                + "\"remarks\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true,\"dataGroup\":\"contact\"}}}}}";
        // Two events of the type stored before its first schema (lenient mode): what they hold stays as written.
        for (int i = 0; i < 2; i++) {
            assertThat(post(
                                    "/v1/streams/declassified-" + i + "/events",
                                    ADVISOR,
                                    "{\"events\":[{\"type\":\"Declassified\",\"data\":{\"id\":\"d" + i + "\"}}]}")
                            .status())
                    .isEqualTo(201);
        }
        Response first = post("/v1/schemas", ADMIN, v1);
        assertThat(first.status()).as(first.body()).isEqualTo(201);
        assertThat(first.json().get("noLongerPersonal")).isEmpty();
        assertThat(first.json().get("storedWithoutSchema").get("events").asInt())
                .isEqualTo(2);
        assertThat(first.json().get("storedWithoutSchema").get("warning").asText())
                .contains("but 2 event(s) of Declassified in the log were stored before it had a schema");
        String v2 = v1.replace(",\"x-gdpr\":{\"pii\":true,\"dataGroup\":\"contact\"}", "");
        Response unasked = post("/v1/schemas", ADMIN, v2);
        assertThat(unasked.status()).as(unasked.body()).isEqualTo(400);
        assertThat(unasked.json().get("detail").asText()).contains("would no longer encrypt [remarks]");
        Response second =
                post("/v1/schemas", ADMIN, v2.replace("{\"eventType\"", "{\"declassify\":[\"remarks\"],\"eventType\""));
        assertThat(second.status()).as(second.body()).isEqualTo(201);
        assertThat(second.json().get("version").asInt()).isEqualTo(2);
        assertThat(second.json().get("noLongerPersonal").toString()).isEqualTo("[\"remarks\"]");
        assertThat(second.json().has("keyFieldsChanged")).isFalse();
        String v3 = v1.replace(
                "\"id\":{\"type\":\"string\",\"x-gdpr\":{\"key\":true,\"pii\":false}}",
                "\"id\":{\"type\":\"string\"},\"ref\":{\"type\":\"string\",\"x-gdpr\":{\"key\":true,\"pii\":false}}");
        Response rekeyed = post("/v1/schemas", ADMIN, v3);
        assertThat(rekeyed.status()).as(rekeyed.body()).isEqualTo(201);
        JsonNode change = rekeyed.json().get("keyFieldsChanged");
        assertThat(change.get("before").toString()).isEqualTo("[\"id\"]");
        assertThat(change.get("after").toString()).isEqualTo("[\"ref\"]");
        assertThat(change.get("warning").asText()).contains("is two subjects");
        assertThat(rekeyed.json().has("classificationChanged")).isFalse();
        // A personal field moved to another data group: its stored values stay in the old one.
        Response regrouped =
                post("/v1/schemas", ADMIN, v3.replace("\"dataGroup\":\"contact\"", "\"dataGroup\":\"identity\""));
        assertThat(regrouped.status()).as(regrouped.body()).isEqualTo(201);
        JsonNode moved = regrouped.json().get("classificationChanged");
        assertThat(moved.get("fields").toString())
                .isEqualTo("[{\"path\":\"remarks\",\"groupBefore\":\"contact\",\"group\":\"identity\","
                        + "\"ownerBefore\":\"ref\",\"owner\":\"ref\"}]");
        assertThat(moved.get("warning").asText())
                .contains("(remarks: contact -> identity)", "values stored before stay");
        // The library's warning is a JSON line of the server's log, not a plain line among them.
        assertThat(logs.toString(StandardCharsets.UTF_8).lines())
                .filteredOn(line -> line.contains("no longer classifies as personal [remarks]"))
                .singleElement()
                .satisfies(
                        line -> assertThat(Hub.JSON.readTree(line).get("level").asText())
                                .isEqualTo("warn"))
                .satisfies(
                        line -> assertThat(Hub.JSON.readTree(line).get("logger").asText())
                                .isEqualTo("dev.lethe.core.privacy.PrivateEventStore"));
    }

    @Test
    void head_is_refused_but_on_health_and_graphql_long_variables_are_taken_exactly() throws Exception {
        // Jetty answered HEAD of any GET route 200 without running it: no token, no permission checked.
        HttpResponse<String> head = http.send(
                HttpRequest.newBuilder(URI.create(base + "/v1/subjects/" + UUID.randomUUID() + "/export"))
                        .method("HEAD", HttpRequest.BodyPublishers.noBody())
                        .header("Authorization", "Bearer " + ANALYST)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(head.statusCode()).isEqualTo(405);
        assertThat(head.headers().firstValue("Allow")).contains("GET");
        HttpResponse<String> nowhere = http.send(
                HttpRequest.newBuilder(URI.create(base + "/v1/none-such-route"))
                        .method("HEAD", HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(nowhere.statusCode()).as("a path no route takes").isEqualTo(404);
        // Run as GET (Jetty answered 200 text/plain without running it, a server down included).
        HttpResponse<String> probe = http.send(
                HttpRequest.newBuilder(URI.create(base + "/health/ready"))
                        .method("HEAD", HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(probe.statusCode()).isEqualTo(200);
        assertThat(probe.headers().firstValue("Content-Type"))
                .hasValueSatisfying(type -> assertThat(type).startsWith("application/json"));
        assertThat(probe.body()).isEmpty();
        for (String open : List.of("/metrics", "/openapi.json")) {
            HttpResponse<String> headOfOpen = http.send(
                    HttpRequest.newBuilder(URI.create(base + open))
                            .method("HEAD", HttpRequest.BodyPublishers.noBody())
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(headOfOpen.statusCode()).as(open).isEqualTo(200);
            assertThat(headOfOpen.body()).isEmpty();
        }
        // The router takes /metrics/ as /metrics: it needs no token either.
        HttpResponse<String> slashed = http.send(
                HttpRequest.newBuilder(URI.create(base + "/metrics/")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(slashed.statusCode()).isEqualTo(200);
        assertThat(slashed.body()).contains("lethe_appends_total");
        // Small pages of events share a turn: four fields of limit 1 are one page, not four.
        Response small = post(
                "/graphql",
                ADVISOR,
                "{\"query\":\"{ a: events(limit: 1) { position } b: events(limit: 1) { position }"
                        + " c: events(limit: 1) { position } d: audit(limit: 1) { position } }\"}");
        assertThat(small.status()).as(small.body()).isEqualTo(200);
        // A field answered null without an error was answered: a 200 beside a failing one.
        Response partly = post(
                "/graphql",
                ADMIN,
                "{\"query\":\"{ subject(naturalKey: \\\"nobody@example.com\\\") { id }"
                        + " projection(name: \\\"nosuch\\\", key: \\\"x\\\") { key } }\"}");
        assertThat(partly.status()).as(partly.body()).isEqualTo(200);
        // A Long variable is a whole number in range, as a literal must be: 1.9 was read as 1, 2^64 + 1 as 1.
        for (String from : List.of("1.9", "18446744073709551617")) {
            Response refused = post(
                    "/graphql",
                    ADVISOR,
                    "{\"query\":\"query($f: Long) { events(from: $f, limit: 1) { position } }\",\"variables\":{\"f\":"
                            + from + "}}");
            assertThat(refused.status()).as(from).isEqualTo(400);
            assertThat(refused.body()).contains("Variable 'f' has an invalid value: its type is Long (the value");
            assertThat(firstErrorCode(refused)).isEqualTo("BAD_USER_INPUT");
        }
        Response exact = post(
                "/graphql",
                ADVISOR,
                "{\"query\":\"query($f: Long) { events(from: $f, limit: 1) { position } }\",\"variables\":{\"f\":1e0}}");
        assertThat(exact.status()).as(exact.body()).isEqualTo(200);
    }

    @Test
    void an_sse_stream_with_nothing_to_send_yet_answers_its_headers_at_once() throws Exception {
        // Not with the first event or keep-alive, up to 15 s away: a client (an EventSource's onopen, a proxy's
        // header timeout) knows at once that it is subscribed.
        long started = System.nanoTime();
        HttpResponse<Stream<String>> response = http.send(
                HttpRequest.newBuilder(URI.create(base + "/v1/subscribe"))
                        .header("Authorization", "Bearer " + ADVISOR)
                        .header("Accept", "text/event-stream")
                        .timeout(Duration.ofSeconds(30))
                        .build(),
                HttpResponse.BodyHandlers.ofLines());
        long millis = (System.nanoTime() - started) / 1_000_000;
        response.body().close();
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(millis).as("headers after %d ms", millis).isLessThan(10_000);
    }

    @Test
    void an_sse_stream_opened_with_a_jwt_ends_when_the_jwt_expires() throws Exception {
        String category = "jwtexp" + UUID.randomUUID().toString().substring(0, 8);
        post("/v1/streams/" + category + "-1/events", ADVISOR, "{\"events\":[{\"type\":\"Tick\",\"data\":{}}]}");
        // Room for the stream's opening and its first event on a loaded machine (5 s was tight for a stall).
        long exp = java.time.Instant.now().getEpochSecond() + 12;
        String token = JwtVerifierTest.hs256(
                "{\"sub\":\"sse-reader\",\"roles\":[\"advisor\"],\"exp\":" + exp + "}", JwtVerifierTest.SECRET);
        HttpResponse<Stream<String>> response = http.send(
                HttpRequest.newBuilder(URI.create(base + "/v1/subscribe?category=" + category + "&from=0"))
                        .header("Authorization", "Bearer " + token)
                        .header("Accept", "text/event-stream")
                        .timeout(Duration.ofSeconds(30))
                        .build(),
                HttpResponse.BodyHandlers.ofLines());
        assertThat(response.statusCode()).isEqualTo(200);
        List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.CompletableFuture<Void> ended = java.util.concurrent.CompletableFuture.runAsync(() -> {
            try (Stream<String> body = response.body()) {
                body.forEach(lines::add);
            }
        });
        // Appended once the token has expired: never delivered on its stream.
        while (java.time.Instant.now().getEpochSecond() <= exp) {
            Thread.sleep(100);
        }
        post("/v1/streams/" + category + "-2/events", ADVISOR, "{\"events\":[{\"type\":\"Tick\",\"data\":{}}]}");
        ended.get(20, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(lines).filteredOn(line -> line.startsWith("id:")).hasSize(1);
        assertThat(lines).anyMatch(line -> line.contains("the token has expired"));
    }

    @Test
    void what_the_http_server_refuses_before_the_api_is_a_problem_too_not_an_html_page() throws Exception {
        for (String path : List.of("/v1/streams/customer-%ff%fe", "/health/..;/v1/events")) {
            Response refused = get(path, ADVISOR);
            assertThat(refused.status()).as(path).isEqualTo(400);
            assertThat(refused.contentType()).as(path).startsWith(LetheServer.PROBLEM_JSON);
            assertThat(refused.json().get("detail").asText())
                    .as(path)
                    .isNotBlank()
                    .doesNotContain("<");
        }
    }

    @Test
    void one_principal_sending_bodies_a_byte_at_a_time_cannot_hold_every_thread_of_the_server() throws Exception {
        String slow =
                JwtVerifierTest.hs256("{\"sub\":\"slow-sender\",\"roles\":[\"analyst\"]}", JwtVerifierTest.SECRET);
        int port = server.port();
        List<java.net.Socket> held = new ArrayList<>();
        try {
            // Headers sent, the body promised and never sent: each request holds a thread reading it.
            for (int i = 0; i < LetheServer.MAX_IN_FLIGHT_PER_PRINCIPAL; i++) {
                java.net.Socket socket = new java.net.Socket("127.0.0.1", port);
                socket.getOutputStream()
                        .write(("POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + slow
                                        + "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
                                .getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                held.add(socket);
            }
            // Once all are in progress (the metric says so; no request of ours may take a place meanwhile),
            // the next one of that principal is refused at once; other principals and health probes get in.
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            String inProgress = "lethe_requests_in_progress " + LetheServer.MAX_IN_FLIGHT_PER_PRINCIPAL + "\n";
            while (!get("/metrics", null).body().contains(inProgress) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(get("/metrics", null).body()).contains(inProgress);
            Response refused = post("/graphql", slow, "{\"query\":\"{ __typename }\"}");
            assertThat(refused.status()).as(refused.body()).isEqualTo(429);
            assertThat(refused.body())
                    .contains("principal slow-sender has " + LetheServer.MAX_IN_FLIGHT_PER_PRINCIPAL
                            + " requests in progress");
            assertThat(post("/graphql", ANALYST, "{\"query\":\"{ __typename }\"}")
                            .status())
                    .isEqualTo(200);
            assertThat(get("/health/live", null).status()).isEqualTo(200);
        } finally {
            for (java.net.Socket socket : held) {
                socket.close();
            }
        }
        // Cut off, the held requests end and give their places back.
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        Response again;
        do {
            again = post("/graphql", slow, "{\"query\":\"{ __typename }\"}");
        } while (again.status() == 429 && System.nanoTime() < deadline);
        assertThat(again.status()).as(again.body()).isEqualTo(200);
    }

    @Test
    void one_principal_cannot_hold_every_event_stream_of_the_server() throws Exception {
        String hog = JwtVerifierTest.hs256("{\"sub\":\"sse-hog\",\"roles\":[\"analyst\"]}", JwtVerifierTest.SECRET);
        // Bodies read as streams: a stream admitted by mistake would otherwise never end, and hang the test.
        java.util.function.Supplier<java.util.concurrent.CompletableFuture<HttpResponse<java.io.InputStream>>>
                subscribe = () -> http.sendAsync(
                HttpRequest.newBuilder(URI.create(base + "/v1/subscribe"))
                        .header("Authorization", "Bearer " + hog)
                        .header("Accept", "text/event-stream")
                        .build(),
                HttpResponse.BodyHandlers.ofInputStream());
        List<java.io.InputStream> open = new ArrayList<>();
        try {
            int few = 6;
            for (int i = 0; i < LetheServer.MAX_SUBSCRIPTIONS_PER_PRINCIPAL - few; i++) {
                HttpResponse<java.io.InputStream> stream =
                        subscribe.get().get(30, java.util.concurrent.TimeUnit.SECONDS);
                open.add(stream.body());
                assertThat(stream.statusCode()).as("stream " + i).isEqualTo(200);
            }
            // Twice as many as the slots left, all at once: as many get in as there are slots, no more (a slot is
            // taken as it is checked, so requests that arrive together cannot all pass the check).
            List<java.util.concurrent.CompletableFuture<HttpResponse<java.io.InputStream>>> together =
                    new ArrayList<>();
            for (int i = 0; i < 2 * few; i++) {
                together.add(subscribe.get());
            }
            int admitted = 0;
            for (var each : together) {
                HttpResponse<java.io.InputStream> answer = each.get(30, java.util.concurrent.TimeUnit.SECONDS);
                open.add(answer.body());
                assertThat(answer.statusCode()).isIn(200, 429);
                admitted += answer.statusCode() == 200 ? 1 : 0;
            }
            assertThat(admitted).isEqualTo(few);
            HttpResponse<java.io.InputStream> refused = subscribe.get().get(30, java.util.concurrent.TimeUnit.SECONDS);
            open.add(refused.body());
            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(new String(refused.body().readAllBytes(), StandardCharsets.UTF_8))
                    .contains("principal sse-hog has " + LetheServer.MAX_SUBSCRIPTIONS_PER_PRINCIPAL
                            + " event streams open");
            // Others still get theirs.
            assertThat(readSseIds("/v1/subscribe?from=0", null, 1)).hasSize(1);
        } finally {
            for (java.io.InputStream stream : open) {
                stream.close();
            }
        }
    }

    private List<Long> readSse(String path, String lastEventId, int count) throws Exception {
        return readSseIds(path, lastEventId, count).stream()
                .map(id -> Long.parseLong(id.substring(0, id.indexOf(':'))))
                .toList();
    }

    /** The SSE ids of the first {@code count} events: "position:event id". */
    private List<String> readSseIds(String path, String lastEventId, int count) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
                .header("Authorization", "Bearer " + ADVISOR)
                .header("Accept", "text/event-stream")
                .timeout(Duration.ofSeconds(30));
        if (lastEventId != null) {
            request.header("Last-Event-ID", lastEventId);
        }
        HttpResponse<Stream<String>> response = http.send(request.build(), HttpResponse.BodyHandlers.ofLines());
        assertThat(response.statusCode()).isEqualTo(200);
        List<String> ids = new ArrayList<>();
        try (Stream<String> lines = response.body()) {
            Iterator<String> it = lines.iterator();
            while (ids.size() < count && it.hasNext()) {
                String line = it.next();
                if (line.startsWith("id:")) {
                    ids.add(line.substring(3).trim());
                }
            }
        }
        return ids;
    }

    @Test
    void a_signed_jwt_authenticates_with_its_roles_claim_and_a_bad_one_gets_401() throws Exception {
        String token =
                JwtVerifierTest.hs256("{\"sub\":\"jwt-analyst\",\"roles\":[\"analyst\"]}", JwtVerifierTest.SECRET);
        assertThat(get("/v1/schemas", token).status()).isEqualTo(200);
        Response forbidden = post("/v1/subjects", token, "{\"naturalKey\":\"x\"}");
        assertThat(forbidden.status()).isEqualTo(403);
        assertThat(forbidden.json().get("detail").asText()).contains("jwt-analyst");
        // A role the data policy does not declare may read (personal fields restricted) but not write.
        String stranger =
                JwtVerifierTest.hs256("{\"sub\":\"jwt-stranger\",\"roles\":[\"superuser\"]}", JwtVerifierTest.SECRET);
        long head = server.lethe().store().headPosition();
        Response write = post(
                "/v1/streams/stranger-1/events",
                stranger,
                "{\"events\":[{\"type\":\"ContactAdded\",\"data\":{\"email\":\"s@example.com\"}}]}");
        assertThat(write.status()).isEqualTo(403);
        assertThat(write.json().get("detail").asText()).contains("role 'superuser' is not declared");
        // The request's log line names whose token it was (it said "-").
        assertThat(logs.toString(StandardCharsets.UTF_8))
                .contains("\"principal\":\"jwt-stranger\",\"refused\":\"role not in the data policy\"");
        Response graphQlWrite = post(
                "/graphql",
                stranger,
                "{\"query\":\"mutation { append(stream: \\\"stranger-1\\\", events: [{type: \\\"A\\\", data: {}}])"
                        + " { firstPosition } }\"}");
        assertThat(graphQlWrite.body()).contains("is not declared in the data policy");
        assertThat(graphQlWrite.status()).isEqualTo(403);
        assertThat(server.lethe().store().headPosition()).isEqualTo(head);
        assertThat(server.lethe().privacy().keys().lookup("s@example.com")).isEmpty();
        String expired = JwtVerifierTest.hs256("{\"sub\":\"x\",\"roles\":[\"dpo\"],\"exp\":1}", JwtVerifierTest.SECRET);
        HttpResponse<String> expiredAnswer = http.send(
                HttpRequest.newBuilder(URI.create(base + "/v1/schemas"))
                        .header("Authorization", "Bearer " + expired)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(expiredAnswer.statusCode()).isEqualTo(401);
        assertThat(expiredAnswer.headers().firstValue("WWW-Authenticate")).contains("Bearer error=\"invalid_token\"");
        // A signed JWT whose subject is a static token's principal: refused, not taken for it in the trail.
        String lookalike =
                JwtVerifierTest.hs256("{\"sub\":\"demo-admin\",\"roles\":[\"analyst\"]}", JwtVerifierTest.SECRET);
        Response impostor = get("/v1/schemas", lookalike);
        assertThat(impostor.status()).isEqualTo(401);
        assertThat(impostor.json().get("detail").asText()).contains("names a principal a static token");
        // Spelt with other case or a space, or as Lethe's own principals: the same.
        // Also with a no-break or figure space, or in full-width letters.
        for (String sub : List.of(
                "Demo-Admin ",
                "lethe",
                "retention-scheduler",
                "demo-admin\\u00a0",
                "lethe\\u2007",
                "\\uff4c\\uff45the",
                // The command line's principal without --user or $USER, and the demo's loader; and a static
                // principal followed by a character that shows nothing (a combining grapheme joiner).
                "cli",
                "demo-dpo",
                "demo-admin\\u034f")) {
            String spelt =
                    JwtVerifierTest.hs256("{\"sub\":\"" + sub + "\",\"roles\":[\"analyst\"]}", JwtVerifierTest.SECRET);
            assertThat(get("/v1/schemas", spelt).status()).as(sub).isEqualTo(401);
        }
        // A Latin name with a Cyrillic letter in it (a look-alike of a static token's principal): refused too.
        Response mixed = get(
                "/v1/schemas",
                JwtVerifierTest.hs256(
                        "{\"sub\":\"demo-\\u0430dmin\",\"roles\":[\"analyst\"]}", JwtVerifierTest.SECRET));
        assertThat(mixed.status()).isEqualTo(401);
        assertThat(mixed.json().get("detail").asText()).contains("mixes Latin letters with Cyrillic or Greek");
        // Two Authorization headers: which one would a proxy in front have checked? Refused, whatever the order.
        HttpResponse<String> twice = http.send(
                HttpRequest.newBuilder(URI.create(base + "/v1/schemas"))
                        .header("Authorization", "Bearer " + ADMIN)
                        .header("Authorization", "Bearer nonsense")
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(twice.statusCode()).isEqualTo(400);
        assertThat(twice.body()).contains("send one Authorization header, not several");
        String forged = JwtVerifierTest.hs256("{\"sub\":\"x\",\"roles\":[\"dpo\"]}", JwtVerifierTest.SECRET + "!");
        Response refused = get("/v1/schemas", forged);
        assertThat(refused.status()).isEqualTo(401);
        assertThat(refused.json().get("detail").asText()).contains("signature");
    }
}
