package dev.lethe.server.demo;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivacyCodec;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.RevealedEvent;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.keys.ErasureReceipt;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.projection.ProjectionRuntime;
import dev.lethe.core.projection.ProjectionStore;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import dev.lethe.server.demo.DemoProjections.CustomerSummary;
import dev.lethe.server.demo.DemoProjections.SalesByProduct;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * The demo: a wealth manager's customers register with name, e-mail and address, buy products for a
 * reason, one moves house; projections follow live; a query shows a customer as of last month; the
 * customer is forgotten — her personal data redacted everywhere while sales per product and reason
 * still add up; a byte scan of the data directory finds none of the personal values written.
 */
public final class DemoStory {
    private static final Duration WAIT = Duration.ofSeconds(30);
    static final Principal DPO = new Principal("demo-dpo", "dpo");
    static final Principal ADVISOR = new Principal("demo-advisor", "advisor");
    static final Principal ANALYST = new Principal("demo-analyst", "analyst");
    private static final List<String> SCHEMAS = List.of("CustomerRegistered", "ProductSold", "AddressChanged");

    private final PrivateEventStore lethe;
    private final ProjectionStore states;
    private final StoryClock clock;
    private final Path dataDirectory;
    private String command = "./lethe";
    private final PrintWriter out;
    private final String run = UUID.randomUUID().toString().substring(0, 6);
    private final List<String> personalValues = new ArrayList<>();
    private int appends;

    /**
     * @param clock the clock the store and key service were opened with (the story moves it)
     * @param dataDirectory scanned for plaintext at the end; null to skip the scan
     */
    public DemoStory(
            PrivateEventStore lethe,
            ProjectionStore states,
            java.time.Clock clock,
            Path dataDirectory,
            PrintWriter out) {
        this.lethe = lethe;
        this.states = states;
        this.clock = clock instanceof StoryClock story ? story : null;
        this.dataDirectory = dataDirectory;
        this.out = out;
    }

    /**
     * The command its "Next, try" hints start with: {@code ./lethe} and the options that name this store
     * and its master key (a plain {@code ./lethe} would open ./lethe-data). Default: {@code ./lethe}.
     */
    public DemoStory hintsRunning(String command) {
        this.command = java.util.Objects.requireNonNull(command, "command");
        return this;
    }

    /** A clock for {@link #DemoStory}: pass it to the store and the key service. */
    public static java.time.Clock storyClock() {
        return new StoryClock();
    }

    /** What the story left behind, for tests and for the closing hints. */
    public record Outcome(
            StreamId ada,
            SubjectId adaSubject,
            Instant lastMonth,
            String adaCityThen,
            String adaCityNow,
            SalesByProduct salesBefore,
            SalesByProduct salesAfter,
            ErasureReceipt receipt,
            PlaintextScan.Result scanBefore,
            PlaintextScan.Result scanAfter,
            List<String> personalValues) {}

    /** The key-store note that marks a data directory the demo wrote. */
    public static final String DEMO_NOTE = "demo-data";

    /** Whether the demo wrote this store (its note is set before the demo writes anything). */
    public static boolean wroteTo(PrivateEventStore lethe) {
        return lethe.keys().note(DEMO_NOTE).isPresent();
    }

