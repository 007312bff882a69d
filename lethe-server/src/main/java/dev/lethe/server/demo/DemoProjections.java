package dev.lethe.server.demo;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.Envelope;
import dev.lethe.core.privacy.PersonalValue;
import dev.lethe.core.projection.Projection;
import dev.lethe.core.store.RecordedEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The projections of the demo story, also the ones the command line can rebuild: a summary per
 * customer, and sales per product and reason.
 */
public final class DemoProjections {
    private DemoProjections() {}

    /** The most characters these read models keep of a value they copy; longer ones end in {@value #TRUNCATED}. */
    static final int MAX_TEXT = 200;

    static final String TRUNCATED = "…(cut)";

    /** The most distinct products a customer summary lists (later ones are counted in {@code invested} only). */
    static final int MAX_PRODUCTS_PER_CUSTOMER = 100;

    /** The most products, and reasons per product, sales are kept for; later ones count under {@value #OTHER}. */
    static final int MAX_PRODUCTS = 1_000;

    static final int MAX_REASONS_PER_PRODUCT = 20;

    static final String OTHER = "(other)";

    /**
     * One customer: the name stays sealed in the state ({@link PersonalValue}) and is opened at query
     * time for the caller's role, so a forget reaches this read model at once. {@code products}: each
     * product bought, once; {@code invested}: the sum of the sales' amounts, exact ({@code 0.10 + 0.20} is
     * {@code 0.30}, as money must be; an amount that is not a JSON number adds nothing: a schema that seals
     * {@code amount} leaves nothing to add, folds see sealed values).
     */
    public record CustomerSummary(
            PersonalValue name, String city, List<String> products, java.math.BigDecimal invested) {
        static final CustomerSummary EMPTY = new CustomerSummary(null, null, List.of(), java.math.BigDecimal.ZERO);
    }

    /** Sales per product, and per reason within each product. */
    public record SalesByProduct(Map<String, Map<String, Integer>> sales) {
        static final SalesByProduct EMPTY = new SalesByProduct(Map.of());

        public int total(String product) {
            return sales.getOrDefault(product, Map.of()).values().stream()
                    .mapToInt(Integer::intValue)
                    .sum();
        }
    }

    public static final Projection<CustomerSummary> CUSTOMER_SUMMARY = Projection.perStream(
                    "customer-summary", CustomerSummary.class, CustomerSummary.EMPTY)
            .category("customer")
            .on(
                    "CustomerRegistered",
                    (s, e) -> new CustomerSummary(
                            kept(e, "name"),
                            copied(e.data().asTree().path("address").path("city"), null),
                            s.products(),
                            s.invested()))
            .on(
                    "AddressChanged",
                    (s, e) -> new CustomerSummary(
                            s.name(),
                            copied(e.data().asTree().path("address").path("city"), null),
                            s.products(),
                            s.invested()))
            .on("ProductSold", (s, e) -> {
                // Each product once: a state that grew with every sale would grow without end.
                List<String> products = new ArrayList<>(s.products());
                String product = text(e, "product");
                if (!products.contains(product) && products.size() < MAX_PRODUCTS_PER_CUSTOMER) {
                    products.add(product);
                }
                return new CustomerSummary(
                        s.name(),
                        s.city(),
                        products,
                        // 34 significant digits: exact for any sum of money, and an amount of 1e999999999 is
                        // rounded away rather than spelt out to a billion digits.
                        s.invested().add(amount(e), java.math.MathContext.DECIMAL128));
            })
            .build();

