package dev.lethe.guide;

import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivacyCodec;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.Redaction;
import dev.lethe.core.privacy.RevealedEvent;
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
import dev.lethe.core.subscription.Subscription;
import dev.lethe.core.subscription.SubscriptionRequest;
import dev.lethe.sqlite.SqliteLethe;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;

/** Guide §4: raw reads, reveal, redactions, mapping to records, replays, as-of reads, subscriptions. */
public class Reading {
    // tag::record[]
    record CustomerRegistered(
            @DataSubject @PersonalData(group = "contact") String email,
            @PersonalData String name,
            @PersonalData LocalDate dateOfBirth,
            @PersonalData int riskScore,          // primitive: a redacted value cannot be mapped
            @PersonalData Boolean pep,            // boxed: a redacted value maps to null
            String tier) {
        /** The same fields, boxed: what a role that may not read them maps to. */
        record View(String email, String name, LocalDate dateOfBirth, Integer riskScore, Boolean pep, String tier) {}
    }
    // end::record[]
    record AddressChanged(@DataSubject String customer, @PersonalData(group = "contact") String street,
                          String city) {}

    public static void main(String[] args) throws Exception {
        Path dir = Guide.dir("reading");
        OpenStore.deleteTree(dir);
        try (SqliteLethe lethe = SqliteLethe.open(dir)) {
            Principal dora = new Principal("dora", "dpo");
            PrivateEventStore privacy = lethe.privacy();
            privacy.registerRecord(dora, "CustomerRegistered", CustomerRegistered.class);
            privacy.registerRecord(dora, "AddressChanged", AddressChanged.class);
            StreamId customer = StreamId.of("customer-7f3c");
            AppendResult registered = privacy.append(customer, ExpectedVersion.noStream(), List.of(EventData.of(
                    "CustomerRegistered", Json.of(new CustomerRegistered(
                            "ada@example.com", "Ada", LocalDate.of(1990, 12, 10), 3, false, "gold")))));
            Thread.sleep(5);
            SubjectId adaId = PrivacyCodec.subjectsOf(
                    lethe.store().readAll(registered.firstPosition(), 1).get(0).metadata()).get("email");
            privacy.append(customer, ExpectedVersion.exactly(0), List.of(EventData.of("AddressChanged",
                    Json.of(new AddressChanged(adaId.toString(), "12 Harbour Street", "Leith")))));

            // tag::raw[]
            List<RecordedEvent> raw = lethe.store().readStream(customer, 0, Direction.FORWARD, 100);
            RecordedEvent stored = raw.get(0);
            System.out.println(stored.data());     // {"email":"lethe:v1:A…","name":"lethe:v1:A…",…,"tier":"gold"}
            System.out.println(stored.metadata()); // {"lethe":{"subjects":{"email":"<uuid>"},"sealed":[…],"schemaVersion":1}}
            // end::raw[]

            // tag::reveal[]
            RevealedEvent forAdvisor = privacy.reveal(stored, new Principal("ann", "advisor"));
            System.out.println(forAdvisor.data());   // {"email":"ada@example.com","name":"Ada",…,"tier":"gold"}

            RevealedEvent forAnalyst = privacy.reveal(stored, new Principal("sam", "analyst"));
            System.out.println(forAnalyst.data());   // {"email":null,"name":null,…,"pep":null,"tier":"gold"}
            for (Redaction r : forAnalyst.redactions()) {
                System.out.println(r.path() + " " + r.reason());   // email RESTRICTED, name RESTRICTED, …
            }
            // end::reveal[]
            System.out.println(forAdvisor.redactions());   // []
            System.out.println(forAnalyst.isRedacted("email"));            // true
            System.out.println(forAnalyst.metadata()); // lethe.subjects leaves out the restricted key field
            System.out.println(forAnalyst);            // toString() never prints the data

            // tag::map[]
            ObjectMapper mapper = Json.exactMapper();    // the mapper Json.of writes with
            CustomerRegistered seen = mapper.treeToValue(forAdvisor.data().asTree(), CustomerRegistered.class);
            System.out.println(seen);  // CustomerRegistered[email=ada@example.com, name=Ada, dateOfBirth=1990-12-10, …]

            try {
                mapper.treeToValue(forAnalyst.data().asTree(), CustomerRegistered.class);
            } catch (MismatchedInputException e) {     // riskScore is redacted: null is no int (0 would read as a score)
                System.out.println(e.getClass().getSimpleName() + " " + e.getPath().get(0).getFieldName()); // … riskScore
            }
            CustomerRegistered.View blind = mapper.treeToValue(forAnalyst.data().asTree(), CustomerRegistered.View.class);
            System.out.println(blind); // View[email=null, name=null, dateOfBirth=null, riskScore=null, pep=null, tier=gold]
            // end::map[]

            try {
                new ObjectMapper().treeToValue(forAdvisor.data().asTree(), CustomerRegistered.class);
            } catch (Exception e) { // a plain ObjectMapper has no java.time support
                System.out.println("plain ObjectMapper: " + e.getClass().getSimpleName());
            }

            // tag::read-stream[]
            for (RevealedEvent event : privacy.readStream(customer, new Principal("ann", "advisor"))) {
                System.out.println(event.event().version() + " " + event.event().type() + " " + event.data());
            }
            // end::read-stream[]

            // tag::replay[]
            long replayed = privacy.readAllRevealed(0, dora, event -> {
                if (!event.event().streamId().value().startsWith("$")) {   // not $schemas, $audit, $erasures
                    System.out.println(event.event().position() + " " + event.event().type() + " " + event.data());
                }
            });
            // end::replay[]
            System.out.println(replayed + " events replayed");

            // tag::as-of[]
            Instant lastMonth = stored.recordedAt();   // any instant: here, when Ada registered
            List<RecordedEvent> then = lethe.store().readStreamAsOf(customer, lastMonth, 0, 100);
            System.out.println(then.size());           // 1: AddressChanged was recorded later
            System.out.println(privacy.reveal(then.get(0), new Principal("ann", "advisor")).data());
            // end::as-of[]
            System.out.println(lethe.store().readStreamAsOfVersion(customer, 0, 100).size());

            // tag::subscribe[]
            Principal advisor = new Principal("ann", "advisor");
            try (Subscription live = lethe.store().subscribe(SubscriptionRequest.categoryFromStart("customer"),
                    event -> System.out.println(event.position() + " " + privacy.reveal(event, advisor).data()))) {
                live.awaitLive(Duration.ofSeconds(10));               // caught up; now follows new events
                AppendResult moved = privacy.append(customer, ExpectedVersion.any(), List.of(EventData.of(
                        "AddressChanged", Json.of(new AddressChanged(adaId.toString(), "3 Quay Road", "Leith")))));
                live.awaitPosition(moved.lastPosition(), Duration.ofSeconds(10));
            }
            // end::subscribe[]

            // tag::read-only-reveal[]
            try (SqliteLethe reader = SqliteLethe.openReadOnly(dir)) {
                RecordedEvent again = reader.store().readAll(registered.firstPosition(), 1).get(0);
                System.out.println(reader.privacy().reveal(again, new Principal("sam", "analyst")).redactions());
                Principal carol = new Principal("carol", "advisor");
                RecordedEvent address = reader.store().readStream(customer, 1, Direction.FORWARD, 1).get(0);
                reader.privacy().reveal(address, carol);        // would open a group: cannot be audited here
            } catch (StorageException e) {
                System.out.println(e.getMessage()); // "personal data of group … is not revealed to carol: …"
            }
            // end::read-only-reveal[]

            // tag::forgotten[]
            privacy.forget(adaId, "GDPR Art. 17(1)(a)", "customer request", dora);
            RevealedEvent afterForget = privacy.reveal(stored, dora);
            System.out.println(afterForget.data());        // every personal field null, tier "gold" stays
            System.out.println(afterForget.redactions());  // …reason=FORGOTTEN…
            // end::forgotten[]
        }
    }
}
