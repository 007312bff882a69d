package dev.lethe.core.privacy.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.FieldRule;
import dev.lethe.core.privacy.PrivacySchema;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.keys.KeyStore;
import dev.lethe.core.store.Json;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the latest versions alone do not show: a group an earlier version sealed under that a policy edited by hand
 * dropped, and live period keys of a group the policy no longer declares (review W).
 */
class PolicyLinterHistoryTest {
    private static SchemaRegistry.Registered kyc(int version, String group) {
        List<FieldRule> rules =
                List.of(FieldRule.subjectKey("customerId", false, null), FieldRule.personal("passportNumber", group));
        return new SchemaRegistry.Registered(
                "Kyc",
                version,
                SchemaRegistry.Notation.JSON_SCHEMA,
                new PrivacySchema("Kyc", rules),
                rules.stream().map(FieldRule::path).toList(),
                Json.EMPTY_OBJECT,
                Instant.EPOCH);
    }

    @Test
    void a_group_dropped_by_hand_that_an_earlier_version_or_a_live_key_still_uses_is_a_finding() {
        DataPolicy policy = DataPolicy.parse("""
                groups:
                  identity: { retention: P10Y, period: P1Y }
                roles:
                  dpo: { read: [identity], may: [forget, export, rotate-keys, change-policy] }
                """);
        List<SchemaRegistry.Registered> versions = List.of(kyc(1, "kyc"), kyc(2, "identity"));
        // The latest version is clean: check() sees nothing.
        assertThat(PolicyLinter.check(policy, List.of(versions.get(1))))
                .extracting(PolicyLinter.Finding::subject)
                .doesNotContain("Kyc.passportNumber");
        List<PolicyLinter.Finding> findings = PolicyLinter.checkHistory(
                policy,
                versions,
                List.of(
                        new KeyStore.PeriodRef(DataGroup.of("kyc"), "2026"),
                        new KeyStore.PeriodRef(DataGroup.of("kyc"), "2025"),
                        new KeyStore.PeriodRef(DataGroup.of("identity"), "2026")));
        assertThat(findings)
                .extracting(Object::toString)
                .containsExactly(
                        "Kyc v1.passportNumber: data group 'kyc' is not declared in the policy: the events sealed under this"
                                + " version keep the field in it, which no role may read and no retention run expires (declare"
                                + " the group again, with its retention)",
                        "data group 'kyc': is not declared in the policy, but keys.db holds 2 live period key(s) of it (2025,"
                                + " 2026): no retention run destroys them, and no role may read their fields (declare the group"
                                + " again, with its retention)");
        // Declared: nothing to say.
        DataPolicy declared = DataPolicy.parse("""
                groups:
                  identity: { retention: P10Y, period: P1Y }
                  kyc: { retention: P5Y, period: P1Y }
                roles:
                  dpo: { read: [identity, kyc], may: [forget, export, rotate-keys, change-policy] }
                """);
        assertThat(PolicyLinter.checkHistory(
                        declared, versions, List.of(new KeyStore.PeriodRef(DataGroup.of("kyc"), "2026"))))
                .isEmpty();
    }
}
