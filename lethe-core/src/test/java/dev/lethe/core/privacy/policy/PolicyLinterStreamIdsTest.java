package dev.lethe.core.privacy.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.memory.InMemoryEventStore;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PolicyLinterStreamIdsTest {
    private static void append(EventStore store, String stream) {
        store.append(StreamId.of(stream), ExpectedVersion.any(), List.of(EventData.of("Happened", "{}")));
    }

    @Test
    void categories_the_policy_says_are_numbered_are_not_read_as_phone_numbers_but_ibans_still_are() {
        DataPolicy policy = DataPolicy.parse("groups:\n  identity: {retention: P10Y}\nroles:\n"
                + "  dpo: {read: [identity], may: [change-policy]}\nnumericIdCategories: [order, product]\n");
        assertThat(policy.numericIdCategories()).containsExactlyInAnyOrder("order", "product");
        assertThat(DataPolicy.parse("groups:\n  identity: {retention: P10Y}\nroles:\n"
                                + "  dpo: {read: [identity], may: [change-policy]}\nnumericIdCategories: [123]\n")
                        .numericIdCategories())
                .as("YAML reads 123 as a number")
                .containsExactly("123");
        assertThat(PolicyLinter.personalDataIn("order-123456789")).contains("looks like a phone number");
        assertThat(PolicyLinter.personalDataIn("order-123456789", policy.numericIdCategories()))
                .isEmpty();
        assertThat(PolicyLinter.personalDataIn("product-5901234123457", policy.numericIdCategories()))
                .isEmpty();
        assertThat(PolicyLinter.personalDataIn("caller-351912345678", policy.numericIdCategories()))
                .contains("looks like a phone number");
        assertThat(PolicyLinter.personalDataIn("order-PT50000201231234567890154", policy.numericIdCategories()))
                .contains("looks like an IBAN");
        for (String bad : new String[] {"[or der]", "['-x']", "[$audit]", "order"}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> DataPolicy.parse(
                            "groups:\n  identity: {retention: P10Y}\nroles:\n  dpo: {read: [identity], may: [change-policy]}\n"
                                    + "numericIdCategories: " + bad + "\n"))
                    .as(bad)
                    .hasMessageContaining("policy numericIdCategories");
        }
        InMemoryEventStore store = new InMemoryEventStore();
        append(store, "order-123456789");
        append(store, "caller-351912345678");
        List<PolicyLinter.Finding> findings = new ArrayList<>();
        PolicyLinter.checkStreamIds(store, policy.numericIdCategories(), findings::add, seen -> {});
        assertThat(findings)
                .extracting(PolicyLinter.Finding::subject)
                .containsExactly("stream id 'caller-351912345678'");
    }

    @Test
    void a_phone_number_among_words_is_found_but_a_uuid_or_a_short_number_is_not() {
        assertThat(PolicyLinter.personalDataIn("person-frank-351912345678")).contains("looks like a phone number");
        assertThat(PolicyLinter.personalDataIn("lead-call_+351912345678_back")).contains("looks like a phone number");
        assertThat(PolicyLinter.personalDataIn("order-6f1c2e4a-1b2c-4d3e-8f9a-123456789012"))
                .isEmpty();
        assertThat(PolicyLinter.personalDataIn("invoice-000123")).isEmpty();
        assertThat(PolicyLinter.personalDataIn("invoice-2026-000123")).isEmpty();
        assertThat(PolicyLinter.personalDataIn("batch-20261127.1")).isEmpty();
        assertThat(PolicyLinter.personalDataIn("day-2026-11-27-0001")).isEmpty();
        assertThat(PolicyLinter.personalDataIn("caller-351-912-345-678")).contains("looks like a phone number");
        assertThat(PolicyLinter.personalDataIn("lead-frank.351.912.345.678")).contains("looks like a phone number");
        assertThat(PolicyLinter.personalDataIn("caller-+351912345678")).contains("looks like a phone number");
        assertThat(PolicyLinter.personalDataIn("order-dcd8f20e21e7487889240384b50df2b4"))
                .isEmpty();
        assertThat(PolicyLinter.personalDataIn("order-9F1E2C34-1234-4567-9ABC-DEF012345678"))
                .isEmpty();
        assertThat(PolicyLinter.personalDataIn("upload-1795756443519-abc")).isEmpty();
        assertThat(PolicyLinter.personalDataIn("backup-1700000000")).isEmpty();
        assertThat(PolicyLinter.personalDataIn("351912345678-orders", true))
                .as("in the category, for policy check")
                .contains("looks like a phone number");
        assertThat(PolicyLinter.personalDataIn("PT50000201231234567890154-payments", true))
                .as("in the category, for policy check")
                .contains("looks like an IBAN");
        assertThat(PolicyLinter.personalDataIn("351912345678-orders"))
                .as("strict mode leaves the category alone: ids it accepted before stay accepted")
                .isEmpty();
        assertThat(PolicyLinter.personalDataIn("orders2026-1", true)).isEmpty();
        assertThat(PolicyLinter.personalDataIn("ACME2024INVOICES01-x", true))
                .as("IBAN-shaped, but its checksum fails")
                .isEmpty();
        assertThat(PolicyLinter.personalDataIn("payee-GB82WEST12345698765432")).contains("looks like an IBAN");
        assertThat(PolicyLinter.personalDataIn("payee-GB82WEST12345698765433"))
                .as("one digit off")
                .isEmpty();
        assertThat(PolicyLinter.personalDataIn("order-1541815603606036480"))
                .as("19 digits: a snowflake id, longer than any phone number")
                .isEmpty();
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < 20_000; i++) {
            java.util.UUID id = new java.util.UUID(random.nextLong(), random.nextLong());
            for (String form : java.util.List.of(
                    id.toString(), id.toString().replace("-", ""), id.toString().toUpperCase(java.util.Locale.ROOT))) {
                assertThat(PolicyLinter.personalDataIn("order-" + form))
                        .as(form)
                        .isEmpty();
                assertThat(PolicyLinter.personalDataIn(form)).as("bare " + form).isEmpty();
            }
        }
    }

    @Test
    void every_page_of_stream_ids_is_scanned_and_personal_looking_ones_are_reported_but_system_streams_are_not() {
        try (EventStore store = new InMemoryEventStore()) {
            int pseudonymous = EventStore.MAX_READ_LIMIT + 5;
            for (int i = 0; i < pseudonymous; i++) {
                append(store, "customer-" + String.format("%08x", i * 7919));
            }
            append(store, "caller-00351912345678");
            append(store, "payee-PT50000201231234567890154");
            append(store, "$audit");
            List<PolicyLinter.Finding> findings = new ArrayList<>();
            List<Long> progress = new ArrayList<>();

            long scanned = PolicyLinter.checkStreamIds(store, findings::add, progress::add);

            assertThat(scanned).isEqualTo(pseudonymous + 3L);
            assertThat(progress).containsExactly((long) EventStore.MAX_READ_LIMIT, pseudonymous + 3L);
            assertThat(findings)
                    .extracting(PolicyLinter.Finding::toString)
                    .containsExactly(
                            "stream id 'caller-00351912345678': looks like a phone number; use a pseudonym",
                            "stream id 'payee-PT50000201231234567890154': looks like an IBAN; use a pseudonym");
        }
    }
}
