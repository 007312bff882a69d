package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * GraphiQL in a real browser, offline: Debian's headless Chromium loads {@code /graphiql?run=eventJourney}
 * from a demo server on 127.0.0.1, the page (served only from the vendored assets) renders GraphiQL, runs the
 * seed's {@code eventJourney} query with the advisor token and writes the result into {@code <pre id="result">}.
 * The DOM is checked with {@code --dump-dom}; a screenshot is kept at {@code target/graphiql-eventJourney.png}.
 *
 * <p>Without Chromium the class is skipped with a warning, or fails when {@code LETHE_REQUIRE_ALL=1}.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class GraphiqlBrowserIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long BROWSER_TIMEOUT_SECONDS = 150;

    @TempDir
    static Path temp;

    static Path chromium;
    static LetheServer server;
    static final ByteArrayOutputStream logs = new ByteArrayOutputStream();
    static String page;

    @BeforeAll
    static void start() throws Exception {
        chromium = findChromium()
                .orElseGet(
                        () -> unavailable("Chromium is not installed (/usr/bin/chromium); apt-get install chromium"));
        Path data = Files.createDirectories(temp.resolve("data"));
        dev.lethe.server.cli.DemoLoader.load(data);
        ServerConfig config =
                ServerConfig.load(null, Map.of()).withData(data).withPort(0).withDemo();
        assertThat(config.host()).as("the browser test binds loopback only").isEqualTo("127.0.0.1");
        server = LetheServer.start(
                config, new LetheServer.JsonLogTarget(new PrintStream(logs, true, StandardCharsets.UTF_8)));
        page = "http://127.0.0.1:" + server.port() + "/graphiql?run=eventJourney";
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void graphiql_renders_offline_and_runs_the_event_journey_query() throws Exception {
        Browser run = chromium("dom", "--dump-dom", page);

        assertThat(run.exitCode()).as(run.describe()).isZero();
        String dom = run.stdout();
        assertThat(dom).as("GraphiQL rendered: " + run.describe()).contains("graphiql-container");
        assertThat(dom)
                .as("the autorun finished without errors: " + run.describe())
                .contains("id=\"result\" data-status=\"ok\"");
        assertThat(dom)
                .as("the eventJourney result is in the page")
                .contains("PerformancePublishedProvisional", "AMER_GBP_A_ACC");
        assertThat(dom).doesNotContain("Loading GraphiQL…");
        // What was typed and run is not kept in the browser's storage on disk (a forget would never reach it).
        Path localStorage = temp.resolve("profile-dom").resolve("Default").resolve("Local Storage");
        if (Files.isDirectory(localStorage)) {
            try (java.util.stream.Stream<Path> files = Files.walk(localStorage)) {
                for (Path file : files.filter(Files::isRegularFile).toList()) {
                    assertThat(new String(Files.readAllBytes(file), java.nio.charset.StandardCharsets.ISO_8859_1))
                            .as(file.toString())
                            .doesNotContain("graphiql");
                }
            }
        }

        // Every request of the page went to this server and succeeded: the page, the four vendored assets and
        // the SDL (GETs, no token), and the query (a POST as the advisor). A missing asset would be a 404 here.
        List<JsonNode> requests = requests();
        assertThat(requests)
                .as("server log")
                .allSatisfy(r -> assertThat(r.path("status").asInt()).isLessThan(400))
                .anySatisfy(r -> {
                    assertThat(r.path("method").asText()).isEqualTo("POST");
                    assertThat(r.path("status").asInt()).isEqualTo(200);
                    assertThat(r.path("principal").asText()).isEqualTo("demo-advisor");
                });
        assertThat(requests.stream()
                        .filter(r -> r.path("method").asText().equals("GET"))
                        .count())
                .as("GETs of the page, its four assets and the SDL")
                .isGreaterThanOrEqualTo(6);
    }

    @Test
    void a_screenshot_shows_graphiql_with_the_result() throws Exception {
        Path target = Path.of(System.getProperty("basedir", ".")).resolve("target");
        Files.createDirectories(target);
        Path png = target.resolve("graphiql-eventJourney.png").toAbsolutePath();
        Files.deleteIfExists(png);

        Browser run =
                chromium("screenshot", "--screenshot=" + png, "--window-size=1400,900", "--hide-scrollbars", page);

        assertThat(run.exitCode()).as(run.describe()).isZero();
        assertThat(png).as(run.describe()).exists();
        assertThat(Files.size(png)).as("a blank page is a few KB").isGreaterThan(10 * 1024);
    }

    private record Browser(int exitCode, String stdout, String stderr) {
        String describe() {
            return "chromium exited " + exitCode + "; stderr:\n"
                    + stderr.lines().limit(40).reduce("", (a, b) -> a + b + "\n");
        }
    }

    /** One headless Chromium run with a fresh profile, killed with its children if it takes over a minute. */
    private static Browser chromium(String name, String... arguments) throws Exception {
        Path profile = Files.createDirectories(temp.resolve("profile-" + name));
        Path out = temp.resolve(name + ".stdout");
        Path err = temp.resolve(name + ".stderr");
        List<String> command = new ArrayList<>(List.of(
                chromium.toString(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--user-data-dir=" + profile,
                "--virtual-time-budget=15000",
                "--run-all-compositor-stages-before-draw"));
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        builder.environment().put("HOME", profile.toString());
        Process process = builder.start();
        try {
            if (!process.waitFor(BROWSER_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                fail("chromium did not finish within " + BROWSER_TIMEOUT_SECONDS + " s: " + command + "\n"
                        + Files.readString(err));
            }
        } finally {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
        return new Browser(
                process.exitValue(),
                Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    private static List<JsonNode> requests() throws IOException {
        List<JsonNode> requests = new ArrayList<>();
        for (String line : logs.toString(StandardCharsets.UTF_8).split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode entry = JSON.readTree(line);
            if (entry.path("msg").asText().equals("request")) {
                requests.add(entry);
            }
        }
        return requests;
    }

    private static Optional<Path> findChromium() {
        Path debian = Path.of("/usr/bin/chromium");
        if (Files.isExecutable(debian)) {
            return Optional.of(debian);
        }
        return Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .filter(directory -> !directory.isEmpty())
                .map(directory -> Path.of(directory, "chromium"))
                .filter(Files::isExecutable)
                .findFirst();
    }

    private static <T> T unavailable(String problem) {
        if ("1".equals(System.getenv("LETHE_REQUIRE_ALL"))) {
            fail("LETHE_REQUIRE_ALL=1 and " + problem);
        }
        System.err.println("WARNING: GraphiqlBrowserIT SKIPPED: " + problem);
        Assumptions.abort(problem);
        throw new AssertionError("unreachable");
    }
}
