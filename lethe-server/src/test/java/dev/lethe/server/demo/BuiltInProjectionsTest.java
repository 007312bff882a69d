package dev.lethe.server.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The read models {@code lethe serve} runs on every data directory, folded event by event. */
class BuiltInProjectionsTest {
    private static final String ENVELOPE = "lethe:v1:AZcSWbpzYWxlLWVudmVsb3BlLW5vdC1yZWFs";

    private static RecordedEvent event(String stream, String type, String data) {
        return new RecordedEvent(
                UUID.randomUUID(), StreamId.of(stream), 0, 0, type, Json.parse(data), Json.parse("{}"), Instant.EPOCH);
    }

    @Test
    void a_field_a_schema_seals_is_not_copied_as_its_ciphertext() {
        DataJourney.State journey = DataJourney.PROJECTION.apply(
                DataJourney.State.EMPTY,
                event(
                        "journey-2021-04-30",
                        "PerformanceSignedOff",
                        "{\"code\":\"AMER_GBP_A_INC\",\"itemType\":\"ShareClass\",\"by\":\"" + ENVELOPE + "\"}"));
        assertThat(journey.events())
                .singleElement()
                .satisfies(e -> assertThat(e.by()).isEqualTo(DemoProjections.NOT_KEPT));
        DemoProjections.CustomerSummary summary = DemoProjections.CUSTOMER_SUMMARY.apply(
                DemoProjections.CustomerSummary.EMPTY,
                event("customer-1", "AddressChanged", "{\"address\":{\"city\":\"" + ENVELOPE + "\"}}"));
        assertThat(summary.city()).isEqualTo(DemoProjections.NOT_KEPT);
        // Envelopes inside an object where a name belongs (a type with no schema takes any data): not kept. Thrown,
        // it stopped the read model for good, a rebuild and a restart included (a reviewer's one append did so).
        DemoProjections.CustomerSummary odd = DemoProjections.CUSTOMER_SUMMARY.apply(
                DemoProjections.CustomerSummary.EMPTY,
                event("customer-2", "CustomerRegistered", "{\"name\":{\"first\":\"" + ENVELOPE + "\"}}"));
        assertThat(odd.name().sealed()).isEqualTo("\"" + DemoProjections.NOT_KEPT + "\"");
        DemoProjections.SalesByProduct sales = DemoProjections.SALES_BY_PRODUCT.apply(
                DemoProjections.SalesByProduct.EMPTY,
                event("customer-1", "ProductSold", "{\"product\":\"Euro Bond Fund\",\"reason\":\"" + ENVELOPE + "\"}"));
        assertThat(sales.sales()).containsOnlyKeys("Euro Bond Fund");
        assertThat(sales.sales().get("Euro Bond Fund")).containsOnlyKeys(DemoProjections.NOT_KEPT);
    }

    @Test
    void customer_summary_adds_amounts_exactly_and_an_absurd_one_does_not_stop_it() {
        DemoProjections.CustomerSummary summary = DemoProjections.CustomerSummary.EMPTY;
        for (String amount : new String[] {"10000", "0.10", "0.20", "\"12.5\"", "null"}) {
            summary = DemoProjections.CUSTOMER_SUMMARY.apply(
                    summary, event("customer-1", "ProductSold", "{\"product\":\"P\",\"amount\":" + amount + "}"));
        }
        // As money must add: 10000.30, not 10000.300000000001; text and null add nothing.
        assertThat(summary.invested()).isEqualByComparingTo("10000.30");
        assertThat(summary.invested().toPlainString()).isEqualTo("10000.30");
        // An exponent of a billion adds nothing (spelt out, a billion digits; summed twice, an exponent past what
        // a state is read back with), and the state still writes and reads as JSON.
        DemoProjections.CustomerSummary absurd = summary;
        for (int i = 0; i < 2; i++) {
            absurd = DemoProjections.CUSTOMER_SUMMARY.apply(
                    absurd, event("customer-1", "ProductSold", "{\"product\":\"P\",\"amount\":9e999999999}"));
        }
        assertThat(absurd.invested()).isEqualByComparingTo("10000.30");
        DemoProjections.CustomerSummary large = DemoProjections.CUSTOMER_SUMMARY.apply(
                summary, event("customer-1", "ProductSold", "{\"product\":\"P\",\"amount\":1e30}"));
        assertThat(large.invested()).isEqualByComparingTo("1000000000000000000000000010000.30");
        assertThat(large.invested().precision()).isLessThanOrEqualTo(34);
    }

