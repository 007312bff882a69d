package dev.lethe.guide;

import dev.lethe.core.privacy.AccessDeniedException;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** Guide §2: declaring personal data with records and JSON Schema; versions and declassification. */
public class DeclareSchemas {
    // tag::records[]
    record CustomerRegistered(
            @DataSubject @PersonalData(group = "contact") String email, // names the subject, and is personal
            @PersonalData String name,                                  // group "identity" (the default)
            String tier) {}                                             // not personal: stored as written

    record TransferMade(
            @DataSubject @PersonalData(group = "contact") String fromEmail,
            @PersonalData(subject = "fromEmail") String fromName,
            @DataSubject @PersonalData(group = "contact") String toEmail,
            @PersonalData(subject = "toEmail") String toName,
            double amount) {}
    // end::records[]

    record TransferWithoutOwner(
            @DataSubject @PersonalData(group = "contact") String fromEmail,
            @PersonalData String fromName,
            @DataSubject @PersonalData(group = "contact") String toEmail,
            double amount) {}

    // tag::record-v2[]
    /** A later version of CustomerRegistered in which name is no longer personal. */
    record CustomerRegisteredV2(
            @DataSubject @PersonalData(group = "contact") String email, String name, String tier) {}
    // end::record-v2[]

    public static void main(String[] args) throws Exception {
        Path dir = Guide.dir("schemas");
        OpenStore.deleteTree(dir);
        try (SqliteLethe lethe = SqliteLethe.open(dir)) {
            // tag::register-record[]
            Principal dora = new Principal("dora", "dpo");  // the default policy gives dpo change-policy
            SchemaRegistry.Registered v1 =
                    lethe.privacy().registerRecord(dora, "CustomerRegistered", CustomerRegistered.class);
            AppendResult result = lethe.privacy().append(StreamId.of("customer-4a1e"), ExpectedVersion.any(),
                    List.of(EventData.of("CustomerRegistered",
                            Json.of(new CustomerRegistered("grace@example.com", "Grace", "gold")))));
            // end::register-record[]
            lethe.privacy().registerRecord(dora, "TransferMade", TransferMade.class);
            System.out.println(v1.eventType() + " v" + v1.version() + " " + v1.schema().personalFields());
            System.out.println(lethe.store().readAll(result.firstPosition(), 1).get(0).data());
            System.out.println(lethe.store().readAll(result.firstPosition(), 1).get(0).metadata());

            // tag::register-again[]
            // Registering the same rules again (an application at each start) writes nothing:
            var again = lethe.privacy().registerRecord(dora, "CustomerRegistered", CustomerRegistered.class);
            System.out.println("version " + again.version()); // still 1
            // end::register-again[]

            try {
                lethe.privacy().registerRecord(new Principal("ann", "advisor"), "Other", CustomerRegistered.class);
            } catch (AccessDeniedException e) {
                System.out.println(e.getMessage()); // principal ann (role advisor) may not change-policy
            }
            // tag::refused-registrations[]
            try {   // two subjects, and fromName does not say whose it is
                lethe.privacy().registerRecord(dora, "TransferWithoutOwner", TransferWithoutOwner.class);
            } catch (InvalidEventException e) {
                System.out.println(e.getMessage()); // TransferWithoutOwner.fromName: is personal, and the event names several subjects …
            }
            // end::refused-registrations[]

            // tag::json-schema[]
            JsonNode schema = Json.parse("""
                {"type":"object","required":["email"],"properties":{
                  "email":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"contact"}},
                  "name":{"type":"string","x-gdpr":{"pii":true,"dataGroup":"identity"}},
                  "address":{"type":"object","properties":{"city":{"type":"string"},
                    "street":{"type":"string","x-gdpr":{"pii":true,"dataGroup":"contact"}}}}}}""").asTree();
            var sold = lethe.privacy().registerJsonSchema(dora, "ProductSold", schema);
            System.out.println(sold.schema().personalFields().stream().map(f -> f.path()).toList());
            // [email, name, address.street]
            // end::json-schema[]

            // tag::undeclared-group[]
            try {
                lethe.privacy().registerJsonSchema(dora, "Payment", Json.parse("""
                    {"type":"object","properties":{
                      "iban":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"banking"}}}}""")
                        .asTree());
            } catch (InvalidEventException e) {
                System.out.println(e.getMessage()); // Payment.iban: data group 'banking' is not declared in the data policy; declared: […]
            }
            // end::undeclared-group[]

            // tag::declassify[]
            try {
                lethe.privacy().registerRecord(dora, "CustomerRegistered", CustomerRegisteredV2.class);
            } catch (InvalidEventException e) {
                System.out.println(e.getMessage()); // CustomerRegistered: this version would no longer encrypt [name] …
            }
            var v2 = lethe.privacy().registerRecord(dora, "CustomerRegistered", CustomerRegisteredV2.class,
                    Set.of("name"));                                  // intended: name is no longer personal
            System.out.println("version " + v2.version());            // 2; audited with noLongerPersonal [name]
            // end::declassify[]
        }
    }
}
