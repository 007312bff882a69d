package dev.lethe.guide;

import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Guide §6: exportTo streams a subject's export to a file and returns what it wrote
 * (PrivateEventStore.Exported).
 */
public class ExportToSource {
    record CustomerRegistered(@DataSubject @PersonalData(group = "contact") String email,
                              @PersonalData String name) {}

    public static void main(String[] args) throws Exception {
        Path dir = Guide.dir("export-source");
        OpenStore.deleteTree(dir);
        Principal dora = new Principal("dora", "dpo");
        long position;
        try (SqliteLethe lethe = SqliteLethe.open(dir)) {
            lethe.privacy().registerRecord(dora, "CustomerRegistered", CustomerRegistered.class);
            AppendResult r = lethe.privacy().append(StreamId.of("customer-1"), ExpectedVersion.any(), List.of(
                    EventData.of("CustomerRegistered", Json.of(new CustomerRegistered("ada@example.com", "Ada")))));
            position = r.firstPosition();
        }
        Tampering.tamper(dir, position);
        try (SqliteLethe lethe = SqliteLethe.open(dir)) {
            PrivateEventStore privacy = lethe.privacy();
            SubjectId ada = privacy.lookup("ada@example.com", dora).orElseThrow();
            Path file = Guide.dir("export-source-ada.json");
            Files.deleteIfExists(file);
            // tag::export-to[]
            try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                PrivateEventStore.Exported exported = privacy.exportTo(ada, dora,
                        (reached, head) -> System.out.println("indexing " + reached + "/" + head), out, true);
                System.out.println(exported.events() + " events, " + exported.tamperedFields() + " damaged");
                for (PrivateEventStore.Exported.TamperedField field : exported.tampered()) {   // the first 100
                    System.out.println(field.event() + " " + field.position() + " " + field.path());
                }
            }
            // end::export-to[]
        }
    }
}