    public Outcome run() throws InterruptedException, IOException {
        // On an empty store the story starts last month: the store records its first chapter then.
        boolean fresh = lethe.store().headPosition() < 0 && clock != null;
        if (fresh) {
            clock.shiftBack(Duration.ofDays(35));
        }
        // Marked, before anything is written, when the store is empty: lethe serve --demo lets its well-known
        // tokens only into a store the demo wrote from its start (a store with data of its own stays unmarked).
        if (lethe.store().headPosition() < 0) {
            lethe.keys().setNote(DEMO_NOTE, "true");
        }
        registerSchemas();
        try (ProjectionRuntime runtime = new ProjectionRuntime(lethe.store(), states)) {
            DemoProjections.ALL.forEach(runtime::start);

            if (fresh) {
                step(
                        1,
                        "Last month: three customers register (stream ids are pseudonyms; name, e-mail, street are sealed)");
            } else {
                step(1, "Three customers register (stream ids are pseudonyms; name, e-mail, street are sealed)");
            }
            StreamId ada =
                    register("Ada Lovelace", "ada.lovelace." + run + "@example.com", "Rua Augusta 12", "Lisbon", "PT");
            StreamId alan = register(
                    "Alan Turing", "alan.turing." + run + "@example.com", "Hampton Road 8", "Teddington", "UK");
            StreamId grace = register(
                    "Grace Hopper", "grace.hopper." + run + "@example.com", "Arlington Ave 3", "Arlington", "US");

            step(2, "They buy products, each for a reason");
            sell(ada, "Global Equity Fund", "retirement", 25_000);
            sell(alan, "Global Equity Fund", "education", 10_000);
            sell(grace, "Euro Bond Fund", "retirement", 40_000);
            sell(ada, "Euro Bond Fund", "house purchase", 15_000);
            sell(grace, "Global Equity Fund", "retirement", 5_000);

            Thread.sleep(20);
            Instant lastMonth = fresh
                    ? Instant.now().minus(Duration.ofDays(20)).truncatedTo(ChronoUnit.SECONDS)
                    : Instant.now().truncatedTo(ChronoUnit.MILLIS);
            Thread.sleep(20);
            if (clock != null) {
                clock.backToNow();
            }
            step(3, "Today: Ada moves from Lisbon to Porto");
            move(ada, "Rua das Flores 7", "Porto", "PT");
            awaitProjections(runtime);

            step(4, "Projection customer-summary (names stay sealed in it, opened for the reader's role)");
            for (StreamId customer : List.of(ada, alan, grace)) {
                out.printf(
                        Locale.ROOT,
                        "     %-18s advisor sees %-14s analyst sees %-22s %-10s invested %,7.0f%n",
                        customer,
                        summaryName(runtime, customer, ADVISOR),
                        summaryName(runtime, customer, ANALYST),
                        summary(runtime, customer).city(),
                        summary(runtime, customer).invested());
            }

            step(5, "Temporal query: Ada as of " + lastMonth + (fresh ? " (last month)" : ""));
            CustomerSummary then = runtime.stateAsOf(DemoProjections.CUSTOMER_SUMMARY, ada, lastMonth);
            String cityNow = summary(runtime, ada).city();
            out.printf(
                    "     her stream then held %d of %d events; she lived in %s then, in %s now%n",
                    lethe.store().readStreamAsOf(ada, lastMonth, 0, 100).size(),
                    lethe.store().streamInfo(ada).eventCount(),
                    then.city(),
                    cityNow);

            step(6, "Projection sales-by-product: sales per product and reason (no personal data needed)");
            SalesByProduct before = sales(runtime);
            printSales(before);

            PlaintextScan.Result scanBefore = scan();
            step(7, "Ada asks to be forgotten. The DPO forgets her: one key deletion, whatever her number of events");
            SubjectId subject = PrivacyCodec.subjectsOf(lethe.store()
                            .readStream(ada, 0, dev.lethe.core.store.Direction.FORWARD, 1)
                            .get(0)
                            .metadata())
                    .get("customerNumber");
            ErasureReceipt receipt = lethe.forget(subject, "GDPR Art. 17(1)(a)", "customer request", DPO);
            out.printf(
                    "     receipt %s: subject %s forgotten by %s at %s on %s; destroyed: %s%n",
                    receipt.id(),
                    subject,
                    receipt.actor(),
                    receipt.at(),
                    receipt.legalBasis(),
                    String.join(", ", receipt.destroyed()));
            awaitProjections(runtime);

            step(8, "After the forget, the advisor reads Ada's stream and the read model again");
            for (RecordedEvent event : lethe.store().readStream(ada, 0, dev.lethe.core.store.Direction.FORWARD, 100)) {
                RevealedEvent revealed = lethe.reveal(event, ADVISOR);
                out.printf(
                        "     v%d %-18s redacted %s; kept %s%n",
                        event.version(),
                        event.type(),
                        revealed.redactions().stream()
                                .map(r -> r.path() + " (" + r.reason().label() + ")")
                                .toList(),
                        plainPart(revealed.data().asTree()));
            }
            out.printf("     customer-summary for Ada: name %s%n", summaryName(runtime, ada, ADVISOR));
            SalesByProduct after = sales(runtime);
            out.printf("     sales still add up: %d sold before, %d after%n", total(before), total(after));

            PlaintextScan.Result scanAfter = scan();
            step(9, "Proof: a byte scan of every file under the data directory");
            printScan("before the forget", scanBefore);
            printScan("after the forget ", scanAfter);

            long head = lethe.store().headPosition();
            out.printf(
                    "%nDone: %d appends, sealed and committed durably; the log's head is at position %d.%n",
                    appends, head);
            String lethe = command;
            out.println("Next, try:");
            out.println(
                    "  " + lethe + " read " + ada + " --role advisor        Ada's stream, as the advisor sees it now");
            out.println("  " + lethe + " read " + alan + " --role analyst       no personal group: restricted");
            out.println("  " + lethe + " read " + alan + " --as-of " + lastMonth + " --role advisor");
            out.println("  " + lethe + " projections show customer-summary " + grace + " --role advisor");
            out.println("  " + lethe + " read '$audit'       the audit trail;  " + lethe + " policy check;  " + lethe
                    + " stats");
            out.flush();
            return new Outcome(
                    ada,
                    subject,
                    lastMonth,
                    then.city(),
                    cityNow,
                    before,
                    after,
                    receipt,
                    scanBefore,
                    scanAfter,
                    List.copyOf(personalValues));
        }
    }

