package dev.lethe.core.privacy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.lethe.core.privacy.keys.KeyService;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Encrypts an event's personal fields before it is stored, and decrypts them for a principal on the
 * way out. Non-personal fields are never touched: they stay plain JSON, in place.
 *
 * <p>What the codec records in the event's metadata, under {@value #METADATA_KEY} (no personal data):
 * {@code {"subjects": {"<key field>": "<subject id>"}, "sealed": ["<path>", …]}}.
 */
public final class PrivacyCodec {
    public static final String METADATA_KEY = "lethe";
    /** Values read back into trees keep their numbers exactly (1.50, 1e400), as the log holds them. */
    private static final ObjectMapper JSON = Json.exactMapper();
    /** Only for a numeric key's text as it has always been computed: the double Jackson parses. */
    private static final ObjectMapper DOUBLES = new ObjectMapper();

    private final KeyService keys;
    /** What to look for in an event type's data, by event type; rebuilt when its schema changes. */
    private final Map<String, SealPlan> plans = new ConcurrentHashMap<>();
    /** Scanners for the lists of sealed paths events carry (a handful per event type), by the list's JSON. */
    private final Map<String, JsonFields> openers = new ConcurrentHashMap<>();

    private static final JsonFields SEALED_LIST = new JsonFields(Set.of(METADATA_KEY + ".sealed"));
    /** The key periods of the last write time seen: every event of a batch shares it. */
    private volatile Periods periods = new Periods(Instant.EPOCH, -1, new ConcurrentHashMap<>());

    /** The privacy schema of an event type, for events stored unsealed (none: no schema applies). */
    private final java.util.function.Function<String, Optional<PrivacySchema>> schemaOf;

    public PrivacyCodec(KeyService keys) {
        this(keys, type -> Optional.empty());
    }

    /**
     * A codec that applies {@code schemaOf}'s classification to events stored without sealing (see
     * {@link #reveal(RecordedEvent, Principal)}).
     */
    public PrivacyCodec(KeyService keys, java.util.function.Function<String, Optional<PrivacySchema>> schemaOf) {
        this(keys, schemaOf, (type, path) -> Set.of());
    }

    /**
     * The data groups the versions of an event type seal a path under ({@link SchemaRegistry#sealedGroups});
     * empty: not known, not compared.
     */
    private final java.util.function.BiFunction<String, String, Set<DataGroup>> sealedGroups;

    /**
     * As {@link #PrivacyCodec(KeyService, java.util.function.Function)}; a field no key opens is tampered with
     * when its envelope names a group {@code sealedGroups} does not give its type and path.
     */
    public PrivacyCodec(
            KeyService keys,
            java.util.function.Function<String, Optional<PrivacySchema>> schemaOf,
            java.util.function.BiFunction<String, String, Set<DataGroup>> sealedGroups) {
        this.keys = keys;
        this.schemaOf = schemaOf;
        this.sealedGroups = sealedGroups;
    }

    /**
     * An event's data with personal fields sealed, its metadata with the privacy record added under
     * {@value #METADATA_KEY}, and the subjects it names by key field.
     */
    public record Sealed(Json data, Json metadata, Map<String, SubjectId> subjects) {}

    /** An event type's rules by path, its key fields, and the key field owning each personal field. */
    private record SealPlan(
            PrivacySchema schema,
            JsonFields fields,
            Map<String, FieldRule> rules,
            List<FieldRule> keyFields,
            Map<String, String> owners) {
        static SealPlan of(PrivacySchema schema) {
            Map<String, FieldRule> rules = new HashMap<>();
            Map<String, String> owners = new HashMap<>();
            for (FieldRule field : schema.fields()) {
                if (field.personal() || field.subjectKey()) {
                    rules.put(field.path(), field);
                }
                if (field.personal()) {
                    owners.put(field.path(), schema.ownerOf(field).path());
                }
            }
            return new SealPlan(schema, new JsonFields(rules.keySet(), true), rules, schema.keyFields(), owners);
        }
    }

    private record Periods(Instant at, long generation, Map<DataGroup, String> byGroup) {}

    /**
     * An event's classified fields, found and checked against its schema before any subject is
     * resolved: the first half of {@link #seal}, so that a batch can be checked whole before anything is
     * created in the key store.
     */
    public static final class Prepared {
        private final SealPlan plan;
        private final byte[] in;
        private final List<JsonFields.Hit> hits;
        private final Map<String, String> keyValues;

        private Prepared(SealPlan plan, byte[] in, List<JsonFields.Hit> hits, Map<String, String> keyValues) {
            this.plan = plan;
            this.in = in;
            this.hits = hits;
            this.keyValues = keyValues;
        }

        /** The values of the event's key fields, by path: what sealing it resolves to subjects. */
        java.util.Collection<String> keyValues() {
            return keyValues.values();
        }

        /** The key fields' values by path (null for a JSON null). */
        Map<String, String> keyValuesByPath() {
            return java.util.Collections.unmodifiableMap(keyValues);
        }

