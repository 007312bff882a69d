package dev.lethe.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a writer open repairs or finds is said once in {@code lethe serve}'s log, in its own format. */
class ServeRecoveredIT {
    @TempDir
    Path work;

    @Test
    void a_policy_edited_by_hand_is_said_once_as_an_at_open_line_of_the_servers_log() throws Exception {
        Path data = work.resolve("data");
        ChildCli.initStore(data);
        Path policy = data.resolve("policy.yaml");
        Files.writeString(policy, Files.readString(policy) + "# edited by hand\n");

        Path errLog = work.resolve("err.log");
        Process child = ChildCli.command("--data", data.toString(), "serve", "--host", "127.0.0.1", "--port", "0")
                .redirectError(errLog.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(errLog).contains("\"listening\"")
                    && child.isAlive()
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            String err = Files.readString(errLog);
            assertThat(err).as(err).contains("\"listening\"");
            assertThat(err.split("policy.yaml differs from the policy this store last ran under", -1))
                    .as("said once: " + err)
                    .hasSize(2);
            assertThat(err).contains("\"at open\"").doesNotContain("recovered at open of");
        } finally {
            child.toHandle().destroy();
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
    }
}
