package dev.lethe.core.privacy.policy;

import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.FieldRule;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.SchemaRegistry.Registered;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.StreamId;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Governance checks of schemas against the policy: a field whose name looks personal but is not
 * classified, a personal field in a group the policy does not declare; and of stream ids: one that
 * looks like it holds personal data (an e-mail address, a phone number, an IBAN).
 */
public final class PolicyLinter {
    /**
     * Words that name personal data wherever they end a field name ({@code email},
     * {@code customerEmail}, {@code home_phone_number}, {@code billingAddress}); compared without case,
     * the name split into words at {@code _}, {@code -}, digits and camel-case humps, and the last one to
     * three words joined.
     */
    static final Set<String> PERSONAL_NAMES = Set.of(
            "email",
            "emailaddress",
            "phone",
            "phonenumber",
            "mobile",
            "mobilenumber",
            "cellphone",
            "telephone",
            "msisdn",
            "imei",
            "firstname",
            "lastname",
            "surname",
            "fullname",
            "givenname",
            "familyname",
            "middlename",
            "maidenname",
            "nickname",
            "username",
            "address",
            "street",
            "streetaddress",
            "postcode",
            "postalcode",
            "zipcode",
            "iban",
            "accountnumber",
            "dateofbirth",
            "birthdate",
            "birthday",
            "dob",
            "ssn",
            "nationalid",
            "taxid",
            "passport",
            "passportnumber",
            "ip",
            "ipaddress",
            "addr",
            "zip",
            "socialsecurity",
            "creditcard",
            "cardnumber",
            "pan",
            "gender",
            "nationality",
            "religion",
            "ethnicity",
            // Special categories (GDPR Art. 9) and the like.
            "sex",
            "race",
            "healthcondition",
            "diagnosis",
            "bloodtype",
            "biometric",
            "biometrics",
            "fingerprint",
            "age",
            "birthplace",
            "placeofbirth",
            "tel",
            "telno",
            "fax",
            "faxnumber",
            "initials",
            "ips",
            "ibancode",
            "cvv",
            "nif",
            "cpf",
            "nino",
            "nhsnumber",
            "licenseplate",
            "licenceplate",
            "numberplate",
            "vin",
            "driverlicense",
            "driverslicense",
            "drivinglicence",
            "deviceid",
            "useragent",
            "latitude",
            "longitude",
            "geolocation",
            // Identifiers and facts a wealth manager's KYC holds about a client — only names that rarely mean
            // anything else: strict mode refuses an undeclared member so named (fundTin, transactionIdNumber,
            // fundNetWorth would have been refused too).
            "taxnumber",
            "taxidentificationnumber",
            "nationalinsurancenumber",
            "accountno",
            "nameoncard",
            "maritalstatus",
            "yearofbirth",
            "sexualorientation",
            "religiousbelief",
            "healthdata",
            "medicalcondition",
            "criminalrecord");

    /**
     * Words that name personal data alone ({@code name}, {@code location}) or after a word for a person
     * ({@code customerName}, {@code clientLocation}), but not after anything else ({@code productName},
     * {@code branchLocation}).
     */
    static final Set<String> PERSONAL_AFTER_A_PERSON = Set.of("name", "location", "mail");

    /** Words for a person, before {@link #PERSONAL_AFTER_A_PERSON}. */
    static final Set<String> PERSON_WORDS = Set.of(
            "customer",
            "client",
            "user",
            "person",
            "holder",
            "owner",
            "contact",
            "employee",
            "beneficiary",
            "member",
            "patient",
            "subscriber",
            "investor",
            "applicant",
            "buyer",
            "seller",
            "payer",
            "payee",
            "recipient",
            "sender",
            "guardian",
            "spouse",
            "display",
            "legal",
            "home",
            "current",
            "passenger",
            "guest",
            "driver",
            "tenant",
            "debtor",
            "creditor",
            "father",
            "mother",
            "student",
            "visitor",
            "traveller",
            "traveler",
            "cardholder");

    private static final Pattern EMAIL = Pattern.compile("[^@\\s]+@[^@\\s]+\\.[A-Za-z]{2,}");
    private static final Pattern PHONE = Pattern.compile(".*\\+?\\d[\\d .()-]{7,}\\d.*");
    private static final Pattern UUID_TEXT =
            Pattern.compile("[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}");
    /** Where an IBAN may start: a country code and two check digits; {@link #holdsIban} checks the rest. */
    private static final Pattern IBAN_START = Pattern.compile("(?=([A-Z]{2}\\d{2}[A-Z0-9]{11,30}))");