        /**
         * An upper bound, within a few bytes, of the sealed event's size (data and the metadata given
         * here with Lethe's record added), so that an event sealing would push past {@link
         * EventData#MAX_SIZE} is refused before any subject is created for it.
         */
        long sealedSizeBound(int metadataBytes) {
            long size = in.length;
            int sealedUpTo = 0;
            long record = 64 + 12; // {"subjects":{},"sealed":[],"schemaVersion":n}, and ,"lethe":
            for (JsonFields.Hit hit : hits) { // in document order (prepare sorts them)
                FieldRule field = plan.rules().get(hit.path());
                long pathBytes = hit.path().getBytes(StandardCharsets.UTF_8).length;
                if (field.subjectKey()) {
                    record += pathBytes + 6 + 36 + 1;
                }
                if (!field.personal() || hit.isNull() || hit.start() < sealedUpTo) {
                    continue;
                }
                sealedUpTo = hit.end();
                DataGroup group = field.group().orElseThrow();
                int headerAndTag = 1 + 16 + 2 + group.name().length() + PERIOD_ID_BOUND + 12 + 16;
                long raw = headerAndTag + (long) (hit.end() - hit.start());
                size += 2 + Envelope.PREFIX.length() + (raw * 4 + 2) / 3 - (hit.end() - hit.start());
                record += pathBytes + 3;
            }
            return size + metadataBytes + record;
        }
    }

    /** Longer than any period id a policy gives ({@code 2026-11-27} for daily keys; years past 9999 too). */
    private static final int PERIOD_ID_BOUND = 16;

    /**
     * Finds and checks the classified fields of {@code data} (a JSON object): each at most once, keys
     * scalar, every personal value with a subject to own it, no member name that reads as a classified
     * path without being one. Creates nothing.
     *
     * @throws InvalidEventException naming the field and the problem
     */
    public Prepared prepare(PrivacySchema schema, Json data, Instant at) {
        SealPlan plan = plans.get(schema.eventType());
        if (plan == null || plan.schema() != schema) {
            plan = SealPlan.of(schema);
            plans.put(schema.eventType(), plan);
        }
        byte[] in = data.unsafeBytes();
        List<JsonFields.Hit> hits = new ArrayList<>(4);
        Map<String, String> keyValues = new HashMap<>(4);
        Map<String, FieldRule> rules = plan.rules();
        boolean isObject = plan.fields().scan(in, hit -> {
            if (hit.kind() == JsonFields.Kind.NOT_AN_OBJECT) {
                throw InvalidEventException.of(
                        schema.eventType() + "." + hit.path(),
                        "must be an object (or null): the schema classifies fields inside it, which no path"
                                + " names inside an array or other value; classify " + hit.path() + " itself");
            }
            if (hit.kind() == JsonFields.Kind.DOTTED_NAME) {
                throw InvalidEventException.of(
                        schema.eventType() + " data",
                        "has a member name holding a '.' where a classified field's path begins; it would not be"
                                + " sealed: nest objects instead (" + hit.path().length() + "-character name)");
            }
            for (JsonFields.Hit earlier : hits) {
                if (earlier.path().equals(hit.path())) {
                    // Which value would be whose? Sealing both under one subject's key would let the
                    // other's survive that subject's forget.
                    throw InvalidEventException.of(
                            schema.eventType() + "." + hit.path(),
                            "appears twice in the event; a classified field must be unique");
                }
            }
            hits.add(hit);
            if (rules.get(hit.path()).subjectKey()) {
                if (!hit.isScalar() || hit.kind() == JsonFields.Kind.TRUE || hit.kind() == JsonFields.Kind.FALSE) {
                    // true and false would each be one natural key: every event saying so, one person.
                    throw InvalidEventException.of(
                            schema.eventType() + "." + hit.path(), "a data subject key must be a string or number");
                }
                String value = hit.isNull() ? null : keyText(in, hit);
                if (value != null && dev.lethe.core.privacy.keys.KeyService.blank(value)) {
                    // Refused here, with the batch's other checks, before any of its subjects is created.
                    throw InvalidEventException.of(
                            schema.eventType() + "." + hit.path(),
                            value.isEmpty()
                                    ? "the data subject key is empty"
                                    : "the data subject key is blank (only spaces, invisible or control characters)");
                }
                keyValues.put(hit.path(), value);
            }
        });
        if (!isObject) {
            throw InvalidEventException.of(
                    schema.eventType() + " data", "must be a JSON object for its schema to apply");
        }
        for (String value : keyValues.values()) {
            if (value != null && SubjectId.looksLikeOne(value)) {
                keys.requireNotForgotten(SubjectId.parse(value)); // the fence, before any subject is created
            }
        }
        for (JsonFields.Hit hit : hits) {
            FieldRule field = rules.get(hit.path());
            String owner = plan.owners().get(field.path());
            if (!field.personal() || hit.isNull()) {
                continue;
            }
            if (keyValues.get(owner) == null) {
                throw InvalidEventException.of(
                        schema.eventType() + "." + field.path(),
                        "is personal data but the event names no data subject in " + owner);
            }
            DataGroup group = field.group().orElseThrow();
            periodOf(group, at); // refuses an undeclared group, or a period whose key has expired
        }
        // Document order, once: a personal object is sealed whole with any classified field inside it,
        // so containers come first, for the size bound and for sealing.
        hits.sort(java.util.Comparator.comparingInt(JsonFields.Hit::start));
        return new Prepared(plan, in, hits, keyValues);
    }

