package dev.lethe.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.privacy.keys.SoftHsm;
import dev.lethe.guide.GuideExamples;
import dev.lethe.server.http.LetheServer;
import dev.lethe.server.http.ServerConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line and {@code lethe serve} with the master key in a PKCS#11 token (SoftHSM2): the demo,
 * stats, a key rotation, and a store refused without its token. Skipped with a warning without
 * SoftHSM2, failed with {@code LETHE_REQUIRE_ALL=1}.
 */
class Pkcs11CliIT {
    private static SoftHsm hsm;

    @TempDir
    Path dir;

    @BeforeAll
    static void tokens() throws Exception {
        hsm = SoftHsm.tokens("Pkcs11CliIT", "cli", "other", "guide");
    }

    private record Run(int exitCode, String out, String err) {}

    private static Run lethe(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = LetheCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    /** {@code args} on the data directory, with the token in {@code slot} and the PIN in a file. */
    private Run withToken(String token, String... args) throws Exception {
        Path pinFile = dir.resolve("pin");
        Files.writeString(pinFile, SoftHsm.PIN + "\n");
        List<String> all = new ArrayList<>(List.of(
                "--data",
                dir.resolve("data").toString(),
                "--init",
                "--pkcs11-library",
                hsm.library().toString(),
                "--pkcs11-slot",
                String.valueOf(hsm.slot(token)),
                "--pkcs11-pin-file",
                pinFile.toString()));
        all.addAll(List.of(args));
        return lethe(all.toArray(String[]::new));
    }

    @Test
    void the_demo_rotation_and_stats_run_with_the_master_key_in_the_token() throws Exception {
        Run demo = withToken("cli", "demo");
        assertThat(demo.exitCode()).as(demo.err()).isZero();
        assertThat(demo.out())
                .contains("customer-summary for Ada: name [forgotten]")
                .doesNotContain("FOUND");
        assertThat(dir.resolve("data/master.keyset.json")).doesNotExist();

        Run stats = withToken("cli", "stats");
        assertThat(stats.out())
                .contains("master key       epoch 1", "held in        PKCS#11 token in slot " + hsm.slot("cli"))
                .doesNotContain(SoftHsm.PIN);

        Run rotate = withToken("cli", "keys", "rotate", "--role", "dpo");
        assertThat(rotate.out()).as(rotate.err()).contains("master key rotated: new epoch 2", "destroyed epochs [1]");
        Run read = withToken("cli", "read", "--all", "--category", "customer", "--role", "advisor");
        assertThat(read.exitCode()).as(read.err()).isZero();
        assertThat(read.out()).as("decrypted after the rotation").contains("Grace Hopper");
        Run check = withToken("cli", "keys", "check");
        assertThat(check.exitCode()).as(check.out() + check.err()).isZero();
        assertThat(check.out())
                .contains("PKCS#11 token in slot " + hsm.slot("cli"), "live epochs [2]")
                .containsPattern("unwrap +all \\d+ unwrap")
                .containsPattern("result +ok");
        Run backup = withToken("cli", "backup", dir.resolve("backup").toString());
        assertThat(backup.exitCode()).as(backup.err()).isZero();
        assertThat(backup.out())
                .containsPattern("not in the backup: the master key, in the PKCS#11 token's keys labelled"
                        + " lethe-master-[0-9a-f-]{36}-<epoch>. A restore needs that token");

        Run without = lethe("--data", dir.resolve("data").toString(), "stats");
        assertThat(without.exitCode()).isEqualTo(1);
        assertThat(without.err()).contains("this store's master key is in a PKCS#11 token");
        assertThat(dir.resolve("data/master.keyset.json")).doesNotExist();

        Run other = withToken("other", "stats");
        assertThat(other.exitCode()).isEqualTo(1);
        assertThat(other.err()).contains("so this is not its token");
        assertThat(hsm.labels(hsm.slot("other"))).isEmpty();
    }

    @Test
    void the_java_guides_pkcs11_example_prints_what_is_recorded_beside_it() throws Exception {
        Path pinFile = dir.resolve("pin");
        Files.writeString(pinFile, SoftHsm.PIN + "\n");
        GuideExamples.assertPrintsWhatIsRecorded(
                "HsmStore",
                dir.resolve("guide"),
                hsm.library().toString(),
                String.valueOf(hsm.slot("guide")),
                pinFile.toString());
    }

    @Test
    void a_store_made_with_a_keyset_file_moves_into_the_token() throws Exception {
        String data = dir.resolve("data").toString();
        Run demo = lethe("--data", data, "demo");
        assertThat(demo.exitCode()).as(demo.err()).isZero();

        Run noToken = lethe("--data", data, "keys", "move-to-pkcs11", "--role", "dpo");
        assertThat(noToken.exitCode()).isEqualTo(2);
        assertThat(noToken.err()).contains("--pkcs11-library: is missing: name the token");
        List<String> labelsBefore = hsm.labels(hsm.slot("cli"));
        Run advisor = withToken("cli", "keys", "move-to-pkcs11", "--role", "advisor");
        assertThat(advisor.exitCode()).isEqualTo(3);
        assertThat(hsm.labels(hsm.slot("cli")))
                .as("refused before the token is touched")
                .hasSameElementsAs(labelsBefore);
        assertThat(dir.resolve("data/master.keyset.json")).exists();

        Run move = withToken("cli", "keys", "move-to-pkcs11", "--role", "dpo");
        assertThat(move.exitCode()).as(move.err()).isZero();
        assertThat(move.out())
                .contains("master key moved", "into  PKCS#11 token in slot " + hsm.slot("cli"), "deleted ");
        assertThat(dir.resolve("data/master.keyset.json")).doesNotExist();

        Run read = withToken("cli", "read", "--all", "--category", "customer", "--role", "advisor");
        assertThat(read.exitCode()).as(read.err()).isZero();
        assertThat(read.out()).contains("Grace Hopper");
        Run without = lethe("--data", data, "read", "--all", "--category", "customer", "--role", "advisor");
        assertThat(without.exitCode()).isEqualTo(1);
        assertThat(without.err()).contains("this store's master key is in a PKCS#11 token");
    }

    @Test
    void bad_pkcs11_settings_are_refused_naming_the_setting() throws Exception {
        String data = dir.resolve("data").toString();
        String library = hsm.library().toString();

        Run noSlot = lethe("--data", data, "--pkcs11-library", library, "append", "s-1", "Noted", "{}");
        assertThat(noSlot.exitCode()).isEqualTo(2);
        assertThat(noSlot.err()).contains("--pkcs11-slot: is missing");

        Run badSlot = lethe(
                "--data", data, "--pkcs11-library", library, "--pkcs11-slot", "first", "append", "s-1", "Noted", "{}");
        assertThat(badSlot.err()).contains("--pkcs11-slot: is not a slot id").doesNotContain("first");

        Run noPinFile = lethe(
                "--data",
                data,
                "--pkcs11-library",
                library,
                "--pkcs11-slot",
                "0",
                "--pkcs11-pin-file",
                dir.resolve("absent").toString(),
                "append",
                "s-1",
                "Noted",
                "{}");
        assertThat(noPinFile.exitCode()).isEqualTo(2);
        assertThat(noPinFile.err()).contains("--pkcs11-pin-file: cannot read");

        Files.writeString(dir.resolve("pin"), SoftHsm.PIN);
        Run both = lethe(
                "--data",
                data,
                "--master-key-dir",
                dir.resolve("keys").toString(),
                "--pkcs11-library",
                library,
                "--pkcs11-slot",
                "0",
                "--pkcs11-pin-file",
                dir.resolve("pin").toString(),
                "append",
                "s-1",
                "Noted",
                "{}");
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(both.err()).contains("both name a master key");

        Run slotAlone = lethe("--data", data, "--pkcs11-slot", "0", "append", "s-1", "Noted", "{}");
        assertThat(slotAlone.err()).contains("--pkcs11-library: is missing");
        assertThat(dir.resolve("data")).doesNotExist();
    }

    @Test
    void lethe_serve_opens_its_store_with_the_token_its_config_file_names() throws Exception {
        Path pinFile = Files.writeString(dir.resolve("hsm-pin"), SoftHsm.PIN + "\n");
        Path config = Files.writeString(
                dir.resolve("lethe.yaml"),
                "host: 127.0.0.1\nport: 0\ndata: " + dir.resolve("served") + "\n"
                        + "tokens:\n  t0ken-for-the-hsm-test: {principal: ops, role: dpo}\n"
                        + "pkcs11:\n  library: " + hsm.library() + "\n  slot: " + hsm.slot("cli") + "\n"
                        + "  pinFile: " + pinFile + "\n");
        ServerConfig settings = ServerConfig.load(config, Map.of());
        assertThat(settings.toString()).doesNotContain(SoftHsm.PIN);

        try (LetheServer server = LetheServer.start(
                settings,
                new LetheServer.JsonLogTarget(new java.io.PrintStream(java.io.OutputStream.nullOutputStream())))) {
            HttpResponse<String> subject = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/subjects"))
                                    .header("Authorization", "Bearer t0ken-for-the-hsm-test")
                                    .header("Content-Type", "application/json")
                                    .POST(HttpRequest.BodyPublishers.ofString(
                                            "{\"naturalKey\":\"ada@example.com\",\"create\":true}"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(subject.statusCode()).as(subject.body()).isIn(200, 201);
        }
        assertThat(dir.resolve("served/master.keyset.json")).doesNotExist();
        assertThat(hsm.labels(hsm.slot("cli"))).anyMatch(label -> label.matches("lethe-master-[0-9a-f-]{36}-1"));
    }
}
