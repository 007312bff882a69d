package dev.lethe.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lethe subject export --output FILE} stopped by SIGTERM part-way: the half-written file, personal data in
 * plaintext, is deleted, and the command says so.
 */
class ExportSignalIT {
    record Sold(
            @DataSubject @PersonalData(group = "contact") String email, String product, String note) {}

    @TempDir
    Path work;

    @Test
    void sigterm_during_an_export_deletes_the_half_written_file() throws Exception {
        Path data = work.resolve("data");
        ChildCli.initStore(data);
        SubjectId subject;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().registerRecord(new Principal("dora", "dpo"), "Sold", Sold.class);
            String note = "x".repeat(200);
            for (int batch = 0; batch < 60; batch++) {
                List<EventData> events = new ArrayList<>();
                for (int i = 0; i < 1_000; i++) {
                    events.add(EventData.of("Sold", Json.of(new Sold("signal@example.org", "p" + i, note))));
                }
                lethe.privacy().append(StreamId.of("sales-1"), ExpectedVersion.any(), events);
            }
            subject = lethe.privacy().keys().lookup("signal@example.org").orElseThrow();
        }

        Path output = work.resolve("export.json");
        Path errLog = work.resolve("err.log");
        Process child = ChildCli.command(
                        "--data",
                        data.toString(),
                        "subject",
                        "export",
                        subject.toString(),
                        "--output",
                        output.toString(),
                        "--role",
                        "dpo")
                .redirectError(errLog.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while ((!Files.exists(output) || Files.size(output) < 256 * 1024)
                && child.isAlive()
                && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(child.isAlive())
                .as("still exporting once 256 KB are written: " + Files.readString(errLog))
                .isTrue();
        child.toHandle().destroy(); // SIGTERM
        assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(output).as("the half-written export").doesNotExist();
        assertThat(Files.readString(errLog))
                .contains("subject export interrupted: the half-written " + output + " was deleted");
    }
}