    /**
     * Seals the personal fields of {@code data} (a JSON object) for the event {@code eventId}, written at
     * {@code at} (which picks each group's key period), and records what it did in {@code metadata}
     * (a JSON object without the key {@value #METADATA_KEY}). Bytes outside the personal values are
     * kept exactly as given.
     *
     * @throws ErasureFenceException if a personal field belongs to a forgotten subject
     */
    public Sealed seal(UUID eventId, PrivacySchema schema, int schemaVersion, Json data, Json metadata, Instant at) {
        return seal(eventId, prepare(schema, data, at), schemaVersion, metadata, at, Map.of());
    }

    /**
     * Seals a prepared event: resolves its subjects (those in {@code resolved}, the key service's {@code
     * resolveAll} answer for its batch, as given; the others created if seen for the first time), then seals.
     */
    public Sealed seal(
            UUID eventId,
            Prepared prepared,
            int schemaVersion,
            Json metadata,
            Instant at,
            Map<String, SubjectId> resolved) {
        SealPlan plan = prepared.plan;
        PrivacySchema schema = plan.schema();
        byte[] in = prepared.in;
        List<JsonFields.Hit> hits = prepared.hits;
        Map<String, String> keyValues = prepared.keyValues;
        Map<String, FieldRule> rules = plan.rules();
        Map<String, SubjectId> subjects = new LinkedHashMap<>();
        for (FieldRule key : plan.keyFields()) {
            String value = keyValues.get(key.path());
            if (value != null) {
                SubjectId subject = resolved.get(value);
                subjects.put(key.path(), subject != null ? subject : keys.resolve(value));
            }
        }
        ByteSplice out = new ByteSplice(in);
        List<String> sealed = new ArrayList<>(hits.size());
        int sealedUpTo = 0;
        for (JsonFields.Hit hit : hits) {
            FieldRule field = rules.get(hit.path());
            if (!field.personal() || hit.isNull() || hit.start() < sealedUpTo) {
                continue;
            }
            sealedUpTo = hit.end();
            String owner = plan.owners().get(field.path());
            SubjectId subject = subjects.get(owner); // prepare checked that the owner's key is there
            DataGroup group = field.group().orElseThrow();
            String period = periodOf(group, at);
            byte[] header = Envelope.header(subject, group, period);
            byte[] envelope = Envelope.seal(
                    keys.sealer(subject, group, period),
                    eventId,
                    field.path(),
                    header,
                    in,
                    hit.start(),
                    hit.end() - hit.start());
            out.replace(hit.start(), hit.end(), '"', envelope, '"');
            if (!sealed.contains(field.path())) {
                sealed.add(field.path());
            }
        }
        return new Sealed(
                Json.trusted(out.finish()), withRecord(metadata, record(subjects, sealed, schemaVersion)), subjects);
    }

    /**
     * A key field's value as the blind index sees it: a string's text; a number as Jackson prints the
     * parsed number ({@code 1.50} and {@code 1.5} name the same subject, as they did when events were
     * sealed from a tree).
     */
    private static final java.util.regex.Pattern JSON_NUMBER =
            java.util.regex.Pattern.compile("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?");

    /**
     * The text a key field holding {@code text} as a JSON number resolves by ({@code 1.5} for {@code 1.50}),
     * if {@code text} is one: so that a lookup typed as the event wrote the number finds its subject.
     */
    public static java.util.Optional<String> numberKeyText(String text) {
        if (text.length() > 400 || !JSON_NUMBER.matcher(text).matches()) {
            return java.util.Optional.empty();
        }
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        return java.util.Optional.of(keyText(bytes, new JsonFields.Hit("", JsonFields.Kind.NUMBER, 0, bytes.length)));
    }

    /**
     * For a natural key not found as typed that is a number written another way than a key field holding it
     * resolves it ({@code 1.50}, resolved as {@code 1.5}): a sentence saying which text to look up instead
     * (starting with "; "); else "".
     */
    public static String numberLookupHint(String key) {
        return numberKeyText(key)
                .filter(text -> !text.equals(key))
                // The key is not repeated (it may be personal data, and errors reach logs).
                .map(text -> "; it is a number: a key field holding it as a JSON number resolved it written as"
                        + " Java prints the double (1.50 as 1.5, 15e-1 as 1.5): look it up written that way if the"
                        + " key was a number")
                .orElse("");
    }