    public record Finding(String subject, String problem) {
        @Override
        public String toString() {
            return subject + ": " + problem;
        }
    }

    private PolicyLinter() {}

    /**
     * The members of a JSON Schema whose classification Lethe does not read (it reads {@code properties},
     * nested): inside a list's {@code items}, a {@code $ref}'d definition, {@code allOf}/{@code anyOf}/{@code
     * oneOf}, {@code additionalProperties} or {@code patternProperties}. Each as {path, where it is}; a list's
     * members are {@code list[].member}, a map's {@code map.*.member}.
     */
    static List<String[]> unreadMembers(com.fasterxml.jackson.databind.JsonNode schema) {
        List<String[]> out = new ArrayList<>();
        walkUnread(schema, schema, "", null, out, 0);
        return out;
    }

    private static void walkUnread(
            com.fasterxml.jackson.databind.JsonNode root,
            com.fasterxml.jackson.databind.JsonNode node,
            String prefix,
            String where,
            List<String[]> out,
            int depth) {
        if (depth > 32 || node == null || !node.isObject()) {
            return; // deeper is a cycle of $refs, or no schema
        }
        com.fasterxml.jackson.databind.JsonNode ref = node.path("$ref");
        if (ref.isTextual() && ref.asText().startsWith("#/")) {
            walkUnread(
                    root,
                    root.at(ref.asText().substring(1)),
                    prefix,
                    where == null ? "a $ref'd definition" : where,
                    out,
                    depth + 1);
        }
        for (String combinator : List.of("allOf", "anyOf", "oneOf")) {
            for (com.fasterxml.jackson.databind.JsonNode part : node.path(combinator)) {
                walkUnread(root, part, prefix, where == null ? combinator : where, out, depth + 1);
            }
        }
        for (var it = node.path("properties").fields(); it.hasNext(); ) {
            var property = it.next();
            String path = prefix + property.getKey();
            if (where != null) {
                out.add(new String[] {path, where});
            }
            walkUnread(root, property.getValue(), path + ".", where, out, depth + 1);
        }
        String here = prefix.endsWith(".") ? prefix.substring(0, prefix.length() - 1) : prefix;
        walkUnread(root, node.path("items"), here + "[].", where == null ? "a list's items" : where, out, depth + 1);
        walkUnread(
                root,
                node.path("additionalProperties"),
                prefix + "*.",
                where == null ? "additionalProperties" : where,
                out,
                depth + 1);
        for (var it = node.path("patternProperties").fields(); it.hasNext(); ) {
            walkUnread(
                    root,
                    it.next().getValue(),
                    prefix + "*.",
                    where == null ? "patternProperties" : where,
                    out,
                    depth + 1);
        }
    }

    /**
     * The fields a schema declares with no rule whose names look personal: stored in plaintext. A field with
     * any rule, even {@code pii: false}, carries a recorded decision; one inside a field sealed whole is
     * sealed with it.
     */
    public static List<String> unclassifiedPersonalLooking(Registered schema) {
        List<String> out = new ArrayList<>();
        for (String path : schema.allFields()) {
            String leaf = path.substring(path.lastIndexOf('.') + 1);
            boolean classified = schema.schema().field(path).isPresent()
                    || schema.schema().fields().stream()
                            .anyMatch(f -> (f.personal() && path.startsWith(f.path() + "."))
                                    || f.path().startsWith(path + "."));
            if (!classified && looksPersonal(leaf)) {
                out.add(path);
            }
        }
        return out;
    }

    /** lethe-protobuf's {@code ProtobufNotation.TOO_LARGE}: an entry for a list not looked into. */
    static final String TOO_LARGE_LIST = "a list or map too large to look into";

    /** lethe-protobuf's {@code ProtobufNotation.REFUSED_NOW}: an entry holding what a registration would meet now. */
    static final String REFUSED_NOW = "a registration this release refuses";

    public static List<Finding> check(DataPolicy policy, List<Registered> schemas) {
        return check(policy, schemas, source -> List.of());
    }

