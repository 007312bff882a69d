package dev.lethe.guide;

import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.RetentionScheduler;
import dev.lethe.core.privacy.keys.KeyService;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import dev.lethe.sqlite.SqliteOptions;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.ZoneOffset;
import java.util.List;

/** Guide §6: retention runs, the retention scheduler, master key rotation, key checks. */
public class RetentionAndRotation {
    record CustomerRegistered(@DataSubject @PersonalData(group = "contact") String email,
                              @PersonalData String name, String tier) {}

    public static void main(String[] args) throws Exception {
        Path dir = Guide.dir("retention");
        Path keyDir = Guide.dir("retention-keys");
        OpenStore.deleteTree(dir);
        OpenStore.deleteTree(keyDir);
        try (SqliteLethe lethe = SqliteLethe.open(dir, SqliteOptions.DEFAULT.withMasterKeyDirectory(keyDir))) {
            Principal dora = new Principal("dora", "dpo");
            PrivateEventStore privacy = lethe.privacy();
            privacy.registerRecord(dora, "CustomerRegistered", CustomerRegistered.class);
            AppendResult ada = privacy.append(StreamId.of("customer-ada"), ExpectedVersion.any(), List.of(
                    EventData.of("CustomerRegistered",
                            Json.of(new CustomerRegistered("ada@example.com", "Ada", "gold")))));

            // tag::scheduler[]
            // In a long-running application: once at start, then hourly, as of the clock.
            try (RetentionScheduler retention = new RetentionScheduler(privacy, Clock.systemUTC(),
                    RetentionScheduler.DEFAULT_INTERVAL)) {
                for (int waited = 0; retention.runs() == 0 && waited < 10_000; waited += 10) {
                    Thread.sleep(10); // its first run starts at once, on the scheduler's own thread
                }
                System.out.println(retention.runs() + " " + retention.lastFailure()); // 1 Optional.empty
            }
            // end::scheduler[]

            // tag::plan[]
            for (KeyService.PeriodExpiry expiry : privacy.keys().periodExpiries()) {   // soonest first
                System.out.println(expiry.key() + " expires " + expiry.expiresAt().orElse(null));
            }
            // PeriodRef[group=contact, period=2026-11] expires 2028-12-01T00:00:00Z   (default policy)
            // PeriodRef[group=identity, period=2026] expires 2037-01-01T00:00:00Z
            // end::plan[]

            // tag::retention[]
            // As of an instant given on purpose: not checked against the clock, and destroys for real.
            Instant in2029 = ZonedDateTime.of(2029, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC).toInstant();
            PrivateEventStore.RetentionReport report = privacy.retention(in2029, dora); // needs rotate-keys
            System.out.println(report.expired());    // [PeriodRef[group=contact, period=2026-11]]
            System.out.println(privacy.reveal(lethe.store().readAll(ada.firstPosition(), 1).get(0), dora)
                    .redactions());                  // [Redaction[path=email, reason=EXPIRED, detail=null]]: name stays
            // end::retention[]

            // tag::expired-period[]
            try {
                privacy.append(StreamId.of("customer-grace"), ExpectedVersion.any(), List.of(EventData.of(
                        "CustomerRegistered", Json.of(new CustomerRegistered("grace@example.com", "Grace", "gold")))));
            } catch (InvalidEventException e) {
                System.out.println(e.getMessage()); // … period … has expired; it takes no new data
            }
            // end::expired-period[]

            // tag::rotate[]
            KeyService.Rotation rotation = privacy.rotateMasterKey(dora);               // needs rotate-keys
            System.out.println(rotation);   // Rotation[newEpoch=…, rewrapped=4, destroyedEpochs=[…]]
            KeyService.KeyCheck check = privacy.keys().checkKeys();                     // no permission needed
            System.out.println(check);      // KeyCheck[byKind={…}, failingByEpoch={}, …, liveEpochs=[…]]: epochs unsigned
            // end::rotate[]
        }
    }
}
