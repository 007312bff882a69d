package dev.lethe.guide;

import dev.lethe.core.privacy.AccessDeniedException;
import dev.lethe.core.privacy.AlreadyCancelledException;
import dev.lethe.core.privacy.AlreadyForgottenException;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.UnknownSubjectException;
import dev.lethe.core.privacy.keys.ErasureReceipt;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** Guide §6: forget, receipts, scheduled forgets, export. */
public class ForgetAndExport {
    record CustomerRegistered(@DataSubject @PersonalData(group = "contact") String email,
                              @PersonalData String name, String tier) {}
    // tag::plaintext-key[]
    record NewsletterSubscribed(@DataSubject String email, String topic) {} // key field, not personal!
    // end::plaintext-key[]

    public static void main(String[] args) throws Exception {
        Path dir = Guide.dir("forget");
        OpenStore.deleteTree(dir);
        try (SqliteLethe lethe = SqliteLethe.open(dir)) {
            Principal dora = new Principal("dora", "dpo");   // dpo: forget, export, rotate-keys, change-policy
            PrivateEventStore privacy = lethe.privacy();
            privacy.registerRecord(dora, "CustomerRegistered", CustomerRegistered.class);
            privacy.registerRecord(dora, "NewsletterSubscribed", NewsletterSubscribed.class);
            for (String who : List.of("ada", "grace", "alan")) {
                privacy.append(StreamId.of("customer-" + who), ExpectedVersion.any(), List.of(
                        EventData.of("CustomerRegistered",
                                Json.of(new CustomerRegistered(who + "@example.com", who, "gold"))),
                        EventData.of("NewsletterSubscribed",
                                Json.of(new NewsletterSubscribed(who + "@example.com", "funds")))));
            }
            SubjectId ada = privacy.lookup("ada@example.com", dora).orElseThrow();
            SubjectId grace = privacy.lookup("grace@example.com", dora).orElseThrow();
            SubjectId alan = privacy.lookup("alan@example.com", dora).orElseThrow();

            // tag::export[]
            Json export = privacy.export(ada, dora);          // in memory; audited as SubjectExported
            System.out.println(export);  // {"subject":"…","exportedAt":"…","forgotten":false,"events":[…]}
            // end::export[]

            StringWriter out = new StringWriter();            // any Writer: a file, an HTTP response
            var written = privacy.exportTo(ada, dora, (reached, end) -> {}, out, false);
            // Its events, not its length: an instant is written with 6 or 9 decimals, as its nanoseconds need.
            System.out.println(written + " " + Json.parse(out.toString()).asTree().get("events").size());

            // tag::forget[]
            ErasureReceipt receipt = privacy.forget(ada, "GDPR Art. 17(1)(a)", "customer request", dora);
            System.out.println(receipt.id() + " " + receipt.subject() + " " + receipt.actor() + " " + receipt.at());
            System.out.println(receipt.destroyed()); // [subject key, every blind-index entry of the subject, cached data keys]
            System.out.println(privacy.schemas().plaintextNaturalKeyFields()); // [NewsletterSubscribed.email]
            // end::forget[]
            System.out.println(privacy.export(ada, dora));

            try {
                privacy.forget(ada, "GDPR Art. 17(1)(a)", "asked twice", dora);
            } catch (AlreadyForgottenException e) {
                System.out.println(e.getMessage());   // "subject …: was already forgotten (receipt …)": done already
            }
            try {
                privacy.forget(SubjectId.random(), "GDPR Art. 17(1)(a)", null, dora);
            } catch (UnknownSubjectException e) {
                System.out.println(e.getMessage());   // this store never issued that id
            }
            try {
                privacy.forget(grace, "GDPR Art. 17", null, new Principal("ann", "advisor"));
            } catch (AccessDeniedException e) {
                System.out.println(e.getMessage());   // principal ann (role advisor) may not forget
            }
            try {
                privacy.forget(grace, "GDPR Art. 17", "asked by grace@example.com", dora);
            } catch (InvalidEventException e) {
                System.out.println(e.getMessage());   // reason: holds an e-mail address …
            }

            // tag::receipts[]
            for (ErasureReceipt r : privacy.receipts(null, dora)) {   // null: every subject; needs forget
                System.out.println(r.asMap());
            }
            // end::receipts[]

            // tag::schedule[]
            PrivateEventStore.ScheduledForget planned = privacy.scheduleForget(
                    grace, Instant.now().plus(Duration.ofDays(30)), "GDPR Art. 17(1)(a)", dora);
            privacy.scheduleForget(alan, Instant.now().minusSeconds(1), "GDPR Art. 17(1)(a)", dora);  // due now
            System.out.println(privacy.scheduledForgets(null, dora).size());                           // 2
            privacy.cancelScheduledForget(planned.id(), "contract extended", dora);
            List<ErasureReceipt> done = privacy.runScheduledForgets(Instant.now(), dora); // retention does this
            System.out.println(done.get(0).subject().equals(alan) + " " + done.get(0).reason());
            // true scheduled by dora (schedule …, made …)
            // end::schedule[]
            try {
                privacy.cancelScheduledForget(planned.id(), "contract extended", dora);
            } catch (AlreadyCancelledException e) {
                System.out.println(e.getMessage());
            }
        }
    }
}
