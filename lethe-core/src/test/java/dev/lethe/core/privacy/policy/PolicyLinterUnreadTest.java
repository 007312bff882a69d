package dev.lethe.core.privacy.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.store.Json;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Members whose classification Lethe does not read (in a list's items, a $ref, allOf…) are findings when
 * they look personal: they are stored in plaintext, and strict mode does not look there.
 */
class PolicyLinterUnreadTest {
    private static List<String> findings(String schemaJson) {
        JsonNode schema = Json.parse(schemaJson).asTree();
        SchemaRegistry.Registered registered = new SchemaRegistry.Registered(
                "Payment",
                1,
                SchemaRegistry.Notation.JSON_SCHEMA,
                JsonSchemaNotation.read("Payment", schema),
                SchemaRegistry.propertyPaths(schema),
                Json.of(schema),
                Instant.now());
        return PolicyLinter.check(DataPolicy.parse(DataPolicy.defaultYaml()), List.of(registered)).stream()
                .map(Object::toString)
                .filter(f -> f.startsWith("Payment."))
                .toList();
    }

    @Test
    void personal_looking_members_in_lists_refs_and_combinators_are_findings() {
        List<String> found = findings("""
                {"type":"object",
                 "definitions":{"Addr":{"type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"}}}},
                 "properties":{
                   "beneficiaries":{"type":"array","items":{"type":"object","properties":{
                       "fullName":{"type":"string"},"iban":{"type":"string"},"share":{"type":"number"}}}},
                   "billing":{"$ref":"#/definitions/Addr"},
                   "contact":{"allOf":[{"type":"object","properties":{"email":{"type":"string"}}}]},
                   "amount":{"type":"number"}}}
                """);
        assertThat(found)
                .anyMatch(f ->
                        f.startsWith("Payment.beneficiaries[].fullName: looks like personal data, in a list's items"))
                .anyMatch(
                        f -> f.startsWith("Payment.beneficiaries[].iban: looks like personal data, in a list's items"))
                .anyMatch(f -> f.startsWith("Payment.billing.street: looks like personal data, in a $ref'd definition"))
                .anyMatch(f -> f.startsWith("Payment.contact.email: looks like personal data, in allOf"))
                .noneMatch(f -> f.contains("share") || f.contains("city") || f.contains("amount"));
    }

    @Test
    void a_list_sealed_whole_covers_its_members() {
        List<String> found = findings("""
                {"type":"object","properties":{
                   "owner":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"contact"}},
                   "beneficiaries":{"type":"array","x-gdpr":{"pii":true,"dataGroup":"contact"},
                       "items":{"type":"object","properties":{"iban":{"type":"string"}}}}}}
                """);
        assertThat(found).noneMatch(f -> f.contains("beneficiaries"));
    }
}
