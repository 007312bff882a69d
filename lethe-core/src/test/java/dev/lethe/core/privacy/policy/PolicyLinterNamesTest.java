package dev.lethe.core.privacy.policy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Which field names {@link PolicyLinter} takes for personal data when no rule classifies them. */
class PolicyLinterNamesTest {
    @ParameterizedTest
    @ValueSource(
            strings = {
                "email",
                "Email",
                // Words that end in s as written (not plurals): the plural rule once read diagnosis as diagnosi.
                "diagnosis",
                "patientDiagnosis",
                "diagnoses",
                "initials",
                "biometrics",
                "e_mail",
                "eMail",
                "emailAddress",
                "customerEmail",
                "customer_email",
                "billing-email",
                "email2",
                "phone",
                "homePhoneNumber",
                "home_phone_number",
                "mobile",
                "msisdn",
                "MSISDN",
                "name",
                "firstName",
                "first_name",
                "lastname",
                "customerName",
                "accountHolderName",
                "legalName",
                "displayName",
                "address",
                "billingAddress",
                "shipping_address",
                "ipAddress",
                "clientIp",
                "postalCode",
                "zip_code",
                "iban",
                "IBAN",
                "payeeIban",
                "bankAccountNumber",
                "dateOfBirth",
                "date_of_birth",
                "dateofbirth",
                "birthDate",
                "dob",
                "passportNumber",
                "location",
                "customerLocation",
                "gender",
                "nationality",
                "emails",
                "phoneNumbers",
                "addresses",
                "givenNames",
                "addressLine1",
                "phoneNo",
                "passportNo",
                "socialSecurityNumber",
                "nationalIdNumber",
                "creditCardNumber",
                "zip",
                "remoteAddr",
                "sourceIp",
                "sex",
                "bloodType",
                "healthCondition",
                "placeOfBirth",
                "age",
                "telNo",
                "passengerName",
                "guestName",
                "cardholderName",
                "ibanCode",
                "licensePlate",
                "deviceId",
                "userAgent",
                "latitude",
                "clientIps",
                "taxNumber",
                "taxIdentificationNumber",
                "nationalInsuranceNumber",
                "accountNo",
                "nameOnCard",
                "maritalStatus",
                "yearOfBirth",
                "sexualOrientation",
                "religiousBelief",
                "healthData",
                "medicalCondition",
                "criminalRecord",
                // Compatibility forms: full-width letters, a ligature.
                "\uff45\uff4d\uff41\uff49\uff4c",
                "\ufb01rstName"
            })
    void personal_looking_names_are_found(String name) {
        assertThat(PolicyLinter.looksPersonal(name)).as(name).isTrue();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "productName",
                "fund_name",
                "shareClassName",
                "branchLocation",
                "storageLocation",
                "emailVerified",
                "phoneCount",
                "amount",
                "purchase_value",
                "reason",
                "ship",
                "mailingList",
                "nameLength",
                "customerId",
                "macAddress",
                "serverAddress",
                "bindAddress",
                "contractAddress",
                "serverIp",
                "status",
                "address_verified",
                "page",
                "package",
                "productId",
                "healthCheck",
                "raceId",
                "totalIncome",
                "fundAccountId",
                "lat",
                "fundTin",
                "transactionIdNumber",
                "fundAccountName",
                "fundNetWorth",
                "averageSalary",
                "propertyOccupation",
                "émailé",
                "",
                "_",
                "42"
            })
    void other_names_are_not(String name) {
        assertThat(PolicyLinter.looksPersonal(name)).as(name).isFalse();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "IBANCode:iban,code",
                "homePhoneNumber2:home,phone,number",
                "x_y-Z:x,y,z",
                "prénomClient:prénom,client"
            })
    void names_split_into_words_at_humps_digits_and_separators(String example) {
        String[] parts = example.split(":");
        assertThat(PolicyLinter.words(parts[0])).containsExactly(parts[1].split(","));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {"customerId", "customerNumber", "customer_no", "clientRef", "userId", "accountHolderId", "member"
            })
    void a_key_field_named_for_a_person_is_taken_for_their_identifier(String name) {
        assertThat(PolicyLinter.namesAPerson(name)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"subjectId", "id", "orderId", "productCode", "accountId", "ref"})
    void a_key_field_named_for_anything_else_is_not(String name) {
        assertThat(PolicyLinter.namesAPerson(name)).isFalse();
    }
}
