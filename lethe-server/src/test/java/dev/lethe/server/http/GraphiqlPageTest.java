package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The GraphiQL page offers the demo tokens only where the server accepts them. */
class GraphiqlPageTest {
    @TempDir
    Path data;

    private static String page(ServerConfig config) throws Exception {
        try (LetheServer server = LetheServer.start(
                config,
                new LetheServer.JsonLogTarget(
                        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)))) {
            return HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/graphiql"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
        }
    }

    @Test
    void outside_demo_mode_the_page_offers_no_demo_token() throws Exception {
        ServerConfig plain = ServerConfig.load(null, Map.of()).withData(data).withPort(0);
        assertThat(page(plain)).contains("placeholder=\"your bearer token\"").doesNotContain("demo-advisor-token");
        assertThat(page(plain.withDemo())).contains("value=\"demo-advisor-token\"");
    }
}
