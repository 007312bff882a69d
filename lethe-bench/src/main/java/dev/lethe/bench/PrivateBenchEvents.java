package dev.lethe.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The events of the privacy benchmarks: ~300-byte JSON sales to a customer, like {@link BenchEvents}'
 * but naming the customer. {@value #SALE} has three personal fields (customer number: subject key,
 * identity; name: identity; email: contact), {@value #NOTICE} two (customer number and email; the name
 * field is absent, a longer note keeps the size), and {@value #PLAIN_SALE} is {@value #SALE}'s twin
 * with no registered schema: the plaintext reference.
 */
final class PrivateBenchEvents {
    static final String SALE = "CustomerSale";
    static final String NOTICE = "CustomerNotice";
    static final String PLAIN_SALE = "PlainSale";
    static final Principal DPO = new Principal("bench", "dpo");

    private static final String SCHEMA = """
            {"type":"object","properties":{
              "customerNumber":{"type":"string","x-gdpr":{"key":true,"pii":true,"dataGroup":"identity"}},
              "name":{"type":"string","x-gdpr":{"pii":true,"dataGroup":"identity"}},
              "email":{"type":"string","x-gdpr":{"pii":true,"dataGroup":"contact"}},
              "product":{"type":"string"},"reason":{"type":"string"},"amount":{"type":"number"}}}
            """;
    private static final String[] PRODUCTS = {"Global Equity Fund", "Euro Bond Fund", "Sustainable Growth Fund"};
    private static final String[] REASONS = {"retirement", "education", "house purchase", "savings"};

    private PrivateBenchEvents() {}

    /** Registers the schemas of {@value #SALE} and {@value #NOTICE} (a no-op when already registered). */
    static void register(SqliteLethe lethe) {
        JsonNode schema = Json.parse(SCHEMA).asTree();
        for (String type : List.of(SALE, NOTICE)) {
            lethe.privacy()
                    .registerSchema(
                            DPO,
                            JsonSchemaNotation.read(type, schema),
                            SchemaRegistry.Notation.JSON_SCHEMA,
                            SchemaRegistry.propertyPaths(schema),
                            Json.of(schema));
        }
    }

    /** Event {@code n} of {@code type}, for the customer {@code customer}. */
    static EventData event(String type, long n, String customer) {
        String personal = type.equals(NOTICE)
                ? "\"customerNumber\":\"%1$s\",\"email\":\"%1$s@example.pt\""
                : "\"customerNumber\":\"%1$s\",\"name\":\"Maria Fernandes %1$s\",\"email\":\"%1$s@example.pt\"";
        String note = type.equals(NOTICE)
                ? "Quarterly rebalancing of the model portfolio as agreed with the customer"
                : "Quarterly rebalancing of the portfolio";
        String json = String.format(
                Locale.ROOT,
                "{" + personal + ",\"product\":\"%2$s\",\"reason\":\"%3$s\",\"amount\":%4$d.00,"
                        + "\"currency\":\"EUR\",\"channel\":\"advisor\",\"branch\":\"Lisbon-Baixa\",\"sequence\":%5$d,"
                        + "\"note\":\"%6$s\"}",
                customer,
                PRODUCTS[(int) (n % PRODUCTS.length)],
                REASONS[(int) (n % REASONS.length)],
                1_000 + n % 50_000,
                n,
                note);
        return EventData.of(type, Json.parse(json));
    }

    /** Events {@code first … first + size - 1}, event {@code n} for customer {@code n % customers}. */
    static List<EventData> batch(String type, long first, int size, int customers) {
        List<EventData> events = new ArrayList<>(size);
        for (long n = first; n < first + size; n++) {
            events.add(event(type, n, customer(n % customers)));
        }
        return events;
    }

    /** A customer number: a natural key, resolved to a subject through the blind index. */
    static String customer(long n) {
        return String.format(Locale.ROOT, "C%07d", n);
    }

    static StreamId stream(long n) {
        return StreamId.of(String.format(Locale.ROOT, "sales-%05d", n % BenchEvents.CUSTOMERS));
    }
}