    /**
     * {@link #check(DataPolicy, List)}, also looking at the members of Protobuf registrations where Lethe
     * reads no classification (a repeated field's messages, a map's values), which {@code protobufUnread}
     * finds in a registration's source as {path, where it is} (lethe-protobuf's {@code
     * ProtobufNotation::unreadMembers}; the core does not read descriptors).
     */
    public static List<Finding> check(
            DataPolicy policy,
            List<Registered> schemas,
            java.util.function.Function<dev.lethe.core.store.Json, List<String[]>> protobufUnread) {
        List<Finding> findings = new ArrayList<>();
        policy.notices().forEach(notice -> findings.add(new Finding("policy", notice)));
        for (Registered schema : schemas) {
            for (String path : unclassifiedPersonalLooking(schema)) {
                findings.add(new Finding(
                        schema.eventType() + "." + path,
                        "looks like personal data but is not classified (mark it pii, or pii: false to record the"
                                + " decision)"));
            }
            boolean jsonSchema = schema.notation() == SchemaRegistry.Notation.JSON_SCHEMA;
            List<String[]> unreadMembers = List.of();
            if (jsonSchema) {
                unreadMembers = unreadMembers(schema.source().asTree());
            } else if (schema.notation() == SchemaRegistry.Notation.PROTOBUF) {
                try {
                    unreadMembers = protobufUnread.apply(schema.source());
                } catch (RuntimeException unreadable) {
                    // One registration's descriptor (stored through the Java API, say) does not stop the check.
                    findings.add(new Finding(
                            schema.eventType(),
                            "its Protobuf descriptor set could not be read to look into its lists and maps: "
                                    + unreadable.getMessage()));
                }
            }
            for (String[] unread : unreadMembers) {
                String path = unread[0];
                if (unread[1].equals(REFUSED_NOW)) {
                    findings.add(new Finding(
                            schema.eventType(),
                            "registered by an earlier release, which took what a registration now refuses ("
                                    + unread[0] + "): register the type again from a corrected descriptor set;"
                                    + " events stored meanwhile keep what they hold"));
                    continue;
                }
                if (unread[1].equals(TOO_LARGE_LIST)) {
                    findings.add(new Finding(
                            schema.eventType() + "." + path,
                            "a list or map whose messages are too large to look into (over 10,000 fields or 32"
                                    + " levels): what they hold is stored as written, unread by the linter"));
                    continue;
                }
                String leaf = path.substring(path.lastIndexOf('.') + 1);
                boolean sealedWhole = schema.schema().fields().stream()
                        .anyMatch(f ->
                                f.personal() && (path.startsWith(f.path() + ".") || path.startsWith(f.path() + "[]")));
                if (!sealedWhole && looksPersonal(leaf)) {
                    findings.add(new Finding(
                            schema.eventType() + "." + path,
                            "looks like personal data, in " + unread[1] + ", where Lethe reads no"
                                    + " classification: it is stored as written, in plaintext, and strict mode"
                                    + " does not look there; mark the enclosing field pii (sealed whole)"
                                    + (jsonSchema
                                            ? ", or declare it under properties"
                                            : ", or make it a field of the event's message")));
                }
            }
            for (FieldRule field : schema.schema().fields()) {
                String leaf = field.path().substring(field.path().lastIndexOf('.') + 1);
                if (field.subjectKey() && !field.personal() && (looksPersonal(leaf) || namesAPerson(leaf))) {
                    findings.add(new Finding(
                            schema.eventType() + "." + field.path(),
                            "names the data subject but is not personal: its values (an e-mail address, a customer"
                                    + " number) are stored in plaintext and survive a forget (mark it pii too; a key"
                                    + " that only ever holds the subject ids Lethe issues needs not be)"));
                }
                if (schema.notation() == SchemaRegistry.Notation.PROTOBUF
                        && !field.personal()
                        && !field.subjectKey()
                        && field.group().isPresent()
                        && looksPersonal(leaf)) {
                    // proto3 cannot tell an unset pii from pii: false: the label may be an encryption forgotten.
                    findings.add(new Finding(
                            schema.eventType() + "." + field.path(),
                            "looks like personal data, and its option names data group '"
                                    + field.group().get()
                                    + "' without pii: true, so it is stored in plaintext (in proto3 an unset pii and"
                                    + " pii: false are the same bytes; if it is personal, set pii: true)"));
                }
            }
            List<FieldRule> keys = schema.schema().keyFields();
            if (schema.notation() == SchemaRegistry.Notation.PROTOBUF && keys.size() > 1) {
                // Registered before owners were taken from the message's structure: the first key owns all.
                for (FieldRule field : schema.schema().personalFields()) {
                    if (!field.subjectKey() && field.subjectField().isEmpty()) {
                        findings.add(new Finding(
                                schema.eventType() + "." + field.path(),
                                "belongs to the first key field (" + keys.get(0).path() + ") of a Protobuf registration"
                                        + " with several: a forget of another subject does not reach it. Register the"
                                        + " type again, so that each personal field belongs to its own party's key"
                                        + " (events already stored stay sealed under the first key's subject)"));
                    }
                }
            }
            for (FieldRule field : schema.schema().personalFields()) {
                if (!policy.knows(field.group().orElseThrow())) {
                    findings.add(new Finding(
                            schema.eventType() + "." + field.path(),
                            "data group '" + field.group().get() + "' is not declared in the policy"));
                }
            }
        }
        return findings;
    }