    private void registerSchemas() {
        for (String type : SCHEMAS) {
            JsonNode schema = Json.parse(resource(type + ".schema.json")).asTree();
            lethe.registerSchema(
                    DPO,
                    JsonSchemaNotation.read(type, schema),
                    SchemaRegistry.Notation.JSON_SCHEMA,
                    SchemaRegistry.propertyPaths(schema),
                    Json.of(schema));
        }
    }

    static String resource(String name) {
        try (InputStream in = DemoStory.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException | NullPointerException e) {
            throw new UncheckedIOException(new IOException("demo resource " + name + " is missing", e));
        }
    }

    private void awaitProjections(ProjectionRuntime runtime) throws InterruptedException {
        long head = lethe.store().headPosition();
        for (var projection : DemoProjections.ALL) {
            if (!runtime.awaitPosition(projection.name(), head, WAIT)) {
                throw new IllegalStateException(
                        "projection " + projection.name() + " did not catch up: " + runtime.status(projection.name()));
            }
        }
    }

    private CustomerSummary summary(ProjectionRuntime runtime, StreamId customer) {
        return runtime.state(DemoProjections.CUSTOMER_SUMMARY, customer.value()).orElseThrow();
    }

    private String summaryName(ProjectionRuntime runtime, StreamId customer, Principal reader) {
        String state = runtime.stateJson(DemoProjections.CUSTOMER_SUMMARY.name(), customer.value())
                .orElseThrow();
        PrivacyCodec.RevealedState revealed = lethe.revealState(Json.parse(state), reader);
        JsonNode name = revealed.state().asTree().get("name");
        return name.isNull()
                ? "["
                        + revealed.redactions().stream()
                                .filter(r -> r.path().equals("name"))
                                .findFirst()
                                .map(r -> r.reason().label())
                                .orElse("redacted")
                        + "]"
                : name.asText();
    }

    private static SalesByProduct sales(ProjectionRuntime runtime) {
        return runtime.state(DemoProjections.SALES_BY_PRODUCT, "global").orElseThrow();
    }

