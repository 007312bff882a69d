package dev.lethe.core.privacy.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.InvalidEventException;
import java.time.LocalDate;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A policy with a mistake is refused, naming the mistake, rather than read in some other way. */
class DataPolicyParseTest {
    private static final String GROUPS = "groups:\n  identity: {retention: P10Y, period: P1Y}\n";
    private static final String DPO = "  dpo: {read: [identity], may: [change-policy]}\n";

    @Test
    void a_role_name_that_is_empty_padded_or_holds_a_control_character_is_refused() {
        for (String name : new String[] {"\"\"", "\" analyst\"", "\"ana\\nlyst\"", "\"ana\\u202Elyst\""}) {
            assertThatThrownBy(() -> DataPolicy.parse(GROUPS + "roles:\n" + DPO + "  " + name + ": {read: []}\n"))
                    .as(name)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("policy roles: a role name is empty, begins or ends with a space");
        }
        assertThat(DataPolicy.parse(GROUPS + "roles:\n" + DPO + "  \"back office\": {read: []}\n")
                        .roles())
                .containsKey("back office");
    }

    @Test
    void a_yaml_anchor_or_alias_is_refused_naming_its_line_not_read_as_its_name() {
        // Jackson reads *c as the text "c": a category nobody wrote.
        assertThatThrownBy(() -> DataPolicy.parse(
                        GROUPS + "roles:\n" + DPO + "  writer: {read: [], append: [&c customer, *c]}\n"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("uses a YAML alias (*name) at line 5");
        // An anchor alone, and a trailing document marker as generators write, read as written.
        assertThat(DataPolicy.parse(GROUPS + "roles:\n" + DPO + "  writer: {read: [], append: [&c customer]}\n---\n")
                        .roles())
                .containsKey("writer");
    }

    @Test
    void a_retention_past_the_calendar_never_expires_and_holds_up_no_other_group() {
        DataPolicy policy = DataPolicy.parse("groups:\n  archive: {retention: P999999999Y, period: P1Y}\n"
                + "  contact: {retention: P0D, period: P1D}\nroles:\n  dpo: {read: [archive], may: [change-policy]}\n");
        dev.lethe.core.privacy.DataGroup archive = dev.lethe.core.privacy.DataGroup.of("archive");
        dev.lethe.core.privacy.DataGroup contact = dev.lethe.core.privacy.DataGroup.of("contact");
        java.time.Instant late = java.time.Instant.parse("2099-01-01T00:00:00Z");
        assertThat(policy.expiresAt(archive, "2026")).isEmpty();
        assertThat(policy.hasExpired(archive, "2026", late)).isFalse();
        assertThat(policy.expiresAt(contact, "2026-11-26")).contains(java.time.Instant.parse("2026-11-27T00:00:00Z"));
        assertThat(policy.hasExpired(contact, "2026-11-26", late)).isTrue();
    }

    @Test
    void a_roles_append_list_names_the_categories_it_may_append_to_and_none_means_any() {
        DataPolicy policy = DataPolicy.parse(GROUPS + "roles:\n" + DPO
                + "  writer: {read: [], append: [customer, order]}\n"
                + "  reader: {read: [identity], append: []}\n"
                + "  all: {read: [], append: [\"*\"]}\n");
        dev.lethe.core.store.StreamId customer = dev.lethe.core.store.StreamId.of("customer-1");
        dev.lethe.core.store.StreamId invoice = dev.lethe.core.store.StreamId.of("invoice-7");
        assertThat(policy.mayAppend(new dev.lethe.core.privacy.Principal("w", "writer"), customer))
                .isTrue();
        assertThat(policy.mayAppend(new dev.lethe.core.privacy.Principal("w", "writer"), invoice))
                .isFalse();
        assertThat(policy.mayAppend(new dev.lethe.core.privacy.Principal("r", "reader"), customer))
                .isFalse();
        assertThat(policy.mayAppend(new dev.lethe.core.privacy.Principal("a", "all"), invoice))
                .isTrue();
        // A role without a list (a policy written before it existed) may append anywhere; an undeclared one nowhere.
        assertThat(policy.mayAppend(new dev.lethe.core.privacy.Principal("d", "dpo"), invoice))
                .isTrue();
        assertThat(policy.mayAppend(new dev.lethe.core.privacy.Principal("n", "nobody"), invoice))
                .isFalse();
        assertThatThrownBy(() -> DataPolicy.parse(GROUPS + "roles:\n  w: {read: [], append: [customer-1]}\n"))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("policy role w.append")
                .hasMessageContaining("'customer-1' is not a stream category");
        assertThatThrownBy(() -> DataPolicy.parse(GROUPS + "roles:\n  w: {read: [], append: customer}\n"))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("append");
        // Written with nothing after it, it is not "any stream".
        assertThatThrownBy(() -> DataPolicy.parse(GROUPS + "roles:\n  w:\n    read: []\n    append:\n"))
                .hasMessageContaining("needs a list: [] for no stream");
        assertThatThrownBy(() -> DataPolicy.parse(GROUPS + "roles:\n  w: {read: [], append: [null]}\n"))
                .hasMessageContaining("not a stream category");
        // A role without a list is reported (policy check), so that a policy from before the lists gets them.
        assertThat(policy.notices())
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("role(s) [dpo] have no 'append' list");
        // The default policy: the analyst, who reads no personal data, writes nothing either.
        DataPolicy standard = DataPolicy.parse(DataPolicy.defaultYaml());
        assertThat(standard.mayAppend(new dev.lethe.core.privacy.Principal("a", "analyst"), customer))
                .isFalse();
        assertThat(standard.mayAppend(new dev.lethe.core.privacy.Principal("b", "advisor"), customer))
                .isTrue();
    }

    @Test
    void mistakes_that_used_to_be_read_silently_are_refused() {
        Map<String, String> mistakes = Map.of(
                GROUPS + "roles:\n" + DPO + "  dpo: {read: []}\n",
                "Duplicate field 'dpo'",
                "stritc: true\n" + GROUPS + "roles:\n" + DPO,
                "unknown key 'stritc'",
                GROUPS.replace("period", "perod") + "roles:\n" + DPO,
                "unknown key 'perod'",
                GROUPS + "roles:\n  dpo: {reads: [identity], may: [change-policy]}\n",
                "unknown key 'reads'",
                "strict: yes please\n" + GROUPS + "roles:\n" + DPO,
                "must be true or false",
                GROUPS + "roles:\n  dpo: {read: identity, may: [change-policy]}\n",
                "must be a list",
                GROUPS + "roles:\n  dpo: {read: [contact], may: [change-policy]}\n",
                "names group 'contact'",
                GROUPS,
                "needs 'roles'",
                "groups:\n\tidentity: {retention: P10Y}\n",
                "a tab character",
                GROUPS + "roles:\n" + DPO + "---\nstrict: true\n",
                "more than one YAML document");
        assertThatThrownBy(() -> DataPolicy.parse(GROUPS + "roles:\n" + DPO + "  none: {read: [identity]}\n"))
                .as("declared, 'none' would give every caller who names no role its groups")
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("'none' is reserved");
        mistakes.forEach((yaml, problem) -> assertThatThrownBy(() -> DataPolicy.parse(yaml))
                .as(problem)
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining(problem));
    }

    @Test
    void a_retention_or_period_written_wrong_is_refused_saying_how() {
        Map<String, String> wrong = Map.of(
                "{retention: P1Y-1D, period: P1M}", "'P1Y-1D' has a negative part",
                "{retention: PT1H, period: P1M}", "hours and smaller are not taken",
                "{retention: P2Y, period: }", "must be P1D, P1M or P1Y",
                "{retention: P2W3, period: P1M}", "is not an ISO-8601 period such as P2Y");
        wrong.forEach((group, problem) -> assertThatThrownBy(
                        () -> DataPolicy.parse("groups:\n  identity: " + group + "\nroles:\n" + DPO))
                .as(group)
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining(problem));
        // Left out, the period is a month.
        assertThat(DataPolicy.parse("groups:\n  identity: {retention: P2Y}\nroles:\n" + DPO)
                        .periodOf(
                                dev.lethe.core.privacy.DataGroup.of("identity"),
                                java.time.Instant.parse("2026-11-29T00:00:00Z")))
                .isEqualTo("2026-11");
    }

    @Test
    void a_flag_with_nothing_after_it_is_refused_not_read_as_false() {
        for (String flag : new String[] {"strict"}) {
            assertThatThrownBy(() -> DataPolicy.parse(flag + ":\n" + GROUPS + "roles:\n" + DPO))
                    .as(flag)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("policy " + flag + ": must be true or false, got nothing");
        }
    }

    @Test
    void the_obsolete_forget_markers_key_still_parses_and_only_true_is_reported() {
        String rest = GROUPS + "roles:\n" + DPO.replace("}", ", append: [\"*\"]}");
        assertThat(DataPolicy.parse("forgetMarkers:\n" + rest).notices()).isEmpty();
        assertThat(DataPolicy.parse("forgetMarkers: false\n" + rest).notices()).isEmpty();
        assertThat(DataPolicy.parse("forgetMarkers: true\n" + rest).notices())
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("no effect any more");
        // Still read, but no longer offered where an unknown key is refused.
        assertThatThrownBy(() -> DataPolicy.parse("forgetMarker: true\n" + rest))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("policy: has an unknown key 'forgetMarker'; the keys are strict, receiptJournal,"
                        + " numericIdCategories, groups, roles");
    }

    @Test
    void a_retention_shorter_than_its_key_period_is_reported_with_how_long_values_are_kept() {
        String roles = "roles:\n" + DPO.replace("}", ", append: [\"*\"]}");
        String groups = "groups:\n  contact: {retention: P7D, period: P1M}\n  session: {retention: P0D, period: P1D}\n"
                + "  identity: {retention: P10Y, period: P1Y}\n  month: {retention: P1M, period: P1M}\n"
                + "  weeks: {retention: P5W, period: P1M}\n  half: {retention: P6M, period: P1Y}\n";
        assertThat(DataPolicy.parse(groups + roles).notices())
                .containsExactly(
                        "group 'contact' has a retention (P7D) shorter than its key period (P1M): a period's key is"
                                + " destroyed when the retention has run from the period's end, so a value is kept up"
                                + " to P1M + P7D after it is written; a shorter period (period: P1D) keeps it closer"
                                + " to its retention",
                        "group 'half' has a retention (P6M) shorter than its key period (P1Y): a period's key is"
                                + " destroyed when the retention has run from the period's end, so a value is kept up"
                                + " to P1Y + P6M after it is written; a shorter period (period: P1D) keeps it closer"
                                + " to its retention");
        assertThat(DataPolicy.parse(GROUPS + roles).notices()).isEmpty();
        // A day is the shortest period: a retention under it is nothing to advise on.
        assertThat(DataPolicy.parse("groups:\n  identity: {retention: P0D, period: P1D}\n" + roles)
                        .notices())
                .isEmpty();
    }

    @Test
    void a_receipt_journal_is_an_absolute_path_and_none_by_default() {
        String rest = GROUPS + "roles:\n" + DPO;
        assertThat(DataPolicy.parse(rest).receiptJournal()).isEmpty();
        assertThat(DataPolicy.parse("receiptJournal: /var/lib/lethe-receipts/./receipts.jsonl\n" + rest)
                        .receiptJournal())
                .contains(java.nio.file.Path.of("/var/lib/lethe-receipts/receipts.jsonl"));
        for (String bad : new String[] {"receipts.jsonl", "''", "[a, b]", "42"}) {
            assertThatThrownBy(() -> DataPolicy.parse("receiptJournal: " + bad + "\n" + rest))
                    .as(bad)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("policy receiptJournal");
        }
    }

    @Test
    void the_default_policy_still_parses() {
        DataPolicy policy = DataPolicy.parse(DataPolicy.defaultYaml());
        assertThat(policy.roles()).containsKeys("dpo", "advisor", "analyst");
        assertThat(policy.strict()).isFalse();
    }

    @Test
    void a_period_ends_by_its_own_form_whatever_the_groups_granularity_is_now() {
        // A month key made before the group moved to yearly keys still ends with its month.
        assertThat(RetentionPeriods.YEAR.endOf("2026-11")).isEqualTo(LocalDate.of(2026, 12, 1));
        assertThat(RetentionPeriods.MONTH.endOf("2026")).isEqualTo(LocalDate.of(2027, 1, 1));
        assertThat(RetentionPeriods.DAY.endOf("2026-11-26")).isEqualTo(LocalDate.of(2026, 11, 27));
        assertThatThrownBy(() -> RetentionPeriods.DAY.endOf("Q4"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("is not a period id");
    }
}