    /**
     * What the latest versions alone do not show ({@link #check} lints those): a data group an earlier version of
     * a type seals a field under that the policy no longer declares (the events sealed under it keep it), and a
     * data group the policy does not declare that still has live period keys (a policy edited by hand: no
     * retention run destroys them, and no role may read their fields). {@code allVersions}: every registered
     * version; {@code livePeriods}: the key store's live period keys.
     */
    public static List<Finding> checkHistory(
            DataPolicy policy,
            List<Registered> allVersions,
            List<dev.lethe.core.privacy.keys.KeyStore.PeriodRef> livePeriods) {
        List<Finding> findings = new ArrayList<>();
        java.util.Map<String, Integer> latest = new java.util.HashMap<>();
        allVersions.forEach(v -> latest.merge(v.eventType(), v.version(), Math::max));
        java.util.Set<String> said = new java.util.HashSet<>();
        for (Registered version : allVersions) {
            if (version.version() == latest.get(version.eventType())) {
                continue; // check() lints the latest
            }
            for (FieldRule field : version.schema().personalFields()) {
                DataGroup group = field.group().orElseThrow();
                if (!policy.knows(group) && said.add(version.eventType() + "." + field.path() + "\u0000" + group)) {
                    findings.add(new Finding(
                            version.eventType() + " v" + version.version() + "." + field.path(),
                            "data group '" + group + "' is not declared in the policy: the events sealed under this"
                                    + " version keep the field in it, which no role may read and no retention run"
                                    + " expires (declare the group again, with its retention)"));
                }
            }
        }
        java.util.Map<DataGroup, List<String>> undeclared =
                new java.util.TreeMap<>(java.util.Comparator.comparing(DataGroup::name));
        for (var ref : livePeriods) {
            if (!policy.knows(ref.group())) {
                undeclared.computeIfAbsent(ref.group(), g -> new ArrayList<>()).add(ref.period());
            }
        }
        undeclared.forEach((group, periods) -> {
            List<String> sorted = periods.stream().sorted().toList();
            findings.add(new Finding(
                    "data group '" + group + "'",
                    "is not declared in the policy, but keys.db holds " + sorted.size() + " live period key(s) of it ("
                            + String.join(", ", sorted.subList(0, Math.min(5, sorted.size())))
                            + (sorted.size() > 5 ? ", …" : "")
                            + "): no retention run destroys them, and no role may read their fields (declare the"
                            + " group again, with its retention)"));
        });
        return findings;
    }

    /**
     * Checks every stream id of {@code store}, one page of {@link EventStore#MAX_READ_LIMIT} at a time,
     * and hands each that {@link #personalDataIn looks personal} to {@code findings} as it is found
     * (its subject holds the stream id in full). System streams ({@code $…}) are skipped, as strict
     * mode skips them. After each page, {@code scanned} gets the number of stream ids seen so far.
     *
     * @return the number of stream ids checked
     */
    public static long checkStreamIds(EventStore store, Consumer<Finding> findings, LongConsumer scanned) {
        return checkStreamIds(store, Set.of(), findings, scanned);
    }

    /**
     * As {@link #checkStreamIds(EventStore, Consumer, LongConsumer)}, without reading the digits of ids in
     * {@code numericIdCategories} (the policy's) as phone numbers.
     */
    public static long checkStreamIds(
            EventStore store, Set<String> numericIdCategories, Consumer<Finding> findings, LongConsumer scanned) {
        long seen = 0;
        for (StreamId after = null; ; ) {
            List<StreamId> page = store.readStreamIds(after, EventStore.MAX_READ_LIMIT);
            for (StreamId id : page) {
                if (!id.value().startsWith("$")) {
                    personalDataIn(id.value(), true, numericIdCategories)
                            .ifPresent(why ->
                                    findings.accept(new Finding("stream id '" + id + "'", why + "; use a pseudonym")));
                }
            }
            seen += page.size();
            scanned.accept(seen);
            if (page.size() < EventStore.MAX_READ_LIMIT) {
                return seen;
            }
            after = page.get(page.size() - 1);
        }
    }