    private static String keyText(byte[] in, JsonFields.Hit hit) {
        if (hit.kind() != JsonFields.Kind.NUMBER) {
            String text = hit.text(in);
            if (hasLoneSurrogate(text)) {
                // Encoded as UTF-8 for the blind index, it would become '?': two keys, one person.
                throw InvalidEventException.of(
                        "data subject key", "holds a lone UTF-16 surrogate (an invalid \\u escape), not text");
            }
            return text;
        }
        String written = new String(in, hit.start(), hit.end() - hit.start(), StandardCharsets.US_ASCII);
        java.math.BigDecimal exact = new java.math.BigDecimal(written);
        String asDouble;
        try {
            asDouble =
                    DOUBLES.readTree(in, hit.start(), hit.end() - hit.start()).asText();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("a number that was valid JSON no longer parses", e);
        }
        // A double's text where it is the exact value (so keys named so far resolve as before); the exact
        // value where a double would round (0.1000000000000000000001, 1e400): two numbers, two subjects.
        boolean roundTrips;
        try {
            roundTrips = new java.math.BigDecimal(asDouble).compareTo(exact) == 0;
        } catch (NumberFormatException infinite) {
            roundTrips = false;
        }
        return roundTrips ? asDouble : exact.stripTrailingZeros().toString();
    }