    @Test
    void the_built_in_read_models_stay_bounded_whatever_is_appended() {
        // Long values are cut, and collections capped: a state over 16 MiB would fail its read model for good.
        String huge = "P".repeat(1_000_000);
        DemoProjections.CustomerSummary summary = DemoProjections.CustomerSummary.EMPTY;
        DemoProjections.SalesByProduct sales = DemoProjections.SalesByProduct.EMPTY;
        for (int i = 0; i < DemoProjections.MAX_PRODUCTS + 50; i++) {
            RecordedEvent sale = event(
                    "customer-1",
                    "ProductSold",
                    "{\"product\":\"" + i + huge.substring(0, i < 3 ? 1_000_000 : 10) + "\",\"reason\":\"r" + (i % 40)
                            + "\",\"amount\":1}");
            summary = DemoProjections.CUSTOMER_SUMMARY.apply(summary, sale);
            sales = DemoProjections.SALES_BY_PRODUCT.apply(sales, sale);
        }
        assertThat(summary.products()).hasSize(DemoProjections.MAX_PRODUCTS_PER_CUSTOMER);
        assertThat(summary.products().get(0))
                .hasSize(DemoProjections.MAX_TEXT + DemoProjections.TRUNCATED.length())
                .endsWith(DemoProjections.TRUNCATED);
        assertThat(summary.invested()).isEqualByComparingTo(String.valueOf(DemoProjections.MAX_PRODUCTS + 50));
        assertThat(sales.sales()).hasSize(DemoProjections.MAX_PRODUCTS + 1).containsKey(DemoProjections.OTHER);
        assertThat(sales.total(DemoProjections.OTHER)).isEqualTo(50);
        assertThat(sales.sales().values().stream()
                        .mapToInt(reasons -> reasons.size())
                        .max()
                        .orElseThrow())
                .isLessThanOrEqualTo(DemoProjections.MAX_REASONS_PER_PRODUCT + 1);
        // Every sale still counted somewhere: totals add up.
        assertThat(sales.sales().keySet().stream().mapToInt(sales::total).sum())
                .isEqualTo(DemoProjections.MAX_PRODUCTS + 50);

        DataJourney.State journey = DataJourney.State.EMPTY;
        for (int i = 0; i < DataJourney.MAX_ENTRIES + 10; i++) {
            journey = DataJourney.PROJECTION.apply(
                    journey,
                    event("journey-x", "PerformanceSignedOff", "{\"code\":\"C" + i + huge.substring(0, 5_000) + "\"}"));
        }
        assertThat(journey.events()).hasSize(DataJourney.MAX_ENTRIES);
        assertThat(journey.events().get(0).code()).startsWith("C10"); // the latest kept
        assertThat(journey.events().get(0).code()).hasSizeLessThanOrEqualTo(DemoProjections.MAX_TEXT + 10);
    }

    @Test
    void journey_events_and_items_the_seeds_api_cannot_answer_are_left_out() {
        DataJourney.State state = DataJourney.State.EMPTY;
        state = DataJourney.PROJECTION.apply(
                state, event("journey-1", "PerformanceSignedOff", "{\"leg\":\"x\",\"period\":\"2021-04-30\"}"));
        state = DataJourney.PROJECTION.apply(
                state, event("journey-1", "ItemRegistered", "{\"code\":\"ZZ\",\"itemType\":\"Fund\"}"));
        state = DataJourney.PROJECTION.apply(
                state, event("journey-1", "PerformanceSignedOff", "{\"code\":\"ZZ\",\"itemType\":\"Fund\"}"));
        assertThat(state.items()).as("an item without a known type").isEmpty();
        assertThat(state.events())
                .as("an event without a code is left out; an unknown item type is no type")
                .singleElement()
                .satisfies(e -> {
                    assertThat(e.code()).isEqualTo("ZZ");
                    assertThat(e.itemType()).isNull();
                });
    }
}
