package dev.lethe.guide;

import dev.lethe.core.privacy.AccessDeniedException;
import dev.lethe.core.privacy.AuditLog;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivacyCodec;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StorageException;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** Guide §5: subjects, natural keys, lookups and their audit entries. */
public class Subjects {
    record CustomerRegistered(@DataSubject @PersonalData(group = "contact") String email,
                              @PersonalData String name) {}

    // tag::normalise[]
    /** One spelling per person: Lethe matches natural keys byte for byte. */
    static String emailKey(String email) {
        return email.strip().toLowerCase(Locale.ROOT);
    }
    // end::normalise[]

    public static void main(String[] args) throws Exception {
        Path dir = Guide.dir("subjects");
        OpenStore.deleteTree(dir);
        try (SqliteLethe lethe = SqliteLethe.open(dir)) {
            Principal dora = new Principal("dora", "dpo");   // dpo may export: lookups need it
            PrivateEventStore privacy = lethe.privacy();
            privacy.registerRecord(dora, "CustomerRegistered", CustomerRegistered.class);
            AppendResult appended = privacy.append(StreamId.of("customer-7f3c"), ExpectedVersion.any(),
                    List.of(EventData.of("CustomerRegistered",
                            Json.of(new CustomerRegistered(emailKey(" Ada@Example.com"), "Ada")))));

            // tag::lookup[]
            Optional<SubjectId> ada = privacy.lookup("ada@example.com", dora);      // audited: SubjectLookedUp
            Optional<SubjectId> nobody = privacy.lookup("Ada@example.com", dora);   // another key: empty, not audited
            System.out.println(ada.isPresent() + " " + nobody.isPresent());          // true false

            RecordedEvent stored = lethe.store().readAll(appended.firstPosition(), 1).get(0);
            SubjectId fromMetadata = PrivacyCodec.subjectsOf(stored.metadata()).get("email");
            System.out.println(fromMetadata.equals(ada.get()));                       // true

            PrivateEventStore.Resolved grace = privacy.subjectFor("grace@example.com", dora); // SubjectCreated
            System.out.println(grace.created() + " " + grace.subject());              // true <uuid>
            System.out.println(privacy.subjectFor("grace@example.com", dora).created()); // false: SubjectLookedUp
            // end::lookup[]

            // tag::lookup-denied[]
            try {
                privacy.lookup("ada@example.com", new Principal("ann", "advisor"));
            } catch (AccessDeniedException e) {
                System.out.println(e.getMessage()); // principal ann (role advisor) may not export (look up a subject)
            }
            System.out.println(privacy.keys().lookup("ada@example.com").isPresent()); // unaudited, no permission
            // end::lookup-denied[]

            // tag::audit[]
            for (RecordedEvent entry : lethe.store().readStream(AuditLog.STREAM, 0, Direction.FORWARD, 100)) {
                System.out.println(entry.type() + " " + entry.data());
            }
            // SchemaRegistered {"principal":"dora","role":"dpo","at":"…","eventType":"CustomerRegistered",…}
            // SubjectLookedUp {"principal":"dora","role":"dpo","at":"…","subject":"<ada's id>"}
            // SubjectCreated {… "subject":"<grace's id>"}, then SubjectLookedUp {… "subject":"<grace's id>"}
            // end::audit[]

            // tag::lookup-read-only[]
            try (SqliteLethe reader = SqliteLethe.openReadOnly(dir)) {
                reader.privacy().lookup("ada@example.com", dora);
            } catch (StorageException e) {
                System.out.println(e.getMessage()); // the SubjectLookedUp entry cannot be written read-only
            }
            // end::lookup-read-only[]

            // tag::after-forget[]
            privacy.forget(ada.get(), "GDPR Art. 17(1)(a)", "customer request", dora);
            System.out.println(privacy.lookup("ada@example.com", dora));              // Optional.empty
            AppendResult back = privacy.append(StreamId.of("customer-c0de"), ExpectedVersion.any(),
                    List.of(EventData.of("CustomerRegistered",
                            Json.of(new CustomerRegistered("ada@example.com", "Ada")))));
            SubjectId newAda = PrivacyCodec.subjectsOf(
                    lethe.store().readAll(back.firstPosition(), 1).get(0).metadata()).get("email");
            System.out.println(newAda.equals(ada.get()));                             // false: a new subject
            // end::after-forget[]
        }
    }
}