    public static final Projection<SalesByProduct> SALES_BY_PRODUCT = Projection.global(
                    "sales-by-product", SalesByProduct.class, SalesByProduct.EMPTY)
            .category("customer")
            .on("ProductSold", (s, e) -> {
                Map<String, Map<String, Integer>> next = new TreeMap<>();
                s.sales().forEach((product, reasons) -> next.put(product, new TreeMap<>(reasons)));
                String product = text(e, "product");
                if (!next.containsKey(product) && next.size() >= MAX_PRODUCTS) {
                    product = OTHER; // still counted: totals add up, the state stays bounded
                }
                Map<String, Integer> reasons = next.computeIfAbsent(product, p -> new TreeMap<>());
                String reason = text(e, "reason");
                if (!reasons.containsKey(reason) && reasons.size() >= MAX_REASONS_PER_PRODUCT) {
                    reason = OTHER;
                }
                reasons.merge(reason, 1, Integer::sum);
                return new SalesByProduct(next);
            })
            .build();

    /** The demo story's projections. */
    public static final List<Projection<?>> ALL = List.of(CUSTOMER_SUMMARY, SALES_BY_PRODUCT);

    /** Every projection {@code lethe serve} runs and the command line knows: the story's and the data journey. */
    public static final List<Projection<?>> BUILT_IN =
            List.of(CUSTOMER_SUMMARY, SALES_BY_PRODUCT, DataJourney.PROJECTION);

    public static Optional<Projection<?>> byName(String name) {
        return BUILT_IN.stream().filter(p -> p.name().equals(name)).findFirst();
    }

    /**
     * A field's text, or {@value #NOT_GIVEN}: without strict mode a sale may lack its product or reason,
     * and one such event must not stop the read model for every later one.
     */
    private static String text(RecordedEvent event, String field) {
        return copied(event.data().asTree().get(field), NOT_GIVEN);
    }

    static final String NOT_GIVEN = "(not given)";

    /**
     * A sale's amount as written ({@code 1.50} stays {@code 1.50}), or zero when it is not a JSON number or
     * its exponent is beyond ±1,000.
     */
    private static java.math.BigDecimal amount(RecordedEvent sale) {
        com.fasterxml.jackson.databind.JsonNode amount = sale.data().asTree().path("amount");
        if (!amount.isNumber()) {
            return java.math.BigDecimal.ZERO;
        }
        java.math.BigDecimal value = amount.decimalValue();
        // An exponent no amount of money has (beyond ±1,000) adds nothing: summed, such values would grow past
        // what a state may be read back with (±999,999,999), and the customer's state could no longer be read.
        int exponent = value.precision() - value.scale() - 1;
        return Math.abs(exponent) > 1_000 ? java.math.BigDecimal.ZERO : value;
    }

    /**
     * A personal field as the read model keeps it, sealed ({@link PersonalValue#of}); {@value #NOT_KEPT} for an
     * object or list holding envelopes where one value belongs (a type with no schema takes any data): thrown,
     * that would stop the read model for good, since a rebuild folds the same event.
     */
    static PersonalValue kept(RecordedEvent event, String path) {
        try {
            return PersonalValue.of(event, path);
        } catch (IllegalArgumentException sealedInside) {
            return new PersonalValue(event.id(), path, '"' + NOT_KEPT + '"'); // JSON text, as of() keeps plaintext
        }
    }

    /**
     * What these read models keep of a value they copy as text: {@value #NOT_KEPT} for an envelope (a field
     * a schema classifies as personal: as text, every role would get a ciphertext none can open, which no
     * forget or expiry would ever change), else its text, or {@code absent} when it is missing.
     */
    static String copied(JsonNode value, String absent) {
        if (value == null || value.isNull() || value.isMissingNode()) {
            return absent;
        }
        if (value.isTextual() && Envelope.isEnvelope(value.asText())) {
            return NOT_KEPT;
        }
        String text = value.asText();
        // A bound per value, and per collection below: a state over 16 MiB fails its read model for good
        // (a rebuild folds the same events), and whoever may append could make one with a few big events.
        return text.length() > MAX_TEXT
                ? text.substring(0, Character.isHighSurrogate(text.charAt(MAX_TEXT - 1)) ? MAX_TEXT - 1 : MAX_TEXT)
                        + TRUNCATED
                : text;
    }

    static final String NOT_KEPT = "(personal data: not kept in this read model)";
}
