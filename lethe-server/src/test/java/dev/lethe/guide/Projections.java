package dev.lethe.guide;

import dev.lethe.core.privacy.PersonalValue;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivacyCodec;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.projection.Projection;
import dev.lethe.core.projection.ProjectionRuntime;
import dev.lethe.core.projection.ProjectionStatus;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Guide §7: read models that hold personal data. */
public class Projections {
    record CustomerRegistered(@DataSubject @PersonalData(group = "contact") String email,
                              @PersonalData String name, String tier) {}
    record ProductSold(@DataSubject String customer, String product, long cents) {}

    // tag::state[]
    record Summary(PersonalValue name, String tier, int purchases) {     // the name stays sealed
        static final Summary EMPTY = new Summary(null, null, 0);
    }
    record SummaryView(String name, String tier, int purchases) {}       // what a reader gets
    // end::state[]

    record Sales(Map<String, Long> centsByProduct) {
        static final Sales EMPTY = new Sales(new TreeMap<>());
        Sales plus(String product, long cents) {
            Map<String, Long> next = new TreeMap<>(centsByProduct);
            next.merge(product, cents, Long::sum);
            return new Sales(next);
        }
    }

    public static void main(String[] args) throws Exception {
        Path dir = Guide.dir("projections");
        OpenStore.deleteTree(dir);
        Principal dora = new Principal("dora", "dpo");
        // tag::define[]
        Projection<Summary> summaries = Projection.perStream("customer-card", Summary.class, Summary.EMPTY)
                .category("customer")
                .on("CustomerRegistered", (state, event) -> new Summary(
                        PersonalValue.of(event, "name"),                      // sealed, with its event id and path
                        event.data().asTree().path("tier").asText(), state.purchases()))
                .on("ProductSold", (state, event) -> new Summary(state.name(), state.tier(), state.purchases() + 1))
                .build();
        // end::define[]
        Projection<Sales> sales = Projection.global("sales-by-product", Sales.class, Sales.EMPTY)
                .on("ProductSold", (state, event) -> state.plus(
                        event.data().asTree().path("product").asText(),     // not personal: plain
                        event.data().asTree().path("cents").asLong()))
                .build();

        try (SqliteLethe lethe = SqliteLethe.open(dir);
                ProjectionRuntime runtime = new ProjectionRuntime(lethe.store(), lethe.projections())) {
            PrivateEventStore privacy = lethe.privacy();
            privacy.registerRecord(dora, "CustomerRegistered", CustomerRegistered.class);
            privacy.registerRecord(dora, "ProductSold", ProductSold.class);
            AppendResult registered = privacy.append(StreamId.of("customer-7f3c"), ExpectedVersion.noStream(),
                    List.of(EventData.of("CustomerRegistered",
                            Json.of(new CustomerRegistered("ada@example.com", "Ada", "gold")))));
            RecordedEvent first = lethe.store().readAll(registered.firstPosition(), 1).get(0);
            SubjectId ada = PrivacyCodec.subjectsOf(first.metadata()).get("email");

            // tag::start[]
            runtime.onFailure(status -> System.out.println("alert: " + status.name() + " " + status.failure().orElse("")));
            runtime.start(summaries);   // from its checkpoint: catches up in the background, then follows live
            AppendResult sold = privacy.append(StreamId.of("customer-7f3c"), ExpectedVersion.exactly(0),
                    List.of(EventData.of("ProductSold", Json.of(new ProductSold(ada.toString(), "Euro Bond Fund", 50_000)))));
            runtime.awaitPosition("customer-card", sold.lastPosition(), Duration.ofSeconds(10)); // read your write
            // end::start[]
            runtime.start(sales);
            runtime.awaitPosition("sales-by-product", sold.lastPosition(), Duration.ofSeconds(10));
            System.out.println(runtime.status("customer-card")); // ProjectionStatus[…, phase=LIVE, …]

            // tag::query[]
            Summary stored = runtime.state(summaries, "customer-7f3c").orElseThrow();
            System.out.println(stored.name().sealed().startsWith("lethe:v1:"));    // true: sealed in projections.db
            String json = runtime.stateJson("customer-card", "customer-7f3c").orElseThrow();

            PrivacyCodec.RevealedState forAdvisor = privacy.revealState(Json.parse(json), new Principal("ann", "advisor"));
            SummaryView view = Json.exactMapper().treeToValue(forAdvisor.state().asTree(), SummaryView.class);
            System.out.println(view);                            // SummaryView[name=Ada, tier=gold, purchases=1]

            PrivacyCodec.RevealedState forAnalyst = privacy.revealState(Json.of(stored), new Principal("sam", "analyst"));
            System.out.println(forAnalyst.state() + " " + forAnalyst.redactions());
            // {"name":null,"tier":"gold","purchases":1} [Redaction[path=name, reason=RESTRICTED, detail=null]]
            // end::query[]
            System.out.println(runtime.state(sales, Projection.GLOBAL_KEY).orElseThrow()); // no personal data


            // tag::as-of[]
            Instant registeredAt = first.recordedAt();
            Summary then = runtime.stateAsOf(summaries, StreamId.of("customer-7f3c"), registeredAt); // folded from the log
            System.out.println(then.purchases());                                    // 0
            // end::as-of[]

            // tag::failure[]
            runtime.start(Projection.global("sales-count", Integer.class, 0)
                    .on("ProductSold", (count, event) -> {
                        if (event.data().asTree().path("cents").asLong() > 100_000) {
                            throw new IllegalStateException("too big: " + event.data());   // quotes data
                        }
                        return count + 1;
                    }).build());
            AppendResult big = privacy.append(StreamId.of("customer-7f3c"), ExpectedVersion.any(), List.of(
                    EventData.of("ProductSold", Json.of(new ProductSold(ada.toString(), "Global Equity", 900_000)))));
            System.out.println(runtime.awaitPosition("sales-count", big.lastPosition(), Duration.ofSeconds(10)));
            ProjectionStatus status = runtime.status("sales-count");   // false above: it failed
            System.out.println(status.phase() + " " + status.failure().orElseThrow());
            // FAILED folding ProductSold at position 7 threw java.lang.IllegalStateException
            runtime.start(Projection.global("sales-count", Integer.class, 0)    // fixed: resumes from its checkpoint
                    .on("ProductSold", (count, event) -> count + 1).build());
            // end::failure[]
            runtime.awaitPosition("sales-count", big.lastPosition(), Duration.ofSeconds(10));
            System.out.println(runtime.failureCause("sales-count"));
            System.out.println(runtime.stateJson("sales-count", Projection.GLOBAL_KEY).orElseThrow());   // 2

            // tag::rebuild[]
            runtime.rebuild("customer-card");    // deletes its states and checkpoint, folds again from 0
            runtime.awaitPosition("customer-card", lethe.store().headPosition(), Duration.ofSeconds(10));
            System.out.println(runtime.status("customer-card").phase());
            // end::rebuild[]

            // tag::forget-reaches[]
            privacy.forget(ada, "GDPR Art. 17(1)(a)", "customer request", dora);
            PrivacyCodec.RevealedState after = privacy.revealState(Json.parse(
                    runtime.stateJson("customer-card", "customer-7f3c").orElseThrow()), dora);
            System.out.println(after.state() + " " + after.redactions());
            // {"name":null,"tier":"gold","purchases":1} [Redaction[path=name, reason=FORGOTTEN]]: no rebuild
            // end::forget-reaches[]
        }   // the runtime closes first (declared last), then the store
        System.out.println(serve(dir, summaries));
    }

    // tag::lifecycle[]
    static ProjectionStatus.Phase serve(Path dir, Projection<Summary> summaries) throws InterruptedException {
        try (SqliteLethe lethe = SqliteLethe.open(dir);
                ProjectionRuntime runtime = new ProjectionRuntime(lethe.store(), lethe.projections())) {
            runtime.start(summaries);            // resumes from its checkpoint in projections.db
            runtime.awaitPosition(summaries.name(), lethe.store().headPosition(), Duration.ofSeconds(10));
            // … answer queries with runtime.stateJson(…) and lethe.privacy().revealState(…)
            return runtime.status(summaries.name()).phase();
        }   // closes the runtime first (it stops the projections), then the store
    }
    // end::lifecycle[]
}