    private static int total(SalesByProduct sales) {
        return sales.sales().keySet().stream().mapToInt(sales::total).sum();
    }

    private void printSales(SalesByProduct sales) {
        for (Map.Entry<String, Map<String, Integer>> product : sales.sales().entrySet()) {
            out.printf("     %-20s %d sold  %s%n", product.getKey(), sales.total(product.getKey()), product.getValue());
        }
    }

    private PlaintextScan.Result scan() throws IOException {
        return dataDirectory == null
                ? new PlaintextScan.Result(0, 0, List.of())
                : PlaintextScan.scan(dataDirectory, personalValues);
    }

    private void printScan(String when, PlaintextScan.Result result) {
        if (dataDirectory == null) {
            out.println("     (no data directory to scan: in-memory store)");
            return;
        }
        out.printf(
                "     %s: %d files, %,d bytes, %d personal values looked for: %s%n",
                when,
                result.files(),
                result.bytes(),
                personalValues.size(),
                result.hits().isEmpty() ? "none found" : "FOUND " + result.hits());
    }

    private static String plainPart(JsonNode data) {
        com.fasterxml.jackson.databind.node.ObjectNode copy = data.deepCopy();
        copy.remove("customerNumber");
        copy.remove("name");
        copy.remove("email");
        if (copy.has("address")) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) copy.get("address")).remove("street");
        }
        return copy.toString();
    }

    private StreamId register(String name, String email, String street, String city, String country) {
        StreamId customer =
                StreamId.of("customer-" + UUID.randomUUID().toString().substring(0, 8));
        // Drawn on its own: a number derived from the stream id could be rebuilt from it after a forget.
        String number = "C-" + run + "-" + UUID.randomUUID().toString().substring(0, 4);
        personalValues.addAll(List.of(name, email, street, number));
        String data = String.format(
                "{\"customerNumber\":\"%s\",\"name\":\"%s\",\"email\":\"%s\",\"address\":{\"street\":\"%s\",\"city\":\"%s\",\"country\":\"%s\"}}",
                number, name, email, street, city, country);
        AppendResult result = append(customer, ExpectedVersion.noStream(), "CustomerRegistered", data);
        print(result, "CustomerRegistered", "[sealed name, e-mail, street], " + city);
        customerNumbers.put(customer, number);
        return customer;
    }

    private final Map<StreamId, String> customerNumbers = new java.util.HashMap<>();

    private void sell(StreamId customer, String product, String reason, double amount) {
        String data = String.format(
                Locale.ROOT,
                "{\"customerNumber\":\"%s\",\"product\":\"%s\",\"reason\":\"%s\",\"amount\":%.2f,\"currency\":\"EUR\"}",
                customerNumbers.get(customer),
                product,
                reason,
                amount);
        print(
                append(customer, ExpectedVersion.streamExists(), "ProductSold", data),
                "ProductSold",
                String.format(Locale.ROOT, "%s for %s, EUR %,.0f", product, reason, amount));
    }

    private void move(StreamId customer, String street, String city, String country) {
        personalValues.add(street);
        String data = String.format(
                "{\"customerNumber\":\"%s\",\"address\":{\"street\":\"%s\",\"city\":\"%s\",\"country\":\"%s\"}}",
                customerNumbers.get(customer), street, city, country);
        print(
                append(customer, ExpectedVersion.streamExists(), "AddressChanged", data),
                "AddressChanged",
                "[sealed street], " + city);
    }

    private AppendResult append(StreamId stream, ExpectedVersion expected, String type, String data) {
        appends++;
        return lethe.append(stream, expected, List.of(EventData.of(type, data)));
    }

    private void step(int number, String title) {
        out.printf("%n%d. %s%n", number, title);
        out.flush();
    }

    private void print(AppendResult result, String type, String summary) {
        out.printf(
                "     #%-4d %-18s v%-2d %-19s %s%n",
                result.firstPosition(), result.streamId(), result.firstVersion(), type, summary);
        out.flush();
    }
}
