package dev.lethe.server.demo;

import dev.lethe.core.projection.ProjectionRuntime;
import dev.lethe.core.projection.ProjectionStore;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import dev.lethe.server.demo.DemoProjections.CustomerSummary;
import dev.lethe.server.demo.DemoProjections.SalesByProduct;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * The demo: customers of a wealth manager register, buy products for a reason, one moves house; a
 * projection per customer and one of sales per product and reason follow live; a temporal query shows
 * a customer as they were before the move. Runs on any {@link EventStore}.
 */
public final class DemoStory {
    private static final Duration WAIT = Duration.ofSeconds(30);

    private final EventStore store;
    private final ProjectionStore states;
    private final PrintWriter out;
    private int appends;

    public DemoStory(EventStore store, ProjectionStore states, PrintWriter out) {
        this.store = store;
        this.states = states;
        this.out = out;
    }

    /** What the story left behind, for tests and for the closing hints. */
    public record Outcome(
            StreamId ada,
            Instant beforeMove,
            CustomerSummary adaThen,
            CustomerSummary adaNow,
            SalesByProduct sales,
            long headPosition) {}

    public Outcome run() throws InterruptedException {
        try (ProjectionRuntime runtime = new ProjectionRuntime(store, states)) {
            DemoProjections.ALL.forEach(runtime::start);

            step(1, "Three customers register (one stream each; the stream id is a pseudonym, never a name)");
            StreamId ada = register("Ada Lovelace", "ada.lovelace@example.com", "Rua Augusta 12", "Lisbon");
            StreamId alan = register("Alan Turing", "alan.turing@example.com", "Hampton Road 8", "Teddington");
            StreamId grace = register("Grace Hopper", "grace.hopper@example.com", "Arlington Ave 3", "Arlington");

            step(2, "They buy products, each for a reason");
            sell(ada, "Global Equity Fund", "retirement", 25_000);
            sell(alan, "Global Equity Fund", "education", 10_000);
            sell(grace, "Euro Bond Fund", "retirement", 40_000);
            sell(ada, "Euro Bond Fund", "house purchase", 15_000);
            sell(grace, "Global Equity Fund", "retirement", 5_000);

            Thread.sleep(20);
            Instant beforeMove = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
            Thread.sleep(20);
            step(3, "Time T = " + beforeMove + " is noted. Then Ada moves from Lisbon to Porto");
            append(
                    ada,
                    "AddressChanged",
                    "{\"address\":{\"street\":\"Rua das Flores 7\",\"city\":\"Porto\",\"country\":\"PT\"}}");

            long head = store.headPosition();
            for (var projection : DemoProjections.ALL) {
                if (!runtime.awaitPosition(projection.name(), head, WAIT)) {
                    throw new IllegalStateException("projection " + projection.name() + " did not catch up: "
                            + runtime.status(projection.name()));
                }
            }
            CustomerSummary adaNow =
                    runtime.state(DemoProjections.CUSTOMER_SUMMARY, ada.value()).orElseThrow();
            step(4, "Projection customer-summary, one state per customer, followed the log live");
            for (StreamId customer : List.of(ada, alan, grace)) {
                CustomerSummary summary = runtime.state(DemoProjections.CUSTOMER_SUMMARY, customer.value())
                        .orElseThrow();
                out.printf(
                        Locale.ROOT,
                        "     %-20s %-14s %-10s invested %,9.0f in %s%n",
                        customer,
                        summary.name(),
                        summary.city(),
                        summary.invested(),
                        summary.products());
            }

            step(5, "Temporal query: Ada as of T, before the move");
            List<RecordedEvent> then = store.readStreamAsOf(ada, beforeMove, 0, 100);
            CustomerSummary adaThen = runtime.stateAsOf(DemoProjections.CUSTOMER_SUMMARY, ada, beforeMove);
            out.printf(
                    "     her stream as of T holds %d of %d events; her summary as of T: %s, now: %s%n",
                    then.size(), store.streamInfo(ada).eventCount(), adaThen.city(), adaNow.city());

            step(6, "Projection sales-by-product: sales per product and reason");
            SalesByProduct sales =
                    runtime.state(DemoProjections.SALES_BY_PRODUCT, "global").orElseThrow();
            for (Map.Entry<String, Map<String, Integer>> product : sales.sales().entrySet()) {
                out.printf(
                        "     %-20s %d sold  %s%n",
                        product.getKey(), sales.total(product.getKey()), product.getValue());
            }

            out.printf("%nDone: %d appends committed durably; the log's head is at position %d.%n", appends, head);
            out.println("Next, try:");
            out.println("  ./lethe read " + ada + "                     Ada's stream");
            out.println("  ./lethe read " + ada + " --as-of " + beforeMove + "   as it was at T");
            out.println("  ./lethe projections show customer-summary " + ada);
            out.println("  ./lethe read --all --category customer --limit 20");
            out.println("  ./lethe tail --from 0 --count 5");
            out.println("  ./lethe projections list   |   ./lethe stats");
            out.flush();
            return new Outcome(ada, beforeMove, adaThen, adaNow, sales, head);
        }
    }

    private void step(int number, String title) {
        out.printf("%n%d. %s%n", number, title);
        out.flush();
    }

    private StreamId register(String name, String email, String street, String city) {
        StreamId customer =
                StreamId.of("customer-" + UUID.randomUUID().toString().substring(0, 8));
        String data = String.format(
                "{\"name\":\"%s\",\"email\":\"%s\",\"address\":{\"street\":\"%s\",\"city\":\"%s\"}}",
                name, email, street, city);
        AppendResult result =
                store.append(customer, ExpectedVersion.noStream(), List.of(EventData.of("CustomerRegistered", data)));
        appends++;
        print(result, "CustomerRegistered", name + ", " + city);
        return customer;
    }

    private void sell(StreamId customer, String product, String reason, double amount) {
        String data = String.format(
                Locale.ROOT,
                "{\"product\":\"%s\",\"reason\":\"%s\",\"amount\":%.2f,\"currency\":\"EUR\"}",
                product,
                reason,
                amount);
        AppendResult result =
                store.append(customer, ExpectedVersion.streamExists(), List.of(EventData.of("ProductSold", data)));
        appends++;
        print(result, "ProductSold", String.format(Locale.ROOT, "%s for %s, EUR %,.0f", product, reason, amount));
    }

    private void append(StreamId customer, String type, String data) {
        AppendResult result = store.append(customer, ExpectedVersion.streamExists(), List.of(EventData.of(type, data)));
        appends++;
        print(result, type, "Rua das Flores 7, Porto");
    }

    private void print(AppendResult result, String type, String summary) {
        out.printf(
                "     #%-4d %-18s v%-2d %-19s %s%n",
                result.firstPosition(), result.streamId(), result.firstVersion(), type, summary);
        out.flush();
    }
}
