package dev.lethe.core.privacy.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.privacy.FieldRule;
import dev.lethe.core.privacy.PrivacySchema;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.store.Json;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A Protobuf registration with several key fields and personal fields without an owner: what versions
 * stored before owners were taken from the message's structure hold. The first key owns them all.
 */
class PolicyLinterOwnersTest {
    private static SchemaRegistry.Registered protobuf(List<FieldRule> rules) {
        return new SchemaRegistry.Registered(
                "Sale",
                1,
                SchemaRegistry.Notation.PROTOBUF,
                new PrivacySchema("Sale", rules),
                rules.stream().map(FieldRule::path).toList(),
                Json.EMPTY_OBJECT,
                Instant.EPOCH);
    }

    @Test
    void personal_fields_a_stored_protobuf_version_gives_to_its_first_key_are_findings() {
        List<FieldRule> legacy = List.of(
                FieldRule.subjectKey("buyer.customer_id", false, null),
                FieldRule.subjectKey("seller.customer_id", false, null),
                FieldRule.personal("buyer.full_name", "contact"),
                FieldRule.personal("seller.full_name", "contact"));
        assertThat(PolicyLinter.check(DataPolicy.parse(DataPolicy.defaultYaml()), List.of(protobuf(legacy))))
                .extracting(PolicyLinter.Finding::subject)
                .contains("Sale.seller.full_name", "Sale.buyer.full_name");

        List<FieldRule> owned = List.of(
                FieldRule.subjectKey("buyer.customer_id", false, null),
                FieldRule.subjectKey("seller.customer_id", false, null),
                new FieldRule(
                        "seller.full_name",
                        true,
                        false,
                        Optional.of(dev.lethe.core.privacy.DataGroup.of("contact")),
                        Optional.of("seller.customer_id")));
        assertThat(PolicyLinter.check(DataPolicy.parse(DataPolicy.defaultYaml()), List.of(protobuf(owned))))
                .extracting(PolicyLinter.Finding::subject)
                .doesNotContain("Sale.seller.full_name");
    }
}