    private static boolean hasLoneSurrogate(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 == text.length() || !Character.isLowSurrogate(text.charAt(i + 1))) {
                    return true;
                }
                i++;
            } else if (Character.isLowSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    private String periodOf(DataGroup group, Instant at) {
        Periods current = periods;
        long generation = keys.generation();
        // A new write time, or an expiry since (a fixed clock keeps the write time): checked afresh.
        if (!current.at().equals(at) || current.generation() != generation) {
            current = new Periods(at, generation, new ConcurrentHashMap<>());
            periods = current;
        }
        // Checked once per group and write time (a batch shares one), not once per field: a refusal
        // throws out of computeIfAbsent and is not remembered.
        return current.byGroup().computeIfAbsent(group, g -> {
            String period = keys.policy().periodOf(g, at);
            keys.requireOpenPeriod(g, period);
            return period;
        });
    }

    /** {@code {"subjects":{…},"sealed":[…],"schemaVersion":n}}: paths and ids need no escaping. */
    private static String record(Map<String, SubjectId> subjects, List<String> sealed, int schemaVersion) {
        StringBuilder json = new StringBuilder(64 + 60 * subjects.size() + 20 * sealed.size());
        json.append("{\"subjects\":{");
        subjects.forEach((path, subject) -> json.append(json.charAt(json.length() - 1) == '{' ? "" : ",")
                .append('"')
                .append(path)
                .append("\":\"")
                .append(subject)
                .append('"'));
        json.append("},\"sealed\":[");
        for (int i = 0; i < sealed.size(); i++) {
            json.append(i == 0 ? "\"" : ",\"").append(sealed.get(i)).append('"');
        }
        return json.append("],\"schemaVersion\":")
                .append(schemaVersion)
                .append('}')
                .toString();
    }

    /** The metadata object with {@code "lethe": record} added as its last member. */
    private static Json withRecord(Json metadata, String record) {
        byte[] in = metadata.unsafeBytes();
        int close = in.length - 1;
        while (in[close] != '}') {
            close--;
        }
        int open = 0;
        while (in[open] != '{') {
            open++;
        }
        int first = open + 1;
        while (first < close && Character.isWhitespace(in[first])) {
            first++;
        }
        byte[] member = ((first == close ? "" : ",") + "\"" + METADATA_KEY + "\":" + record)
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] out = new byte[in.length + member.length];
        System.arraycopy(in, 0, out, 0, close);
        System.arraycopy(member, 0, out, close, member.length);
        System.arraycopy(in, close, out, close + member.length, in.length - close);
        return Json.trusted(out);
    }

    /** The event as {@code principal} may see it. */
    public RevealedEvent reveal(RecordedEvent event, Principal principal) {
        return reveal(event, principal, null, null);
    }

    /**
     * The event with every group decrypted whatever the role: for an export, where the permission to
     * export is the permission to read it all.
     */
    public RevealedEvent revealForExport(RecordedEvent event, SubjectId subject) {
        return revealForExport(event, subject, field -> {});
    }

    /**
     * As {@link #revealForExport(RecordedEvent, SubjectId)}; {@code sealed} hears each of the subject's sealed
     * fields with the data group and key period its envelope's header names (for how long each is kept), in
     * the same pass.
     */
    public RevealedEvent revealForExport(
            RecordedEvent event, SubjectId subject, java.util.function.Consumer<SealedField> sealed) {
        return reveal(event, Principal.SYSTEM, subject, sealed);
    }

    /**
     * A field of an export that failed authentication, read as {@code null} with reason {@link
     * Redaction.Reason#TAMPERED}: {@code detail} is what failed (never its plaintext).
     */
    private static void tamperedInExport(
            ByteSplice out, JsonFields.Hit hit, List<Redaction> redactions, TamperedDataException e) {
        out.replace(hit.start(), hit.end(), NULL);
        redactions.add(new Redaction(hit.path(), Redaction.Reason.TAMPERED, e.getMessage()));
    }

    private static final byte[] NULL = {'n', 'u', 'l', 'l'};

    /** A sealed field's data group and key period, as its envelope's header names them. */
    public record SealedField(String path, DataGroup group, String period) {}

    /** Whether {@code metadata}'s bytes hold {@code subject}'s id as text (its privacy record names it). */
    private static boolean mentions(byte[] metadata, SubjectId subject) {
        byte[] id = subject.toString().getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + id.length <= metadata.length; i++) {
            for (int j = 0; j < id.length; j++) {
                if (metadata[i + j] != id[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /**
     * @param exportOf when given, every group is opened (an export) but only this subject's fields;
     *     other subjects' fields of the same event read as restricted
     * @param sealed for an export, hears each of {@code exportOf}'s sealed fields; null otherwise
     */
    private RevealedEvent reveal(
            RecordedEvent event,
            Principal principal,
            SubjectId exportOf,
            java.util.function.Consumer<SealedField> sealed) {
        JsonFields fields = openerFor(event.metadata());
        if (fields == null) {
            return exportOf == null
                    ? revealUnsealed(event, principal)
                    : new RevealedEvent(event, event.data(), List.of());
        }
        byte[] in = event.data().unsafeBytes();
        ByteSplice out = new ByteSplice(in);
        List<Redaction> redactions = new ArrayList<>(0);
        List<DataGroup> opened = new ArrayList<>(2);
        try {
            fields.scan(in, hit -> {
                if (exportOf == null) {
                    revealField(event, principal, null, null, in, hit, out, redactions, opened);
                    return;
                }
                // An export goes on past a damaged field (a subject's data is owed to them whole but for it): the
                // field reads null, listed as tampered, and the caller is told.
                try {
                    revealField(event, principal, exportOf, sealed, in, hit, out, redactions, opened);
                } catch (TamperedDataException e) {
                    tamperedInExport(out, hit, redactions, e);
                }
            });
        } catch (IndexOutOfBoundsException e) {
            // Stored JSON is validated on the way in: one the scanner runs off the end of was changed on disk.
            throw new TamperedDataException(
                    event.id(), "(its data)", "its stored JSON is cut short or no longer well-formed");
        }
        Json data = out.changed() ? Json.trusted(out.finish()) : event.data();
        return new RevealedEvent(event, data, redactions, java.util.Set.copyOf(opened));
    }

    /** One field of {@link #reveal}: opened, redacted, or tampered. */
    private void revealField(
            RecordedEvent event,
            Principal principal,
            SubjectId exportOf,
            java.util.function.Consumer<SealedField> sealed,
            byte[] in,
            JsonFields.Hit hit,
            ByteSplice out,
            List<Redaction> redactions,
            List<DataGroup> opened) {
        // A path the event's record lists as sealed holds an envelope, or null (a null value is not sealed): any
        // other value was written over the envelope after the event was stored, and would read as plaintext.
        if (hit.kind() != JsonFields.Kind.STRING) {
            if (hit.isNull()) {
                return;
            }
            throw new TamperedDataException(
                    event.id(), hit.path(), "a field the event lists as sealed holds a value that is not an envelope");
        }
        if (!Envelope.isEnvelope(in, hit.start() + 1, hit.end() - 1)) {
            // An envelope is plain ASCII: one written with escapes fails to decode, as tampered (an escape inside
            // the prefix hides it from the byte check, not from a JSON reader).
            if (!JsonFields.isPlainString(in, hit.start(), hit.end()) && Envelope.isEnvelope(hit.text(in))) {
                throw new TamperedDataException(event.id(), hit.path(), "an envelope written with JSON escapes");
            }
            throw new TamperedDataException(
                    event.id(), hit.path(), "a field the event lists as sealed holds text that is not an envelope");
        }
        Envelope.Decoded envelope;
        try {
            envelope = Envelope.decode(in, hit.start() + 1, hit.end() - 1);
        } catch (IllegalArgumentException e) {
            throw new TamperedDataException(event.id(), hit.path(), e.getMessage());
        }
        if (sealed != null && envelope.subject().equals(exportOf)) {
            sealed.accept(new SealedField(hit.path(), envelope.group(), envelope.period()));
        }
        boolean allowed = exportOf != null
                ? envelope.subject().equals(exportOf)
                : keys.policy().mayRead(principal, envelope.group());
        Redaction.Reason missing = allowed ? null : Redaction.Reason.RESTRICTED;
        KeyService.Lookup lookup =
                allowed ? keys.opener(envelope.subject(), envelope.group(), envelope.period()) : null;
        if (lookup instanceof KeyService.Missing why) {
            missing = why.reason();
        }
        if (missing != null) {
            // Said without a key to check the header against (AES-GCM authenticates it only when it
            // opens): its subject must at least be one the event's metadata names, or a header edited to
            // a forgotten pseudonym would read a live person's field as "forgotten".
            if (!mentions(event.metadata().unsafeBytes(), envelope.subject())) {
                throw new TamperedDataException(
                        event.id(), hit.path(), "its envelope names a subject the event's metadata does not");
            }
            // Nor may its group or period be edited to one whose key is destroyed or missing, or that the role
            // may not read: a live field would read "expired", "restricted" or "unavailable".
            Set<DataGroup> groups = sealedGroups.apply(event.type(), hit.path());
            if (!groups.isEmpty() && !groups.contains(envelope.group())) {
                throw new TamperedDataException(
                        event.id(),
                        hit.path(),
                        "its envelope names a data group no version of its type seals it under");
            }
            if (!periodNear(envelope.period(), event.recordedAt())) {
                throw new TamperedDataException(
                        event.id(), hit.path(), "its envelope names a key period the event was not recorded in");
            }
            out.replace(hit.start(), hit.end(), NULL);
            // In an export, another subject's field says so: "restricted" alone reads, to the person it is handed
            // to, as their own data withheld.
            redactions.add(new Redaction(
                    hit.path(), missing, exportOf != null && !allowed ? Redaction.ANOTHER_SUBJECT : null));
            return;
        }
        try {
            out.replace(
                    hit.start(),
                    hit.end(),
                    Envelope.open(((KeyService.Found) lookup).aead(), event.id(), hit.path(), envelope));
        } catch (GeneralSecurityException e) {
            throw new TamperedDataException(event.id(), hit.path(), "AES-GCM tag mismatch");
        }
        if (!opened.contains(envelope.group())) {
            opened.add(envelope.group());
        }
    }

    /**
     * Whether a key period (2026, 2026-11 or 2026-11-26) is one a value recorded at {@code recordedAt} could be
     * sealed in: a value is sealed in the UTC day it is recorded in (older releases: moments before, or up to an
     * hour after, by a clock stepped back), so the period must reach within a day of it.
     */
    static boolean periodNear(String period, Instant recordedAt) {
        // Read by hand, not by regular expressions: a role that may not read a group meets this for every field.
        java.time.LocalDate start;
        java.time.LocalDate end;
        try {
            int length = period.length();
            if ((length != 4 && length != 7 && length != 10)
                    || (length >= 7 && period.charAt(4) != '-')
                    || (length == 10 && period.charAt(7) != '-')) {
                return false;
            }
            int year = digits(period, 0, 4);
            if (length == 4) {
                start = java.time.LocalDate.of(year, 1, 1);
                end = start.plusYears(1);
            } else if (length == 7) {
                start = java.time.LocalDate.of(year, digits(period, 5, 7), 1);
                end = start.plusMonths(1);
            } else {
                start = java.time.LocalDate.of(year, digits(period, 5, 7), digits(period, 8, 10));
                end = start.plusDays(1);
            }
        } catch (java.time.DateTimeException | NumberFormatException e) {
            return false;
        }
        java.time.LocalDate recorded =
                recordedAt.atZone(java.time.ZoneOffset.UTC).toLocalDate();
        return !start.isAfter(recorded.plusDays(1)) && end.isAfter(recorded.minusDays(1));
    }

    /**
     * An event stored without sealing, whose type's schema classifies fields as personal now: appended
     * before the schema was registered (or through a raw store, beside the privacy layer). Its personal
     * fields are plaintext in the log, but a role that may not read their group still does not see them:
     * they read as {@code restricted}, as sealed ones would; a role that may read them gets them as stored.
     */
    private RevealedEvent revealUnsealed(RecordedEvent event, Principal principal) {
        Optional<PrivacySchema> schema = schemaOf.apply(event.type());
        Set<String> hidden = new java.util.HashSet<>();
        schema.ifPresent(classified -> classified.fields().forEach(rule -> {
            if (rule.personal()
                    && rule.group().isPresent()
                    && !keys.policy().mayRead(principal, rule.group().get())) {
                hidden.add(rule.path());
            }
        }));
        if (hidden.isEmpty()) {
            return new RevealedEvent(event, event.data(), List.of());
        }
        byte[] in = event.data().unsafeBytes();
        ByteSplice out = new ByteSplice(in);
        List<Redaction> redactions = new ArrayList<>(1);
        new JsonFields(hidden).scan(in, hit -> {
            if (!hit.isNull()) {
                out.replace(hit.start(), hit.end(), NULL);
                redactions.add(new Redaction(hit.path(), Redaction.Reason.RESTRICTED));
            }
        });
        Json data = out.changed() ? Json.trusted(out.finish()) : event.data();
        return new RevealedEvent(event, data, redactions, Set.of());
    }

    /**
     * A read model's state with every {@link PersonalValue} opened for {@code principal}: replaced by
     * its plaintext value, or by {@code null} with a redaction whose path is the value's place in the
     * state.
     */
    public RevealedState revealState(Json state, Principal principal) {
        JsonNode root = state.asTree();
        List<Redaction> redactions = new ArrayList<>();
        Set<DataGroup> opened = new java.util.HashSet<>();
        JsonNode revealed = revealNode(root, "", principal, redactions, opened);
        return new RevealedState(Json.of(revealed), redactions, opened);
    }

    /** A revealed read-model state, and the data groups whose keys were used to open it. */
    public record RevealedState(Json state, List<Redaction> redactions, Set<DataGroup> opened) {
        public RevealedState {
            redactions = List.copyOf(redactions);
            opened = Set.copyOf(opened);
        }

        /** Without the state, which holds decrypted personal data: a log line must not show it. */
        @Override
        public String toString() {
            return "RevealedState[state not printed (" + state.size()
                    + " bytes, personal values decrypted), redactions " + redactions + ", groups opened " + opened
                    + "]";
        }
    }

    private JsonNode revealNode(
            JsonNode node, String where, Principal principal, List<Redaction> redactions, Set<DataGroup> opened) {
        if (PersonalValue.looksLikeOne(node)) {
            return openValue(node, where, principal, redactions, opened);
        }
        if (node.isObject()) {
            ObjectNode copy = JSON.createObjectNode();
            node.fields()
                    .forEachRemaining(e -> copy.set(
                            e.getKey(),
                            revealNode(
                                    e.getValue(),
                                    where.isEmpty() ? e.getKey() : where + "." + e.getKey(),
                                    principal,
                                    redactions,
                                    opened)));
            return copy;
        }
        if (node.isArray()) {
            com.fasterxml.jackson.databind.node.ArrayNode copy = JSON.createArrayNode();
            for (int i = 0; i < node.size(); i++) {
                copy.add(revealNode(node.get(i), where + "[" + i + "]", principal, redactions, opened));
            }
            return copy;
        }
        return node;
    }

    private JsonNode openValue(
            JsonNode node, String where, Principal principal, List<Redaction> redactions, Set<DataGroup> opened) {
        String sealed = node.get("sealed").asText();
        if (!Envelope.isEnvelope(sealed)) {
            // A value stored in plaintext, as JSON text; states kept before it was held so hold the
            // bare text of a string, which is returned as a string unless it is exactly one JSON value.
            try {
                return JSON.readerFor(JsonNode.class)
                        .with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                        .readValue(sealed);
            } catch (IOException e) {
                return TextNode.valueOf(sealed);
            }
        }
        UUID event = UUID.fromString(node.get("event").asText());
        String path = node.get("path").asText();
        Envelope.Decoded envelope;
        try {
            byte[] text = sealed.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            envelope = Envelope.decode(text, 0, text.length);
        } catch (IllegalArgumentException e) {
            throw new TamperedDataException(event, path, "in a read model at " + where + ": " + e.getMessage());
        }
        if (!keys.policy().mayRead(principal, envelope.group())) {
            redactions.add(new Redaction(where, Redaction.Reason.RESTRICTED));
            return NullNode.getInstance();
        }
        KeyService.Lookup lookup = keys.opener(envelope.subject(), envelope.group(), envelope.period());
        if (lookup instanceof KeyService.Missing missing) {
            redactions.add(new Redaction(where, missing.reason()));
            return NullNode.getInstance();
        }
        try {
            JsonNode value = JSON.readTree(Envelope.open(((KeyService.Found) lookup).aead(), event, path, envelope));
            opened.add(envelope.group());
            return value;
        } catch (GeneralSecurityException | IOException e) {
            throw new TamperedDataException(event, path, "in a read model at " + where);
        }
    }

    /** The subjects an event names, from its metadata. */
    public static Map<String, SubjectId> subjectsOf(Json metadata) {
        Map<String, SubjectId> out = new LinkedHashMap<>();
        JsonNode subjects = metadata.asTree().path(METADATA_KEY).path("subjects");
        subjects.fields()
                .forEachRemaining(
                        e -> out.put(e.getKey(), SubjectId.parse(e.getValue().asText())));
        return out;
    }

    /**
     * Whether an event's metadata names {@code subject} in its {@value #METADATA_KEY} record. The codec
     * writes a subject id as its canonical text, unescaped, so metadata whose bytes do not hold that
     * text cannot name it: an export tests every event of the log, and most are answered without
     * parsing.
     */
    public static java.util.function.Predicate<Json> naming(SubjectId subject) {
        byte[] id = ("\"" + subject + "\"").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        return metadata -> {
            byte[] bytes = metadata.unsafeBytes();
            for (int i = 0, last = bytes.length - id.length; i <= last; i++) {
                if (bytes[i] == id[0] && java.util.Arrays.equals(bytes, i, i + id.length, id, 0, id.length)) {
                    return subjectsOf(metadata).containsValue(subject);
                }
            }
            return false;
        };
    }

    private static final byte[] SUBJECTS_NAME = "\"subjects\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /**
     * Whether an event's metadata may name a subject: the codec writes its record's {@code subjects}
     * member unescaped, so metadata whose bytes do not hold that name names none (most events are then
     * answered without parsing).
     */
    static boolean mayName(Json metadata) {
        byte[] bytes = metadata.unsafeBytes();
        for (int i = 0, last = bytes.length - SUBJECTS_NAME.length; i <= last; i++) {
            if (bytes[i] == '"'
                    && java.util.Arrays.equals(
                            bytes, i, i + SUBJECTS_NAME.length, SUBJECTS_NAME, 0, SUBJECTS_NAME.length)) {
                return true;
            }
        }
        return false;
    }

    private static final byte[] RECORD_NAME =
            ("\"" + METADATA_KEY + "\"").getBytes(java.nio.charset.StandardCharsets.UTF_8);

    /** Whether metadata has the member {@value #METADATA_KEY}, which only the codec may write. */
    static boolean hasRecord(Json metadata) {
        byte[] bytes = metadata.unsafeBytes();
        for (int i = 0; i < bytes.length; i++) {
            // A backslash may start an escape in a name that decodes to the reserved one: ask then too.
            if (bytes[i] == '\\'
                    || (i + RECORD_NAME.length <= bytes.length
                            && java.util.Arrays.equals(
                                    bytes, i, i + RECORD_NAME.length, RECORD_NAME, 0, RECORD_NAME.length))) {
                // Perhaps only a value or a nested name: ask the parser.
                return metadata.asTree().has(METADATA_KEY);
            }
        }
        return false;
    }

    /** A scanner for the sealed paths the metadata lists, or null if it lists none. */
    private JsonFields openerFor(Json metadata) {
        byte[] bytes = metadata.unsafeBytes();
        if (bytes.length < 10) {
            return null;
        }
        JsonFields.Hit[] list = new JsonFields.Hit[1];
        SEALED_LIST.scan(bytes, hit -> list[0] = hit);
        if (list[0] == null || list[0].kind() != JsonFields.Kind.ARRAY) {
            return null;
        }
        String json = new String(bytes, list[0].start(), list[0].end() - list[0].start(), StandardCharsets.UTF_8);
        JsonFields fields = openers.get(json);
        if (fields == null) {
            List<String> paths = sealedPaths(metadata);
            if (paths.isEmpty()) {
                return null;
            }
            fields = new JsonFields(new java.util.HashSet<>(paths));
            if (openers.size() > 10_000) {
                openers.clear();
            }
            openers.put(json, fields);
        }
        return fields;
    }

    /** The decimal number {@code text[from, to)}, of ASCII digits only. */
    private static int digits(String text, int from, int to) {
        int value = 0;
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                throw new NumberFormatException(text);
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    /**
     * The data group and key period of every envelope at the paths an event's privacy record lists as sealed,
     * read from their headers (nothing opened): for checks. An envelope whose subject the metadata does not name,
     * or whose period is not near the event's recording ({@link #periodNear}), is left out: edited, not lost.
     * Text elsewhere that only looks like an envelope (a plain field may hold any text) is never read.
     */
    public static void envelopeHeaders(RecordedEvent event, java.util.function.BiConsumer<DataGroup, String> each) {
        List<String> paths = sealedPaths(event.metadata());
        if (paths.isEmpty()) {
            return;
        }
        byte[] in = event.data().unsafeBytes();
        byte[] metadata = event.metadata().unsafeBytes();
        List<Envelope.Decoded> found = new ArrayList<>(paths.size());
        try {
            new JsonFields(new java.util.HashSet<>(paths)).scan(in, hit -> {
                if (hit.kind() == JsonFields.Kind.STRING && Envelope.isEnvelope(in, hit.start() + 1, hit.end() - 1)) {
                    try {
                        found.add(Envelope.decode(in, hit.start() + 1, hit.end() - 1));
                    } catch (IllegalArgumentException malformed) {
                        // this envelope only: a read reports it as tampered; the event's others still count
                    }
                }
            });
        } catch (RuntimeException damaged) {
            return; // bytes altered on disk: a read of the event reports it as tampered, not a check at open
        }
        for (Envelope.Decoded envelope : found) {
            if (mentions(metadata, envelope.subject()) && periodNear(envelope.period(), event.recordedAt())) {
                each.accept(envelope.group(), envelope.period());
            }
        }
    }

    /** The paths listed in the metadata's privacy record, read without building a tree. */
    static List<String> sealedPaths(Json metadata) {
        byte[] bytes = metadata.unsafeBytes();
        if (bytes.length < 10) {
            return List.of();
        }
        try (JsonParser parser = JSON.getFactory().createParser(bytes)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return List.of();
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                boolean ours = METADATA_KEY.equals(parser.currentName());
                if (parser.nextToken() == JsonToken.START_OBJECT && ours) {
                    return sealedPathsOf(parser);
                }
                parser.skipChildren();
            }
            return List.of();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("stored metadata no longer parses", e);
        }
    }

    private static List<String> sealedPathsOf(JsonParser parser) throws IOException {
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            boolean sealed = "sealed".equals(parser.currentName());
            if (parser.nextToken() == JsonToken.START_ARRAY && sealed) {
                List<String> out = new ArrayList<>(4);
                while (parser.nextToken() == JsonToken.VALUE_STRING) {
                    out.add(parser.getText());
                }
                return out;
            }
            parser.skipChildren();
        }
        return List.of();
    }

    static JsonNode at(JsonNode root, String path) {
        JsonNode node = root;
        for (String part : path.split("\\.")) {
            if (node == null || !node.isObject()) {
                return null;
            }
            node = node.get(part);
        }
        return node;
    }
}