    /**
     * Words that, after a personal word, still name it ({@code addressLine1}, {@code phoneNo},
     * {@code socialSecurityNumber}): dropped from the end before matching.
     */
    /** Words for a person in metadata paths besides {@link #PERSON_WORDS}: who asked, wrote or did something. */
    private static final Set<String> ACTOR_WORDS = Set.of(
            "requester",
            "requestor",
            "author",
            "actor",
            "assignee",
            "reporter",
            "signatory",
            "individual",
            "people",
            "party",
            "account");

    /**
     * Whether any segment of a metadata path ({@code user.service}, {@code users[]}, {@code customerService})
     * holds a word for a person, in the singular or the plural: a lone {@code name} or {@code location} under
     * it may be that person's.
     */
    public static boolean pathNamesAPerson(String path) {
        for (String segment : path.split("[.\\[\\]]+")) {
            for (String word : words(segment)) {
                String singular = word.length() > 3 && word.endsWith("s") ? word.substring(0, word.length() - 1) : word;
                for (String form : List.of(word, singular)) {
                    if (PERSON_WORDS.contains(form) || ACTOR_WORDS.contains(form)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    static final Set<String> QUALIFIERS = Set.of("line", "no", "nr", "num", "number", "text", "value", "hash");

    /**
     * Words for machines, before {@code address} or {@code ip}: {@code macAddress}, {@code serverIp},
     * {@code contractAddress} name no person.
     */
    static final Set<String> MACHINE_WORDS = Set.of(
            "mac",
            "server",
            "host",
            "bind",
            "listen",
            "memory",
            "contract",
            "node",
            "broker",
            "gateway",
            "base",
            "return",
            "network",
            "loopback",
            "multicast",
            "broadcast",
            "proxy",
            "cluster",
            "service",
            "endpoint");

    /** The personal words that {@link #MACHINE_WORDS} before them turn into a machine's. */
    private static final Set<String> MACHINE_NAMED = Set.of("address", "addr", "ip", "ipaddress");

    /** Words after a word for a person that make an identifier of them: {@code customerId}, {@code clientRef}. */
    static final Set<String> IDENTIFIER_WORDS =
            Set.of("id", "ids", "ref", "reference", "code", "key", "no", "nr", "num", "number");

    /**
     * Whether a key field's name says it identifies a person ({@code customerNumber}, {@code userId},
     * {@code accountHolderRef}): its values then name the subject outside Lethe too.
     */
    public static boolean namesAPerson(String fieldName) {
        List<String> words = new ArrayList<>(words(fieldName));
        while (words.size() > 1 && IDENTIFIER_WORDS.contains(words.get(words.size() - 1))) {
            words.remove(words.size() - 1);
        }
        return !words.isEmpty() && PERSON_WORDS.contains(words.get(words.size() - 1));
    }

    public static boolean looksPersonal(String fieldName) {
        List<String> words = new ArrayList<>(words(fieldName));
        // As written ("accountNumber"), then without qualifiers at the end ("addressLine1", "phoneNo").
        while (!words.isEmpty()) {
            if (endsPersonal(new ArrayList<>(words))) {
                return true;
            }
            if (words.size() < 2 || !QUALIFIERS.contains(words.get(words.size() - 1))) {
                return false;
            }
            words.remove(words.size() - 1);
        }
        return false;
    }

    private static boolean endsPersonal(List<String> words) {
        // The last word as written (diagnosis), then as the singular of a plural: emails, phoneNumbers,
        // addresses, diagnoses.
        String lastWord = words.get(words.size() - 1);
        List<String> forms = new ArrayList<>(List.of(lastWord));
        if (lastWord.endsWith("sses")) {
            forms.add(lastWord.substring(0, lastWord.length() - 2));
        } else if (lastWord.length() > 3 && lastWord.endsWith("s") && !lastWord.endsWith("ss")) {
            forms.add(lastWord.substring(0, lastWord.length() - 1));
            if (lastWord.endsWith("ses")) {
                forms.add(lastWord.substring(0, lastWord.length() - 3) + "sis");
            }
        }
        for (String form : forms) {
            words.set(words.size() - 1, form);
            if (endsPersonalAsWritten(words)) {
                return true;
            }
        }
        return false;
    }

    private static boolean endsPersonalAsWritten(List<String> words) {
        if (words.size() > 1
                && MACHINE_WORDS.contains(words.get(words.size() - 2))
                && MACHINE_NAMED.contains(words.get(words.size() - 1))) {
            return false;
        }
        String last = words.get(words.size() - 1);
        if (PERSONAL_AFTER_A_PERSON.contains(last)
                && (words.size() == 1 || PERSON_WORDS.contains(words.get(words.size() - 2)))) {
            return true;
        }
        StringBuilder suffix = new StringBuilder();
        for (int i = words.size() - 1; i >= Math.max(0, words.size() - 3); i--) {
            suffix.insert(0, words.get(i));
            if (PERSONAL_NAMES.contains(suffix.toString())) {
                return true;
            }
        }
        // Written as one word: "emailaddress", "dateofbirth".
        return PERSONAL_NAMES.contains(String.join("", words));
    }

    /** {@code homePhoneNumber}, {@code home_phone-number2}, {@code IBANCode}: lower-case words. */
    static List<String> words(String fieldName) {
        List<String> words = new ArrayList<>();
        // Compatibility forms as the letters they stand for: full-width ｅｍａｉｌ, ligatures, circled letters.
        String name = java.text.Normalizer.normalize(fieldName, java.text.Normalizer.Form.NFKC);
        // Letters of any script ("prénom" stays one word, and no fragment of it matches by accident).
        for (String part : name.split("[^\\p{L}]+")) {
            // Split before an upper-case letter that follows a lower-case one, and before the last of a
            // run of capitals followed by a lower-case letter ("IBANCode" -> IBAN, Code).
            for (String word : part.split("(?<=\\p{Ll})(?=\\p{Lu})|(?<=\\p{Lu})(?=\\p{Lu}\\p{Ll})")) {
                if (!word.isEmpty()) {
                    words.add(word.toLowerCase(Locale.ROOT));
                }
            }
        }
        return words;
    }

    private static boolean looksLikeEpoch(String digits) {
        if (!digits.chars().allMatch(Character::isDigit)) {
            return false;
        }
        long seconds = digits.length() == 10
                ? Long.parseLong(digits)
                : digits.length() == 13 ? Long.parseLong(digits) / 1000 : -1;
        return seconds >= 946_684_800L && seconds < 4_102_444_800L; // 2000-01-01 .. 2100-01-01
    }

    /** A date at the start of an id: {@code 2026-11-27}, {@code 20261127}. */
    private static final String DATE_FIRST = "^(19|20)\\d{2}-?\\d{2}-?\\d{2}";

    /**
     * Whether digits with separators are grouped as a phone number is written: an international prefix
     * ({@code +}, {@code 00}), an area code in brackets, one block, or three blocks or more; not an
     * id that starts with a date ({@code 2026-11-27-0001}, {@code 20261127.1}) or a year and a sequence
     * number ({@code 2026-000123}).
     */
    private static boolean phoneShaped(String text) {
        if (text.matches(DATE_FIRST + ".*")) {
            return false;
        }
        long blocks = java.util.Arrays.stream(text.split("[^0-9]+"))
                .filter(block -> !block.isEmpty())
                .count();
        return text.startsWith("+") || text.startsWith("00") || text.startsWith("(") || blocks == 1 || blocks >= 3;
    }

    /**
     * Why the part of a stream id after its category (after the first {@code -}) looks like it holds
     * personal data, if it does: the rule strict mode applies to every append.
     */
    public static java.util.Optional<String> personalDataIn(String streamId) {
        return personalDataIn(streamId, false, Set.of());
    }

    /** As {@link #personalDataIn(String)}, without reading numbers as phone numbers in {@code numericIdCategories}. */
    public static java.util.Optional<String> personalDataIn(String streamId, Set<String> numericIdCategories) {
        return personalDataIn(streamId, false, numericIdCategories);
    }

    /**
     * Why a stream id looks like it holds personal data, if it does, in the part after its category or,
     * with {@code categoryToo}, in the category itself ({@code 351912345678-orders}): what {@code lethe
     * policy check} reports. Strict mode leaves the category out, so that ids it accepted before this
     * check existed are not refused now.
     */
    public static java.util.Optional<String> personalDataIn(String streamId, boolean categoryToo) {
        return personalDataIn(streamId, categoryToo, Set.of());
    }

    /**
     * As {@link #personalDataIn(String, boolean)}; in a stream of a category in {@code numericIdCategories}
     * (the policy's: ids that are numbers, {@code order-123456789}), digits are not read as a phone number.
     */
    public static java.util.Optional<String> personalDataIn(
            String streamId, boolean categoryToo, Set<String> numericIdCategories) {
        int firstDash = streamId.indexOf('-');
        boolean numbers = firstDash > 0 && numericIdCategories.contains(streamId.substring(0, firstDash));
        // UUIDs first, in any form: a bare one would otherwise be split at its first dash into a
        // "category" and a rest whose all-digit last group reads as a phone number.
        String id = UUID_TEXT.matcher(streamId).replaceAll("-");
        int dash = id.indexOf('-');
        if (dash < 0) {
            return personalDataInPart(id, false);
        }
        java.util.Optional<String> inId = personalDataInPart(id.substring(dash + 1), numbers);
        return inId.isPresent() || !categoryToo ? inId : personalDataInPart(id.substring(0, dash), false);
    }

    /**
     * What personal data a free-text note (a forget's legal basis or reason) looks like it holds, if it
     * does: an e-mail address, or an IBAN (with or without the spaces it is printed with, any case).
     */
    public static java.util.Optional<String> personalDataInNote(String text) {
        // Full-width ｇｒａｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ is an address as much as the ASCII one.
        String note = java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFKC);
        if (holdsEmail(note)) {
            return java.util.Optional.of("what looks like an e-mail address");
        }
        // Word by word, as printed (PT50 0002 0123 …) or not: text run together would offer the checksum
        // many false candidates.
        Matcher printed = PRINTED_IBAN.matcher(note);
        while (printed.find()) {
            if (holdsIban(printed.group().replaceAll("[ \u00a0]", "").toUpperCase(Locale.ROOT))) {
                return java.util.Optional.of("what looks like an IBAN");
            }
        }
        return java.util.Optional.empty();
    }

    /**
     * Whether a member name may be shown in a message or a log line: a plain identifier of at most 64
     * characters ({@code [A-Za-z0-9_.$-]}, no spaces or line breaks that could forge a line), and none that holds
     * what looks like an e-mail address or an IBAN ({@code DE89370400440532013000} is an identifier too).
     */
    public static boolean showable(String name) {
        return name.matches("[A-Za-z0-9_.$-]{1,64}") && personalDataInName(name).isEmpty();
    }

    /**
     * A member name as an error message quotes it: in single quotes, cut at 40 characters, or, when it holds what
     * looks like an e-mail address or an IBAN ({@link #personalDataInName}), not at all ("(a name not shown: it
     * holds what looks like an e-mail address)"): the message may be kept in a log or a job's output.
     */
    public static String quotedName(String name) {
        java.util.Optional<String> personal = personalDataInName(name);
        if (personal.isPresent()) {
            return "(a name not shown: it holds " + personal.get() + ")";
        }
        return "'" + (name.length() > 40 ? name.substring(0, 40) + "…" : name) + "'";
    }

    /**
     * What personal data a member name looks like it holds, if it does: what {@link #personalDataInNote} finds,
     * or an IBAN run together with other letters, digits or {@code _} ({@code iban_DE89…}, {@code DE89…_email}):
     * names join their words, where notes separate them (in free text, a run-together search would take one
     * reference in a hundred for an IBAN; a name rarely holds the long run of digits an IBAN needs).
     */
    public static java.util.Optional<String> personalDataInName(String name) {
        java.util.Optional<String> inNote = personalDataInNote(name);
        if (inNote.isPresent()) {
            return inNote;
        }
        String joined = java.text.Normalizer.normalize(name, java.text.Normalizer.Form.NFKC)
                .toUpperCase(Locale.ROOT);
        return holdsIban(joined) ? java.util.Optional.of("what looks like an IBAN") : java.util.Optional.empty();
    }

    /**
     * Whether {@code text} holds what {@link #EMAIL} finds — a run of characters other than {@code @} and white
     * space, {@code @}, then such a run with a dot after its first character followed by two letters — read in
     * one pass: the pattern's search backtracks over every start position, quadratic in a long value without
     * an address (600 KB of text took minutes), and event data is checked with it.
     */
    static boolean holdsEmail(String text) {
        for (int at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
            if (at == 0 || separates(text.charAt(at - 1))) {
                continue; // no local part before it
            }
            int end = at + 1;
            while (end < text.length() && !separates(text.charAt(end))) {
                end++;
            }
            for (int dot = at + 2; dot + 2 < end; dot++) {
                if (text.charAt(dot) == '.' && asciiLetter(text.charAt(dot + 1)) && asciiLetter(text.charAt(dot + 2))) {
                    return true;
                }
            }
        }
        return false;
    }

    /** What ends the parts of an address for {@link #EMAIL}: {@code @} and the white space {@code \s} matches. */
    private static boolean separates(char c) {
        return c == '@' || c == ' ' || c == '\t' || c == '\n' || c == '\u000B' || c == '\f' || c == '\r';
    }

    private static boolean asciiLetter(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    }

    /** An IBAN as written in text: a word of 2 letters and 2 digits, then groups of 4 (or fewer, last). */
    private static final Pattern PRINTED_IBAN =
            Pattern.compile("\\b[A-Za-z]{2}\\d{2}(?:[ \u00a0]?[A-Za-z0-9]{4}){2,7}(?:[ \u00a0]?[A-Za-z0-9]{1,4})?\\b");

    /**
     * Whether {@code text} holds an IBAN: a country code, two check digits and 11 to 30 letters or
     * digits whose ISO 13616 checksum (mod 97) holds, for some length from 15 to 34 characters.
     */
    static boolean holdsIban(String text) {
        Matcher start = IBAN_START.matcher(text);
        while (start.find()) {
            String candidate = start.group(1);
            // A country that has IBANs, at its length: any length from 15 up, with the checksum alone, took
            // one ticket reference in 25 (and ISO 11649 creditor references, RF…) for an IBAN.
            Integer length = IBAN_LENGTHS.get(candidate.substring(0, 2));
            if (length != null && candidate.length() >= length && ibanChecksumHolds(candidate.substring(0, length))) {
                return true;
            }
        }
        return false;
    }

    /** The IBAN registry's countries and their IBAN lengths (SWIFT, 2024), and the national formats like them. */
    private static final java.util.Map<String, Integer> IBAN_LENGTHS = ibanLengths(
            "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 DO28"
                    + " EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28 HR21 HU28 IE22 IL23"
                    + " IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20"
                    + " MR27 MT31 MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18"
                    + " SE24 SI19 SK24 SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30"
                    // Countries whose national account numbers follow the IBAN format (outside the registry).
                    + " AO25 BF28 BJ28 CF27 CG27 CI28 CM27 CV25 DZ26 GA27 GQ27 GW25 IR26 KM27 MA28 MG27 ML28"
                    + " MZ25 NE28 SN28 TD27 TG28");

    private static java.util.Map<String, Integer> ibanLengths(String table) {
        java.util.Map<String, Integer> out = new java.util.HashMap<>();
        for (String entry : table.split(" ")) {
            out.put(entry.substring(0, 2), Integer.parseInt(entry.substring(2)));
        }
        return java.util.Map.copyOf(out);
    }

    private static boolean ibanChecksumHolds(String iban) {
        String rearranged = iban.substring(4) + iban.substring(0, 4);
        int remainder = 0;
        for (int i = 0; i < rearranged.length(); i++) {
            int value = Character.digit(rearranged.charAt(i), 36);
            remainder = value < 10 ? (remainder * 10 + value) % 97 : (remainder * 100 + value) % 97;
        }
        return remainder == 1;
    }

    private static java.util.Optional<String> personalDataInPart(String rest, boolean numbersAreIds) {
        if (EMAIL.matcher(rest).matches() || rest.contains("@")) {
            return java.util.Optional.of("looks like an e-mail address");
        }
        if (holdsIban(rest)) {
            return java.util.Optional.of("looks like an IBAN");
        }
        if (numbersAreIds) {
            return java.util.Optional.empty();
        }
        long digitCount = rest.chars().filter(c -> c >= '0' && c <= '9').count();
        if (digitCount >= 9
                && digitCount <= 15 // E.164: at most 15 digits
                && PHONE.matcher(rest).matches()
                && !rest.matches("(?i).*[a-f].*")
                && !looksLikeEpoch(rest)
                && phoneShaped(rest)) {
            return java.util.Optional.of("looks like a phone number");
        }
        // A part of 9 to 15 digits between separators ("frank-351912345678"), once UUIDs (whose last group
        // may be all digits) are taken out; a part with letters is an id, not a number, and a 10- or
        // 13-digit part that reads as a time this century in seconds or milliseconds is a timestamp.
        // Also 3 or more such parts in a row that together hold 9 to 15 digits ("frank.351.912.345.678").
        int runParts = 0;
        StringBuilder run = new StringBuilder();
        String scanned = UUID_TEXT.matcher(rest).replaceAll("-").replaceFirst(DATE_FIRST, "-");
        for (String part : scanned.split("[-_.:]+")) {
            String digits = part.startsWith("+") ? part.substring(1) : part;
            boolean number = !digits.isEmpty() && digits.chars().allMatch(Character::isDigit);
            if (number && digits.length() >= 9 && digits.length() <= 15 && !looksLikeEpoch(digits)) {
                return java.util.Optional.of("looks like a phone number");
            }
            if (number && digits.length() <= 4) {
                runParts++;
                run.append(digits);
                if (runParts >= 3 && run.length() >= 9 && run.length() <= 15) {
                    return java.util.Optional.of("looks like a phone number");
                }
            } else {
                runParts = 0;
                run.setLength(0);
            }
        }
        return java.util.Optional.empty();
    }
}
