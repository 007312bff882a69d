package dev.lethe.guide;

import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.TamperedDataException;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.util.List;

/**
 * Guide §6 and §8: a personal field changed outside Lethe. Reads raise TamperedDataException; an export
 * goes on past it. Compiles against the jar (exportTo's result is held in a var).
 */
public class Tampering {
    record CustomerRegistered(@DataSubject @PersonalData(group = "contact") String email,
                              @PersonalData String name) {}

    public static void main(String[] args) throws Exception {
        Path dir = Guide.dir("tampering");
        OpenStore.deleteTree(dir);
        Principal dora = new Principal("dora", "dpo");
        long position;
        try (SqliteLethe lethe = SqliteLethe.open(dir)) {
            lethe.privacy().registerRecord(dora, "CustomerRegistered", CustomerRegistered.class);
            AppendResult r = lethe.privacy().append(StreamId.of("customer-1"), ExpectedVersion.any(),
                    List.of(EventData.of("CustomerRegistered", Json.of(new CustomerRegistered("ada@example.com", "Ada")))));
            position = r.firstPosition();
        }
        tamper(dir, position);
        try (SqliteLethe lethe = SqliteLethe.open(dir)) {
            RecordedEvent stored = lethe.store().readAll(position, 1).get(0);
            try {
                lethe.privacy().reveal(stored, dora);
            } catch (TamperedDataException e) {
                System.out.println(e.isTransient() + " " + e.getMessage());
            }
            try {
                lethe.privacy().reveal(stored, new Principal("sam", "analyst"));
                System.out.println("analyst: no error (no key is touched for a restricted field)");
            } catch (TamperedDataException e) {
                System.out.println("analyst: " + e.getMessage());
            }
            SubjectId ada = lethe.privacy().lookup("ada@example.com", dora).orElseThrow();
            try {
                StringWriter out = new StringWriter();
                var result = lethe.privacy().exportTo(ada, dora, (a, b) -> {}, out, false);
                System.out.println("exportTo returned " + result + ": " + out);
            } catch (RuntimeException e) {
                System.out.println("exportTo: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
    }

    /** Flips one character of the name's ciphertext in events.db, as a bad restore or an edit would. */
    static void tamper(Path dir, long position) throws Exception {
        try (var db = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("events.db"));
                var read = db.prepareStatement("SELECT data FROM events WHERE position = ?")) {
            read.setLong(1, position);
            String data;
            try (var rows = read.executeQuery()) {
                rows.next();
                data = new String(rows.getBytes(1), StandardCharsets.UTF_8);
            }
            int at = data.indexOf("\"name\":\"lethe:v1:") + 60;
            char flipped = data.charAt(at) == 'A' ? 'B' : 'A';
            String changed = data.substring(0, at) + flipped + data.substring(at + 1);
            try (var write = db.prepareStatement("UPDATE events SET data = ? WHERE position = ?")) {
                write.setBytes(1, changed.getBytes(StandardCharsets.UTF_8));
                write.setLong(2, position);
                write.executeUpdate();
            }
        }
    }
}
