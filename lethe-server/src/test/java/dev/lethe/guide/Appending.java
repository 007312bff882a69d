package dev.lethe.guide;

import dev.lethe.core.privacy.ErasureFenceException;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.DuplicateEventException;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.LetheException;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.store.WrongExpectedVersionException;
import dev.lethe.sqlite.SqliteLethe;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Guide §3: appending through the privacy layer. */
public class Appending {
    record CustomerRegistered(@DataSubject @PersonalData(group = "contact") String email,
                              @PersonalData String name, String tier) {}
    record AddressChanged(@DataSubject String customer, @PersonalData(group = "contact") String street,
                          String city) {}

    public static void main(String[] args) throws Exception {
        Path dir = Guide.dir("appending");
        OpenStore.deleteTree(dir);
        try (SqliteLethe lethe = SqliteLethe.open(dir)) {
            Principal dora = new Principal("dora", "dpo");
            PrivateEventStore privacy = lethe.privacy();
            privacy.registerRecord(dora, "CustomerRegistered", CustomerRegistered.class);
            privacy.registerRecord(dora, "AddressChanged", AddressChanged.class);

            // tag::append[]
            StreamId customer = StreamId.of("customer-7f3c");
            EventData registered = EventData.of("CustomerRegistered",
                    Json.of(new CustomerRegistered("ada@example.com", "Ada", "gold")));
            AppendResult first = privacy.append(customer, ExpectedVersion.noStream(), List.of(registered));
            System.out.println(first); // AppendResult[streamId=customer-7f3c, firstVersion=0, lastVersion=0, firstPosition=4, …]
            try {
                privacy.append(customer, ExpectedVersion.noStream(), List.of(registered));
            } catch (WrongExpectedVersionException e) {
                System.out.println(e.getMessage()); // wrong expected version for stream 'customer-7f3c': expected no stream, actual version 0
            }
            // end::append[]

            // tag::idempotent[]
            UUID id = UUID.randomUUID();   // chosen once, kept with the command, resent on every retry
            List<EventData> batch = List.of(EventData.of("AddressChanged",
                    Json.of(new AddressChanged("ada@example.com", "12 Harbour Street", "Leith"))).withId(id));
            AppendResult sent = privacy.append(customer, ExpectedVersion.exactly(0), batch);
            AppendResult resent = privacy.append(customer, ExpectedVersion.exactly(0), batch); // the answer was lost
            System.out.println(sent.equals(resent)); // true: nothing written twice, no conflict either

            try {   // the same id in another batch is not a retry
                privacy.append(StreamId.of("customer-9b21"), ExpectedVersion.any(), batch);
            } catch (DuplicateEventException e) {
                System.out.println(e.getMessage()); // event id … is already stored in another stream than 'customer-9b21' …
            }
            // end::idempotent[]

            // tag::limits[]
            List<EventData> tooMany = Collections.nCopies(EventStore.MAX_BATCH_EVENTS + 1,
                    EventData.of("OrderPlaced", "{\"sku\":\"A-1\"}"));
            try {
                privacy.append(StreamId.of("order-1"), ExpectedVersion.any(), tooMany);
            } catch (InvalidEventException e) {
                System.out.println(e.getMessage()); // events: the batch holds 10001 events, the limit is 10000
            }
            try {   // a personal value of 900 KB: under 1 MiB as given, over it once sealed
                String big = "x".repeat(900_000);
                privacy.append(customer, ExpectedVersion.any(), List.of(EventData.of("CustomerRegistered",
                        Json.of(new CustomerRegistered("ada@example.com", big, "gold")))));
            } catch (InvalidEventException e) {
                System.out.println(e.getMessage());
            }
            // end::limits[]

            // tag::async[]
            List<CompletableFuture<AppendResult>> inFlight = new ArrayList<>();
            for (int i = 0; i < 100; i++) {  // sealed in this thread; committed by the store's writer meanwhile
                inFlight.add(privacy.appendAsync(StreamId.of("customer-c" + i), ExpectedVersion.noStream(), List.of(
                        EventData.of("CustomerRegistered", Json.of(new CustomerRegistered("c" + i + "@example.com", "C", ""))))));
            }
            CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).join();
            try {
                privacy.appendAsync(customer, ExpectedVersion.noStream(), List.of(registered)).join();
            } catch (CompletionException e) {
                System.out.println(e.getCause().getClass().getSimpleName()); // WrongExpectedVersionException
            }
            // end::async[]

            // tag::fence[]
            SubjectId grace = privacy.subjectFor("grace@example.com", dora).subject();
            privacy.forget(grace, "GDPR Art. 17(1)(a)", "customer request", dora);
            try {   // a key field may hold a subject id instead of a natural key
                privacy.append(StreamId.of("customer-9b21"), ExpectedVersion.any(), List.of(EventData.of(
                        "AddressChanged", Json.of(new AddressChanged(grace.toString(), "1 Mill Lane", "York")))));
            } catch (ErasureFenceException e) {
                System.out.println(e.getMessage()); // subject … was forgotten: personal data for it cannot be stored again
            }
            // end::fence[]

            // tag::check-append[]
            List<PrivateEventStore.Unencrypted> plain = privacy.checkAppend(StreamId.of("order-9"),
                    ExpectedVersion.any(), List.of(EventData.of("OrderPlaced", "{\"email\":\"ada@example.com\"}")));
            System.out.println(plain); // [Unencrypted[index=0, type=OrderPlaced, member=email, typeHasSchema=false]]
            // end::check-append[]

            // tag::threads[]
            ExecutorService pool = Executors.newFixedThreadPool(4); // one SqliteLethe, shared by every thread
            List<Future<AppendResult>> results = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                int n = i;
                results.add(pool.submit(() -> appendWithRetry(privacy, StreamId.of("order-" + (n % 4)),
                        List.of(EventData.of("OrderPlaced", "{\"n\":" + n + "}")))));
            }
            for (Future<AppendResult> result : results) {
                result.get();
            }
            pool.shutdown();
            // end::threads[]
            System.out.println("order-0 version " + lethe.store().streamInfo(StreamId.of("order-0")));
        }
    }

    // tag::retry[]
    static AppendResult appendWithRetry(PrivateEventStore privacy, StreamId stream, List<EventData> events)
            throws InterruptedException {
        // An id per event makes a retry exact: a batch an attempt stored before failing ("may or may not be
        // stored": interrupted, a failed commit) is answered with its result, never stored twice.
        List<EventData> batch = events.stream()
                .map(e -> e.clientId().isPresent() ? e : e.withId(UUID.randomUUID()))
                .toList();
        for (int attempt = 1; ; attempt++) {
            try {
                return privacy.append(stream, ExpectedVersion.any(), batch);
            } catch (LetheException e) {
                if (!e.isTransient() || attempt == 5) {
                    throw e;        // bad input, a conflict, a forgotten subject, a closed store: not retried
                }
                Thread.sleep(100L * attempt);  // a full disk, an HSM that did not answer
            }
        }
    }
    // end::retry[]
}
