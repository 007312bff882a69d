package dev.lethe.core.privacy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lethe.core.privacy.policy.PolicyLinter;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The event types whose schemas are registered, versioned, kept in the store itself (system stream
 * {@value #STREAM_NAME}, one {@code SchemaRegistered} event per version) so that they travel with the
 * log. Registering a schema equal to the latest version is a no-op. Registration goes through {@link
 * PrivateEventStore#registerSchema}, which checks the {@code change-policy} permission and audits it.
 */
public final class SchemaRegistry {
    public static final String STREAM_NAME = "$schemas";
    public static final StreamId STREAM = StreamId.of(STREAM_NAME);
    private static final ObjectMapper JSON = new ObjectMapper();

    public enum Notation {
        JSON_SCHEMA,
        ANNOTATIONS,
        PROTOBUF
    }

    /**
     * One registered version.
     *
     * @param allFields the path of every field the schema declares, classified or not (for the linter)
     * @param source the schema as given: a JSON Schema, or a description of the class or descriptor set
     */
    public record Registered(
            String eventType,
            int version,
            Notation notation,
            PrivacySchema schema,
            List<String> allFields,
            Json source,
            Instant registeredAt) {}

    private final EventStore store;
    private final Map<String, List<Registered>> byType = new ConcurrentHashMap<>();
    /** Each registered type by its {@link #lookalikeForm}: the first one registered in that form. */
    private final Map<String, String> byLookalikeForm = new ConcurrentHashMap<>();
    /** JSON Schemas as trees, by event type and version. */
    private final Map<Version, JsonNode> parsedSources = new ConcurrentHashMap<>();

    /** The JSON shape of each registered Protobuf version's fields (its source's {@code shapes}), read once. */
    private final Map<Version, Shapes> protoShapes = new ConcurrentHashMap<>();

    /**
     * Where a Protobuf message's JSON is never an object nor a list ({@code scalar}: singular scalars, enums,
     * {@code Timestamp}…), always an object ({@code object}: singular messages, maps) or always a list ({@code
     * list}: repeated fields), as {@code ProtobufNotation.source} records them; empty for an earlier release's
     * registration, which recorded none.
     */
    private record Shapes(java.util.Set<String> scalar, java.util.Set<String> object, java.util.Set<String> list) {
        static Shapes of(JsonNode source) {
            JsonNode shapes = source.path("shapes");
            return new Shapes(paths(shapes.path("scalar")), paths(shapes.path("object")), paths(shapes.path("list")));
        }

        private static java.util.Set<String> paths(JsonNode list) {
            java.util.Set<String> out = new java.util.HashSet<>();
            list.forEach(path -> out.add(path.asText()));
            return out;
        }

        /** What is wrong with {@code value} at {@code path}, if its shape is not the field's; empty if it is. */
        Optional<String> misfit(String path, JsonNode value) {
            if (value.isNull()) {
                return Optional.empty();
            }
            if (scalar.contains(path) && (value.isObject() || value.isArray())) {
                return Optional.of("a scalar, an enum or a well-known type written as a string or a number");
            }
            if (object.contains(path) && !value.isObject()) {
                return Optional.of("a message or a map, written as an object");
            }
            if (list.contains(path) && !value.isArray()) {
                return Optional.of("a repeated field, written as a list");
            }
            return Optional.empty();
        }
    }
    /** The JSON-name spellings of a Protobuf type version's classified paths, and a scanner for them. */
    /**
     * A scanner for other spellings of classified paths, each alias's path as registered, and the names a
     * mapper that wraps the root value would write the root under (empty where none is looked for).
     */
    private record JsonNames(JsonFields scanner, Map<String, String> protoPathByAlias, Set<String> roots) {}

    /** Per Protobuf type version. */
    private final Map<Version, JsonNames> jsonNames = new ConcurrentHashMap<>();
    /** Other spellings of a Protobuf type's classified fields ({@code Email}, {@code NAME}), by version. */
    private final Map<Version, JsonNames> protobufSpellings = new ConcurrentHashMap<>();

    private record Version(String eventType, int version) {}

    public SchemaRegistry(EventStore store) {
        this.store = store;
        for (long from = 0; ; ) {
            List<RecordedEvent> page = store.readStream(STREAM, from, Direction.FORWARD, EventStore.MAX_READ_LIMIT);
            for (RecordedEvent event : page) {
                // Only Lethe writes this stream; anything else in it is skipped rather than trusted.
                if (event.type().equals("SchemaRegistered")) {
                    try {
                        load(event);
                    } catch (RuntimeException malformed) {
                        // A malformed entry must not make the store unopenable; nor may its type fall back to an
                        // older version (or to none) whose rules leave fields it seals in plaintext.
                        unreadable(event, malformed);
                    }
                }
            }
            if (page.size() < EventStore.MAX_READ_LIMIT) {
                break;
            }
            from += page.size();
        }
    }

    /**
     * Registers a schema version; returns it (or the latest, if equal). Unchecked and unaudited: callers
     * go through {@link PrivateEventStore#registerSchema}, which checks {@code change-policy}.
     */
    synchronized Registered register(PrivacySchema schema, Notation notation, List<String> allFields, Json source) {
        return register(schema, notation, allFields, source, null);
    }

    /**
     * As {@link #register(PrivacySchema, Notation, List, Json)}, recording {@code actor} in the version's
     * own {@code SchemaRegistered} event (as {@code registeredBy}), so that who decided what is encrypted
     * is known even if the process stops before the audit entry that follows it is written.
     */
    synchronized Registered register(
            PrivacySchema schema, Notation notation, List<String> allFields, Json source, Principal actor) {
        if (notation == Notation.PROTOBUF && (allFields == null || allFields.isEmpty())) {
            // Strict mode checks Protobuf events' names against these: without them it refuses everything.
            throw InvalidEventException.of(
                    "schema " + schema.eventType(),
                    "a Protobuf registration needs the message's field paths (ProtobufNotation.allPaths)");
        }
        long segments =
                spellingSegments(schema.fields().stream().map(FieldRule::path).toList(), notation == Notation.PROTOBUF);
        if (segments > MAX_SPELLING_SEGMENTS) {
            // The check of other spellings at the first append would hold them all: past this, a server's memory.
            throw InvalidEventException.of(
                    "schema " + schema.eventType(),
                    "classifies " + schema.fields().size() + " paths, too many or too deep to check every other"
                            + " spelling of them (over " + MAX_SPELLING_SEGMENTS + " path segments in all): classify"
                            + " fewer paths, or nest them less deep (seal an object whole instead of each field in it)");
        }
        if (notation == Notation.PROTOBUF && !customJsonNamesOf(source).isPresent()) {
            // Without them, a field printed under a custom json_name would slip past refuseJsonNames.
            throw InvalidEventException.of(
                    "schema " + schema.eventType(),
                    "a Protobuf registration's source needs the message's custom JSON names, an object of"
                            + " strings 'jsonNames' (ProtobufNotation.source)");
        }
        Optional<Registered> latest = latest(schema.eventType());
        if (latest.isPresent()
                && !newerUnreadable(schema.eventType())
                && latest.get().schema().canonical().equals(schema.canonical())
                // As trees: the stored source went through a tree and may spell numbers otherwise.
                && latest.get().source().asTree().equals(source.asTree())) {
            return latest.get(); // unchanged: a version registered before the path limit is taken again as it is
        }
        for (FieldRule rule : schema.fields()) {
            if (rule.subjectKey()
                    && rule.subjectField().isPresent()
                    && !rule.subjectField().get().equals(rule.path())) {
                // A key names its own subject and is sealed under it: the owner declared would be ignored.
                // (At registration only: a version stored by an earlier release still loads.)
                throw InvalidEventException.of(
                        "schema " + schema.eventType(),
                        "field " + rule.path() + " is a key field, so it names its own data subject and belongs to"
                                + " it; it cannot be owned by "
                                + rule.subjectField().get()
                                + ": drop the owner from it, or make it a personal field that is not a key");
            }
            if (rule.path().length() > FieldRule.MAX_PATH_LENGTH) {
                throw InvalidEventException.of(
                        "field path",
                        "a classified field's path is at most " + FieldRule.MAX_PATH_LENGTH
                                + " characters; this one has " + rule.path().length() + " ("
                                + rule.path().substring(0, 40) + "…)");
            }
        }
        int version = Math.max(
                        latest.map(Registered::version).orElse(0),
                        Optional.ofNullable(unreadableVersions.get(schema.eventType()))
                                .map(Unreadable::numberToExceed)
                                .orElse(0))
                + 1;
        ObjectNode data = JSON.createObjectNode();
        data.put("eventType", schema.eventType());
        data.put("version", version);
        data.put("notation", notation.name());
        ArrayNode fields = data.putArray("fields");
        for (FieldRule rule : schema.fields()) {
            ObjectNode field = fields.addObject();
            field.put("path", rule.path()).put("pii", rule.personal()).put("key", rule.subjectKey());
            rule.group().ifPresent(g -> field.put("dataGroup", g.name()));
            rule.subjectField().ifPresent(s -> field.put("subject", s));
        }
        allFields.forEach(data.putArray("allFields")::add);
        data.set("source", source.asTree());
        if (actor != null) {
            data.putObject("registeredBy").put("principal", actor.name()).put("role", actor.role());
        }
        Json registration = Json.of(data);
        if (registration.size() > EventData.MAX_SIZE) {
            // Said as what it is, not as an event the caller never sent.
            throw InvalidEventException.of(
                    "schema " + schema.eventType(),
                    "its registration would be " + registration.size() + " bytes (its source: the JSON Schema, or"
                            + " the Protobuf message's file and the files it imports, in base64; and its "
                            + allFields.size() + " field paths), more than the " + EventData.MAX_SIZE
                            + " bytes (1 MiB) a registration is stored in: split the schema, or give the message"
                            + " a .proto file that imports less");
        }
        RecordedEvent stored = store.readStream(
                        STREAM,
                        RawLog.handOver(() -> store.append(
                                        STREAM,
                                        ExpectedVersion.any(),
                                        List.of(EventData.of("SchemaRegistered", registration))))
                                .firstVersion(),
                        Direction.FORWARD,
                        1)
                .get(0);
        return load(stored);
    }

    /**
     * Notes a stored version that cannot be read: its type's appends are refused ({@link #refuseUnreadable})
     * until a newer version is registered. Logged once, at open; the message names the entry, not its text.
     */
    private void unreadable(RecordedEvent event, RuntimeException malformed) {
        JsonNode data = event.data().asTree();
        String type = data.path("eventType").asText("");
        int version = data.path("version").asInt(0);
        String where = STREAM_NAME + "@" + event.version();
        System.getLogger(SchemaRegistry.class.getName())
                .log(
                        System.Logger.Level.WARNING,
                        "Schema entry " + where + (type.isEmpty() ? "" : " (" + type + " version " + version + ")")
                                + " cannot be read and is left out: " + malformed
                                + (type.isEmpty()
                                        ? ""
                                        : "; appends of " + type + " are refused until it is registered again"));
        if (!type.isEmpty()) {
            // The newest by place in the stream, whatever number it says (a damaged one may say none, or any).
            unreadableVersions.put(type, new Unreadable(version, event.version(), where, String.valueOf(malformed)));
        }
    }

    /**
     * A stored version that could not be read at open: the number it says (0 if none), its place in {@link
     * #STREAM}, that place as text, and why.
     */
    private record Unreadable(int version, long at, String where, String cause) {
        /** The number the next registration must exceed: the one it says, if it is a plausible one. */
        int numberToExceed() {
            return version > 0 && version < MAX_VERSION ? version : 0;
        }
    }

    /** Versions past this are no version Lethe wrote (a damaged entry): not taken as the one to follow. */
    private static final int MAX_VERSION = 1_000_000;

    /** By type: the place in {@link #STREAM} of its latest version read. */
    private final Map<String, Long> latestAt = new ConcurrentHashMap<>();

    /** By type: the newest stored version that could not be read at open. */
    private final Map<String, Unreadable> unreadableVersions = new ConcurrentHashMap<>();

    /**
     * Refuses, in every mode, an event of a type whose newest stored schema version could not be read when
     * the store was opened (written by a newer release, or damaged): the previous version's rules, or none,
     * might store in plaintext a field the lost version seals. Registering the type again lifts it.
     */
    public void refuseUnreadable(String eventType, String where) {
        if (eventType == null || !newerUnreadable(eventType)) {
            return;
        }
        Unreadable lost = unreadableVersions.get(eventType);
        throw InvalidEventException.of(
                where,
                "type '" + eventType + "' has a schema version " + lost.version() + ", stored at " + lost.where()
                        + ", that this release cannot read (" + lost.cause() + "): its events are refused rather than"
                        + " stored under an older version's rules, or none, which could leave personal fields"
                        + " unencrypted. Register the type's schema again, or open the store with the release that"
                        + " wrote it");
    }

    private boolean newerUnreadable(String eventType) {
        Unreadable lost = unreadableVersions.get(eventType);
        return lost != null && latestAt.getOrDefault(eventType, -1L) < lost.at();
    }

    private Registered load(RecordedEvent event) {
        JsonNode data = event.data().asTree();
        List<FieldRule> rules = new ArrayList<>();
        for (JsonNode field : data.path("fields")) {
            rules.add(new FieldRule(
                    field.get("path").asText(),
                    field.path("pii").asBoolean(),
                    field.path("key").asBoolean(),
                    Optional.ofNullable(field.path("dataGroup").asText(null)).map(DataGroup::of),
                    Optional.ofNullable(field.path("subject").asText(null))));
        }
        List<String> all = new ArrayList<>();
        data.path("allFields").forEach(f -> all.add(f.asText()));
        String type = data.get("eventType").asText();
        Registered registered = new Registered(
                type,
                data.get("version").asInt(),
                Notation.valueOf(data.get("notation").asText()),
                new PrivacySchema(type, rules),
                all,
                Json.of(data.get("source")),
                event.recordedAt());
        byType.computeIfAbsent(type, t -> new java.util.concurrent.CopyOnWriteArrayList<>())
                .add(registered);
        latestAt.merge(type, event.version(), Math::max);
        byLookalikeForm.putIfAbsent(lookalikeForm(type), type);
        return registered;
    }

    /**
     * A registered type that {@code eventType}, which has no schema, differs from only in case or in the
     * separators {@code _ - . $} ({@code SignUp} beside {@code Signup}, {@code product_sold} beside
     * {@code ProductSold}): most likely the type it was meant to be, whose personal fields an append under
     * the misspelt name would store in plaintext.
     */
    public Optional<String> lookalike(String eventType) {
        if (eventType == null || byType.containsKey(eventType)) {
            return Optional.empty();
        }
        return Optional.ofNullable(byLookalikeForm.get(lookalikeForm(eventType)));
    }

    private static String lookalikeForm(String type) {
        StringBuilder form = new StringBuilder(type.length());
        type.codePoints()
                .filter(c -> c != '_' && c != '-' && c != '.' && c != '$') // the separators a type name may hold
                .map(c -> Character.toLowerCase(Character.toUpperCase(c)))
                .forEach(form::appendCodePoint);
        return form.toString();
    }

    public Optional<Registered> latest(String eventType) {
        List<Registered> versions = byType.get(eventType);
        return versions == null || versions.isEmpty()
                ? Optional.empty()
                : Optional.of(versions.get(versions.size() - 1));
    }

    /** Per type: the data groups its versions seal each personal path under, for so many versions. */
    private record SealedGroups(int versions, Map<String, Set<DataGroup>> byPath) {}

    private final Map<String, SealedGroups> sealedGroups = new ConcurrentHashMap<>();

    /**
     * The data groups any registered version of {@code eventType} seals {@code path} under: an envelope of that
     * path naming another group was edited (empty: no version classifies the path as personal, or the type is
     * unknown; nothing to compare with).
     */
    public Set<DataGroup> sealedGroups(String eventType, String path) {
        List<Registered> versions = byType.get(eventType);
        if (versions == null) {
            return Set.of();
        }
        SealedGroups cached = sealedGroups.get(eventType);
        if (cached == null || cached.versions() != versions.size()) {
            Map<String, Set<DataGroup>> byPath = new java.util.HashMap<>();
            for (Registered version : versions) {
                for (FieldRule rule : version.schema().personalFields()) {
                    byPath.computeIfAbsent(rule.path(), p -> new java.util.HashSet<>())
                            .add(rule.group().orElse(DataGroup.DEFAULT));
                }
            }
            byPath.replaceAll((p, groups) -> Set.copyOf(groups));
            cached = new SealedGroups(versions.size(), Map.copyOf(byPath));
            sealedGroups.put(eventType, cached);
        }
        return cached.byPath().getOrDefault(path, Set.of());
    }

    /** Every registered version of one type, oldest first (none: an empty list). */
    public List<Registered> versions(String eventType) {
        List<Registered> versions = byType.get(eventType);
        return versions == null ? List.of() : List.copyOf(versions);
    }

    /** Every registered version of every type, by type then version. */
    public List<Registered> allVersions() {
        List<Registered> out = new ArrayList<>();
        byType.keySet().stream().sorted().forEach(type -> out.addAll(byType.get(type)));
        return out;
    }

    /**
     * Key fields, in any registered version, that store their values in plaintext and are named for a
     * person or their identifier ({@code Type.path}, sorted): the natural keys (e-mail addresses, customer
     * numbers) they hold stay readable beside the subject's pseudonym after a forget, which does not reach
     * them. A key field marked {@code pii} is sealed like any personal field and is not listed.
     */
    public List<String> plaintextNaturalKeyFields() {
        return allVersions().stream()
                .flatMap(registered -> registered.schema().keyFields().stream()
                        .filter(key -> !key.personal() && holdsNaturalKeys(key.path()))
                        .map(key -> registered.eventType() + "." + key.path()))
                .distinct()
                .sorted()
                .toList();
    }

    /**
     * For a natural key that maps to no subject: which fields' values are natural keys ({@code Type.path} of
     * every registered version's key fields, at most ten named) — a value of any other field (an e-mail
     * address that is personal data but not the key) never is.
     */
    public String keyFieldsHint() {
        List<String> fields = allVersions().stream()
                .flatMap(registered ->
                        registered.schema().keyFields().stream().map(key -> registered.eventType() + "." + key.path()))
                .distinct()
                .sorted()
                .toList();
        if (fields.isEmpty()) {
            return "; no registered event type has a key field (natural keys come from key fields, or from a"
                    + " subject created for one on purpose)";
        }
        int shown = Math.min(10, fields.size());
        return "; natural keys are the values of key fields (or keys a subject was created for on purpose), the"
                + " registered key fields: "
                + String.join(", ", fields.subList(0, shown))
                + (fields.size() > shown ? " and " + (fields.size() - shown) + " more" : "");
    }

    private static boolean holdsNaturalKeys(String path) {
        String leaf = path.substring(path.lastIndexOf('.') + 1);
        return PolicyLinter.looksPersonal(leaf) || PolicyLinter.namesAPerson(leaf);
    }

    /** The latest version of every registered type. */
    public List<Registered> all() {
        List<Registered> out = new ArrayList<>();
        byType.keySet().stream().sorted().forEach(type -> latest(type).ifPresent(out::add));
        return out;
    }

    /**
     * Checks data against a JSON Schema's {@code required} properties and the {@code type} of each
     * declared property (top level and nested objects). A subset of JSON Schema, stated as such.
     */
    public void validate(Registered registered, Json data) {
        validate(registered, data, new long[] {PATTERN_STEPS});
    }

    /**
     * As {@link #validate(Registered, Json)}, drawing {@code patternProperties} matches from {@code patternSteps}
     * ({@link #PATTERN_STEPS} for a whole batch: {@link #patternBudget()}).
     */
    public void validate(Registered registered, Json data, long[] patternSteps) {
        if (registered.notation() == Notation.PROTOBUF) {
            checkProtoNames(registered, data.asTree());
            return;
        }
        if (registered.notation() != Notation.JSON_SCHEMA) {
            return;
        }
        // The schema is parsed once per registered version, not once per event.
        JsonNode schema = parsedSources.computeIfAbsent(
                new Version(registered.eventType(), registered.version()),
                v -> registered.source().asTree());
        check(registered.eventType(), schema, data.asTree(), "", patternSteps);
    }

    /**
     * Refuses a Protobuf event that names a classified field by its JSON name ({@code emailAddress} for
     * {@code email_address}, what {@code JsonFormat.printer()} writes by default), strict mode or not:
     * the codec finds personal fields by their proto names, so such a value would be stored unencrypted.
     * JSON names are protoc's default lowerCamelCase, or a field's {@code json_name} option as the
     * registration's source lists it ({@code ProtobufNotation.source}; registrations stored before it
     * listed them know only the default). For every notation (records, JSON Schema, Protobuf), refuses the
     * other usual spellings of a classified field ({@code NAME}, {@code Email}, {@code e_mail}) that are not
     * fields of the type themselves, strict mode or not.
     */
    public void refuseJsonNames(Registered registered, Json data) {
        if (registered.notation() == Notation.ANNOTATIONS) {
            refuseOtherSpellings(registered, data);
            return;
        }
        if (registered.notation() == Notation.JSON_SCHEMA) {
            // A hand-built event (or a mapper's naming strategy) writes NAME or Email for a property the schema
            // classifies as name or email: stored under that name, the value would stay unencrypted.
            refuseSpellings(
                    registered,
                    data,
                    spellings(jsonNames, registered),
                    "the type was registered from a JSON Schema: write events with its property names");
            return;
        }
        if (registered.notation() != Notation.PROTOBUF) {
            return;
        }
        JsonNames aliases = jsonNames.computeIfAbsent(
                new Version(registered.eventType(), registered.version()), v -> jsonNameScanner(registered));
        if (!aliases.protoPathByAlias().isEmpty()) {
            refuseJsonNameAliases(registered, data, aliases);
        }
        // Then the other usual spellings (Email, NAME, e-mail) that no JSON printer writes but a hand-built
        // event may: stored under them, the value would stay unencrypted.
        refuseSpellings(
                registered,
                data,
                spellings(protobufSpellings, registered),
                "the type was registered from a Protobuf message: write events with its proto field names"
                        + " (JsonFormat.printer().preservingProtoFieldNames())");
    }

    /** The spelling scanner of a registered version, made once and kept in {@code scanners}. */
    private static JsonNames spellings(Map<Version, JsonNames> scanners, Registered registered) {
        return scanners.computeIfAbsent(
                new Version(registered.eventType(), registered.version()), v -> spellingScanner(registered, false));
    }

    private void refuseJsonNameAliases(Registered registered, Json data, JsonNames aliases) {
        aliases.scanner().scan(data.unsafeBytes(), hit -> {
            if (hit.kind() == JsonFields.Kind.DOTTED_NAME || hit.kind() == JsonFields.Kind.NOT_AN_OBJECT) {
                throw InvalidEventException.of(
                        registered.eventType() + " data",
                        "names a classified Protobuf field by a JSON name, in a dotted member name or around a value"
                                + " that is not an object; Lethe reads Protobuf JSON by proto field names: print events"
                                + " with JsonFormat.printer().preservingProtoFieldNames()");
            }
            throw InvalidEventException.of(
                    registered.eventType() + "." + hit.path(),
                    "is the JSON name of the classified Protobuf field '"
                            + aliases.protoPathByAlias().get(hit.path())
                            + "', which Lethe would not encrypt under this name; Lethe reads Protobuf JSON by"
                            + " proto field names: print events with JsonFormat.printer().preservingProtoFieldNames()");
        });
    }

    /**
     * Refuses an event of a type registered from a record's annotations that names a classified field in
     * another spelling ({@code e_mail}, {@code EMAIL}, {@code Email} for {@code email}), any mode: a mapper
     * with a naming strategy of its own writes such names, and the codec, which finds personal fields by
     * the names the schema was registered with, would store the value unencrypted.
     */
    private void refuseOtherSpellings(Registered registered, Json data) {
        refuseSpellings(
                registered,
                data,
                jsonNames.computeIfAbsent(
                        new Version(registered.eventType(), registered.version()),
                        v -> spellingScanner(registered, true)),
                "the type was registered from a record, with its components' names (or their @JsonProperty and"
                        + " @JsonNaming names); write events with those names (a mapper's own naming strategy writes"
                        + " others)");
    }

    private static void refuseSpellings(Registered registered, Json data, JsonNames aliases, String how) {
        if (aliases.protoPathByAlias().isEmpty()) {
            return;
        }
        aliases.scanner().scan(data.unsafeBytes(), hit -> {
            if (hit.kind() == JsonFields.Kind.NOT_AN_OBJECT
                    && registered.schema().fields().stream()
                            .anyMatch(rule -> rule.path().startsWith(hit.path() + "."))) {
                return; // on the way to a classified path as registered: the codec refuses that shape itself
            }
            if (hit.kind() == JsonFields.Kind.NOT_AN_OBJECT
                    && aliases.roots().contains(hit.path())
                    && data.unsafeBytes()[hit.start()] != '[') {
                // A member spelled as the root a wrapping mapper writes (vip, for a record Vip) whose value is a
                // scalar wraps nothing: the record's own member (a boolean method isVip()), not its root.
                return;
            }
            if (hit.kind() == JsonFields.Kind.NOT_AN_OBJECT
                    && (registered.allFields().contains(hit.path())
                            || registered.schema().field(hit.path()).isPresent())) {
                // A field of the type itself (customer, beside a classified customerName whose dotted spelling
                // is customer.name): its own value, whatever its shape, hides no spelling of a classified one.
                return;
            }
            String classified = aliases.protoPathByAlias().get(hit.path());
            throw InvalidEventException.of(
                    registered.eventType() + (classified == null ? " data" : "." + hit.path()),
                    (classified == null
                                    ? "names a classified field in another spelling, in a dotted member name or around a"
                                            + " value that is not an object"
                                    : "is another spelling of the classified field '" + classified + "'")
                            + ", which Lethe would not encrypt under this name: " + how);
        });
    }

    /**
     * The other spellings of the classified fields that are not real fields; with {@code wrappedRoot}, also
     * under the root name a mapper that wraps the root value writes.
     */
    private static JsonNames spellingScanner(Registered registered, boolean wrappedRoot) {
        Set<String> real = new java.util.HashSet<>(registered.allFields());
        registered.schema().fields().forEach(rule -> real.add(rule.path()));
        Map<String, String> byAlias = new java.util.HashMap<>();
        // A mapper that wraps the root value (WRAP_ROOT_VALUE) writes {"<root name>": {…}}: the record's simple
        // name (from the registration's source), or the event type's.
        Set<String> roots = new java.util.LinkedHashSet<>();
        if (wrappedRoot) {
            roots.add(registered.eventType());
        }
        String recordClass = registered.source() == null
                ? ""
                : registered.source().asTree().path("class").asText("");
        if (wrappedRoot && !recordClass.isEmpty()) {
            roots.add(recordClass.substring(Math.max(recordClass.lastIndexOf('.'), recordClass.lastIndexOf('$')) + 1));
        }
        for (FieldRule rule : registered.schema().fields()) {
            List<String> spellings = new ArrayList<>(spellingPaths(rule.path()));
            spellings.add(rule.path());
            for (String alias : spellings) {
                if (!real.contains(alias)) {
                    byAlias.putIfAbsent(alias, rule.path());
                }
                for (String root : roots) {
                    if (!root.isEmpty() && !real.contains(root) && !real.contains(root + "." + alias)) {
                        byAlias.putIfAbsent(root + "." + alias, rule.path());
                    }
                }
            }
        }
        // Besides the usual conventions, any spelling that differs from a classified name only in case and
        // punctuation (nAme, "name ") is read as one, unless it is a field of the type itself.
        Set<String> wrappers = new java.util.HashSet<>();
        for (String root : roots) {
            if (!root.isEmpty() && !real.contains(root)) {
                wrappers.add(root);
            }
        }
        return new JsonNames(new JsonFields(byAlias.keySet(), true, real), byAlias, Set.copyOf(wrappers));
    }

    /** Paths up to this many segments are checked in every mix of conventions; deeper ones linearly. */
    private static final int FULL_MIX_DEPTH = 2;

    /**
     * Paths up to this many segments are checked with any one segment spelt another way too; deeper ones only in
     * each convention applied to every segment: the scanner keeps each spelling's prefixes, so renaming each of a
     * path's segments in turn cost the cube of its depth (a schema 490 levels deep ran a server out of memory).
     * What a type's classified paths may cost in all is bounded at registration ({@link #MAX_SPELLING_SEGMENTS}).
     */
    static final int RENAME_DEPTH = 16;

    /**
     * At most this many path segments, counted over every spelling a type's classified paths are checked in (the
     * scanner built at the type's first append keeps them all): a type past it is refused at registration.
     */
    static final long MAX_SPELLING_SEGMENTS = 4_000_000;

    /**
     * An upper bound of the path segments {@link #spellingScanner} and the Protobuf one would hold for {@code paths},
     * from each segment's distinct spellings ({@code email} has few: most conventions write it alike), without
     * listing the paths' spellings themselves.
     */
    static long spellingSegments(List<String> paths, boolean protobuf) {
        Map<String, Integer> distinct = new java.util.HashMap<>();
        long total = 0;
        for (String path : paths) {
            String[] segments = path.split("\\.", -1);
            int depth = segments.length;
            long mixes = 1;
            long renamed = 0;
            long widest = 1;
            long protoMixes = 1;
            long protoRenamed = 0;
            for (String segment : segments) {
                int count = distinct.computeIfAbsent(segment, s -> new java.util.HashSet<>(spellings(s)).size());
                mixes = Math.min(mixes * count, Long.MAX_VALUE / 64);
                renamed += count;
                widest = Math.max(widest, count);
                // The proto name, the default JSON name when it differs, and a custom json_name perhaps.
                int names = jsonName(segment).equals(segment) ? 2 : 3;
                protoMixes = Math.min(protoMixes * names, MAX_JSON_NAME_MIXES + 1L);
                protoRenamed += names;
            }
            long spellings = 1 + widest + (depth <= FULL_MIX_DEPTH ? mixes : 0) + (depth <= RENAME_DEPTH ? renamed : 0);
            if (protobuf) {
                spellings +=
                        protoMixes <= MAX_JSON_NAME_MIXES ? protoMixes : 3 + (depth <= RENAME_DEPTH ? protoRenamed : 0);
            }
            total += 3 * spellings * depth; // under the event type's and the record's root names too
        }
        return total;
    }

    /** A Protobuf path whose mixes of proto and JSON names number at most this many is checked in each mix. */
    static final int MAX_JSON_NAME_MIXES = 256;

    /**
     * The other spellings of {@code path} a writer produces: every segment written in one of the usual
     * naming conventions (camelCase, PascalCase, snake_case, SCREAMING_SNAKE, kebab-case, lowercase,
     * UPPERCASE, each of Jackson's strategies), the same convention for the whole path, as a mapper's
     * naming strategy writes it; and each segment alone in another spelling, the others as they are (one
     * renamed member); for paths of up to two segments, every mix of conventions too. The path itself is
     * left out. Linear in the length of deeper paths: every mix would be 15 to the power of the depth
     * (millions at seven levels).
     */
    static List<String> spellingPaths(String path) {
        String[] segments = path.split("\\.");
        List<List<String>> bySegment = new ArrayList<>();
        for (String segment : segments) {
            bySegment.add(spellings(segment));
        }
        Set<String> out = new java.util.LinkedHashSet<>();
        if (segments.length <= FULL_MIX_DEPTH) {
            // Short paths (most): every mix of conventions, at most 15^2 spellings.
            List<String> mixes = List.of("");
            for (List<String> spellings : bySegment) {
                List<String> next = new ArrayList<>();
                for (String prefix : mixes) {
                    for (String spelling : new java.util.LinkedHashSet<>(spellings)) {
                        next.add(prefix.isEmpty() ? spelling : prefix + "." + spelling);
                    }
                }
                mixes = next;
            }
            out.addAll(mixes);
        }
        for (int convention = 0; convention < bySegment.get(0).size(); convention++) {
            StringBuilder uniform = new StringBuilder();
            for (int i = 0; i < segments.length; i++) {
                uniform.append(i == 0 ? "" : ".").append(bySegment.get(i).get(convention));
            }
            out.add(uniform.toString());
        }
        addRenamed(segments, bySegment, out);
        out.remove(path);
        return List.copyOf(out);
    }

    /** Adds {@code segments} with any one of them spelt as {@code bySegment} gives, for paths of {@link #RENAME_DEPTH}. */
    private static void addRenamed(String[] segments, List<List<String>> bySegment, Set<String> out) {
        if (segments.length > RENAME_DEPTH) {
            return;
        }
        for (int i = 0; i < segments.length; i++) {
            for (String spelling : bySegment.get(i)) {
                String[] one = segments.clone();
                one[i] = spelling;
                out.add(String.join(".", one));
            }
        }
    }

    /** Jackson's own naming strategies: what a mapper configured with one of them writes. */
    private static final List<com.fasterxml.jackson.databind.PropertyNamingStrategies.NamingBase> STRATEGIES =
            java.util.stream.Stream.of(
                            com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE,
                            com.fasterxml.jackson.databind.PropertyNamingStrategies.UPPER_SNAKE_CASE,
                            com.fasterxml.jackson.databind.PropertyNamingStrategies.UPPER_CAMEL_CASE,
                            com.fasterxml.jackson.databind.PropertyNamingStrategies.LOWER_CAMEL_CASE,
                            com.fasterxml.jackson.databind.PropertyNamingStrategies.KEBAB_CASE,
                            com.fasterxml.jackson.databind.PropertyNamingStrategies.LOWER_CASE,
                            com.fasterxml.jackson.databind.PropertyNamingStrategies.LOWER_DOT_CASE)
                    .map(strategy -> (com.fasterxml.jackson.databind.PropertyNamingStrategies.NamingBase) strategy)
                    .toList();

    /**
     * The spellings of one segment, one per convention and always in the same order (so that the i-th of
     * every segment is one convention): the segment itself first.
     */
    private static List<String> spellings(String segment) {
        List<String> words = new ArrayList<>();
        for (String part : segment.split("[_\\-]+")) {
            for (String word : part.split("(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")) {
                if (!word.isEmpty()) {
                    words.add(word.toLowerCase(java.util.Locale.ROOT));
                }
            }
        }
        List<String> out = new ArrayList<>();
        out.add(segment);
        if (words.isEmpty()) {
            return java.util.Collections.nCopies(CONVENTIONS, segment);
        }
        StringBuilder camel = new StringBuilder(words.get(0));
        StringBuilder pascal = new StringBuilder();
        for (int i = 0; i < words.size(); i++) {
            String capital =
                    Character.toUpperCase(words.get(i).charAt(0)) + words.get(i).substring(1);
            if (i > 0) {
                camel.append(capital);
            }
            pascal.append(capital);
        }
        // What Jackson's own strategies write, too: they keep acronyms whole (userIPAddress: user_ipaddress).
        for (com.fasterxml.jackson.databind.PropertyNamingStrategies.NamingBase strategy : STRATEGIES) {
            out.add(strategy.translate(segment));
        }
        String snake = String.join("_", words);
        out.add(camel.toString());
        out.add(pascal.toString());
        out.add(snake);
        out.add(snake.toUpperCase(java.util.Locale.ROOT));
        out.add(String.join("-", words));
        out.add(String.join("", words));
        out.add(String.join("", words).toUpperCase(java.util.Locale.ROOT));
        return out;
    }

    /** How many spellings {@link #spellings} gives each segment: itself, Jackson's strategies, seven more. */
    private static final int CONVENTIONS = 1 + 7 + 7;

    private static JsonNames jsonNameScanner(Registered registered) {
        Map<String, String> custom = customJsonNamesOf(registered.source()).orElse(Map.of());
        Map<String, String> byAlias = new java.util.HashMap<>();
        for (FieldRule rule : registered.schema().fields()) {
            for (String alias : jsonNamePaths(rule.path(), custom)) {
                byAlias.putIfAbsent(alias, rule.path());
            }
        }
        return new JsonNames(new JsonFields(byAlias.keySet(), true), byAlias, Set.of());
    }

    /** A Protobuf source's {@code jsonNames} (proto path to custom JSON name), if it is an object of strings. */
    private static Optional<Map<String, String>> customJsonNamesOf(Json source) {
        JsonNode names = source == null ? null : source.asTree().get("jsonNames");
        if (names == null || !names.isObject()) {
            return Optional.empty();
        }
        Map<String, String> out = new java.util.HashMap<>();
        for (Map.Entry<String, JsonNode> name : names.properties()) {
            if (!name.getValue().isTextual()) {
                return Optional.empty();
            }
            out.put(name.getKey(), name.getValue().asText());
        }
        return Optional.of(out);
    }

    /** {@link #jsonNamePaths(String, Map)} with protoc's default JSON names only. */
    static List<String> jsonNamePaths(String path) {
        return jsonNamePaths(path, Map.of());
    }

    /**
     * The spellings of {@code path} with at least one segment in a JSON name (default or custom) and differing from
     * it; {@code custom} gives the JSON name of the segment ending at a proto path, when not the default. Every mix
     * of proto and JSON names when they number at most {@link #MAX_JSON_NAME_MIXES} (2 to the power of the depth,
     * or 3: a chain of 21 messages had the first append of its type run a server out of memory); beyond, each
     * kind of name for every segment (what a printer writes) and, up to {@link #RENAME_DEPTH} segments, any one
     * segment named another way.
     */
    static List<String> jsonNamePaths(String path, Map<String, String> custom) {
        String[] segments = path.split("\\.");
        List<List<String>> bySegment = new ArrayList<>();
        String protoPrefix = "";
        long mixes = 1;
        for (String segment : segments) {
            protoPrefix = protoPrefix.isEmpty() ? segment : protoPrefix + "." + segment;
            // The proto name, protoc's default JSON name and a custom one: JsonFormat's parser reads the
            // first and the JSON name; the default is refused too, since a printer may have used it.
            java.util.Set<String> names = new java.util.LinkedHashSet<>(List.of(segment, jsonName(segment)));
            Optional.ofNullable(custom.get(protoPrefix)).ifPresent(names::add);
            bySegment.add(List.copyOf(names));
            mixes = Math.min(mixes * names.size(), MAX_JSON_NAME_MIXES + 1L);
        }
        Set<String> out = new java.util.LinkedHashSet<>();
        if (mixes <= MAX_JSON_NAME_MIXES) {
            List<String> spellings = List.of("");
            for (List<String> names : bySegment) {
                List<String> next = new ArrayList<>();
                for (String prefix : spellings) {
                    String joined = prefix.isEmpty() ? "" : prefix + ".";
                    names.forEach(name -> next.add(joined + name));
                }
                spellings = next;
            }
            out.addAll(spellings);
        } else {
            for (int kind = 0; kind < 3; kind++) {
                StringBuilder uniform = new StringBuilder();
                for (int i = 0; i < segments.length; i++) {
                    List<String> names = bySegment.get(i);
                    uniform.append(i == 0 ? "" : ".").append(names.get(Math.min(kind, names.size() - 1)));
                }
                out.add(uniform.toString());
            }
            addRenamed(segments, bySegment, out);
        }
        out.remove(path);
        return List.copyOf(out);
    }

    /** protoc's default JSON name: each '_' dropped and the letter after it upper-cased. */
    public static String jsonName(String protoName) {
        StringBuilder out = new StringBuilder(protoName.length());
        boolean upper = false;
        for (int i = 0; i < protoName.length(); i++) {
            char c = protoName.charAt(i);
            if (c == '_') {
                upper = true;
            } else {
                out.append(upper ? Character.toUpperCase(c) : c);
                upper = false;
            }
        }
        return out.toString();
    }

    /**
     * Protobuf events must name their fields as the descriptor does (proto names): the classified paths
     * are proto names, so a field printed under its JSON name ({@code emailAddress} for {@code
     * email_address}, Protobuf's default) would not be recognised, and a personal one would be stored in
     * plaintext. Strict mode refuses any name the message type does not declare, at any depth the
     * descriptor describes (not inside lists).
     */
    private void checkProtoNames(Registered registered, JsonNode data) {
        java.util.Set<String> declared = new java.util.HashSet<>(registered.allFields());
        // The JSON shape of each field, as the registration recorded it (an earlier release's recorded none:
        // not checked).
        Shapes shapes = protoShapes.computeIfAbsent(
                new Version(registered.eventType(), registered.version()),
                v -> Shapes.of(registered.source().asTree()));
        java.util.Set<String> prefixes = new java.util.HashSet<>();
        for (String path : declared) {
            for (int dot = path.indexOf('.'); dot > 0; dot = path.indexOf('.', dot + 1)) {
                prefixes.add(path.substring(0, dot));
            }
        }
        checkProtoNames(registered, data, "", declared, prefixes, shapes);
    }

    private static void checkProtoNames(
            Registered registered,
            JsonNode node,
            String prefix,
            java.util.Set<String> declared,
            java.util.Set<String> prefixes,
            Shapes shapes) {
        if (!node.isObject()) {
            return;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().indexOf('.') >= 0) {
                // A proto field name has no dot; a literal "contact.email" would read as a path here
                // but not to the codec, which would leave its value unsealed.
                // Named only when it is plain identifiers ("contact.email"): a member name may be a value
                // ("ann@example.com").
                boolean showable =
                        field.getKey().matches("[A-Za-z_][A-Za-z0-9_]{0,63}(\\.[A-Za-z_][A-Za-z0-9_]{0,63}){1,8}");
                throw InvalidEventException.of(
                        registered.eventType()
                                + (prefix.isEmpty() ? "" : "." + prefix)
                                + (showable ? "." + field.getKey() : " data"),
                        (showable ? "is" : "has a member (its name not shown) that is")
                                + " not a Protobuf field name (names hold no '.'; nest objects instead) (strict mode)");
            }
            String path = prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey();
            Optional<String> misfit = shapes.misfit(path, field.getValue());
            if (misfit.isPresent()) {
                // Not Protobuf JSON for that field; and unless the field is sealed whole, what the value holds
                // would be stored as written, its names never looked at (a list's elements, an object under an enum).
                boolean sealed = sealedAt(registered.schema(), path);
                throw InvalidEventException.of(
                        registered.eventType() + "." + path,
                        "is " + kindOf(field.getValue()) + ", but the registered Protobuf message declares it "
                                + misfit.get() + (sealed ? "" : ": what it holds would be stored unencrypted")
                                + " (strict mode)");
            }
            if (prefixes.contains(path)) {
                checkProtoNames(registered, field.getValue(), path, declared, prefixes, shapes);
            } else if (!declared.contains(path)) {
                // Named when it reads as a field name (a member name may be a value: "Ada Lovelace").
                boolean showable = field.getKey().matches("[A-Za-z_][A-Za-z0-9_]{0,63}");
                throw InvalidEventException.of(
                        showable
                                ? registered.eventType() + "." + path
                                : registered.eventType() + (prefix.isEmpty() ? " data" : "." + prefix),
                        (showable ? "is" : "has a member (its name not shown) that is")
                                + " not a field of the registered Protobuf message (version " + registered.version()
                                + "); Lethe reads Protobuf JSON by proto field names: print events with"
                                + " JsonFormat.printer().preservingProtoFieldNames() (strict mode)");
            }
        }
    }

    /** Whether the value at {@code path} is sealed (or read as a key): its field, or one it is inside, is classified. */
    private static boolean sealedAt(PrivacySchema schema, String path) {
        for (int end = path.length(); end > 0; end = path.lastIndexOf('.', end - 1)) {
            boolean classified = schema.field(path.substring(0, end))
                    .map(rule -> rule.personal() || rule.subjectKey())
                    .orElse(false);
            if (classified) {
                return true;
            }
        }
        return false;
    }

    /** A JSON value's kind, as an error names it (never the value). */
    private static String kindOf(JsonNode value) {
        return value.isObject()
                ? "an object"
                : value.isArray()
                        ? "a list"
                        : value.isTextual() ? "a text" : value.isNumber() ? "a number" : "a boolean";
    }

    private static final Map<String, java.util.regex.Pattern> PATTERNS = new ConcurrentHashMap<>();

    /** Whether a {@code patternProperties} regular expression of {@code schema} matches {@code name} (anywhere in it). */
    private static boolean matchesPatternProperty(JsonNode schema, String name, String where, long[] patternSteps) {
        for (Iterator<String> patterns = schema.path("patternProperties").fieldNames(); patterns.hasNext(); ) {
            String pattern = patterns.next();
            java.util.regex.Pattern compiled;
            try {
                compiled = PATTERNS.computeIfAbsent(pattern, java.util.regex.Pattern::compile);
            } catch (java.util.regex.PatternSyntaxException notJava) {
                return true; // a pattern this engine cannot read refuses nothing
            }
            try {
                if (compiled.matcher(new Metered(name, patternSteps)).find()) {
                    return true;
                }
            } catch (Metered.Exhausted e) {
                throw InvalidEventException.of(
                        where,
                        "has a property (its name not shown, " + name.length() + " characters) whose match"
                                + " against the schema's patternProperties went past the " + PATTERN_STEPS
                                + " characters a batch's matches may read: names that long, or a pattern that"
                                + " backtracks; not stored");
            }
        }
        return false;
    }

    /**
     * How many characters the matches of {@code patternProperties} patterns against member names may read in one
     * batch, all together: java.util.regex backtracks, so an unanchored pattern reads a long name quadratically
     * (80,000 characters took 38 s) and a badly written one exponentially (28 characters, 2.5 s), and a budget per
     * match still let 700 names of 1,400 characters take 15 s. Under a second.
     */
    static final long PATTERN_STEPS = 50_000_000;

    /** A fresh budget of {@link #PATTERN_STEPS} for one batch's {@code patternProperties} matches. */
    public static long[] patternBudget() {
        return new long[] {PATTERN_STEPS};
    }

    /** A name that counts the characters a match reads from it, and stops the match past its budget. */
    private static final class Metered implements CharSequence {
        private final String text;
        private final long[] left;

        Metered(String text, long[] left) {
            this.text = text;
            this.left = left;
        }

        @Override
        public char charAt(int index) {
            if (--left[0] < 0) {
                throw new Exhausted();
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new Metered(text.substring(start, end), left);
        }

        @Override
        public String toString() {
            return text;
        }

        /** Thrown out of a match that read past its budget. */
        static final class Exhausted extends RuntimeException {
            Exhausted() {
                super(null, null, false, false);
            }
        }
    }

    /** A member name shown in an error: a plain identifier, which names a field, not a value. */
    private static final java.util.regex.Pattern IDENTIFIER =
            java.util.regex.Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,63}");

    private static void check(String type, JsonNode schema, JsonNode value, String path, long[] patternSteps) {
        String where = type + (path.isEmpty() ? " data" : "." + path);
        String expected = schema.path("type").asText(null);
        if (expected != null && !hasType(value, expected)) {
            throw InvalidEventException.of(
                    where,
                    "must be of type " + expected + ", got "
                            + value.getNodeType().name().toLowerCase());
        }
        if (!value.isObject()) {
            return;
        }
        for (JsonNode required : schema.path("required")) {
            if (!value.has(required.asText())) {
                throw InvalidEventException.of(where, "lacks required property '" + required.asText() + "'");
            }
        }
        if (schema.path("additionalProperties").isBoolean()
                && !schema.path("additionalProperties").asBoolean()) {
            // A misspelt personal field ("eMail" for "email") would be stored in plaintext.
            for (Iterator<String> names = value.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!schema.path("properties").has(name)
                        && !matchesPatternProperty(schema, name, where, patternSteps)) {
                    throw InvalidEventException.of(
                            where,
                            "has "
                                    + (IDENTIFIER.matcher(name).matches()
                                                    && dev.lethe.core.privacy.policy.PolicyLinter.personalDataInName(
                                                                    name)
                                                            .isEmpty()
                                            ? "the property '" + name + "', which"
                                            : "a property (its name not shown) that")
                                    + " the schema does not declare (additionalProperties: false)");
                }
            }
        }
        for (Iterator<Map.Entry<String, JsonNode>> it =
                        schema.path("properties").fields();
                it.hasNext(); ) {
            Map.Entry<String, JsonNode> property = it.next();
            JsonNode child = value.get(property.getKey());
            if (child != null && !child.isNull()) {
                check(
                        type,
                        property.getValue(),
                        child,
                        path.isEmpty() ? property.getKey() : path + "." + property.getKey(),
                        patternSteps);
            }
        }
    }

    private static boolean hasType(JsonNode value, String type) {
        switch (type) {
            case "object":
                return value.isObject();
            case "array":
                return value.isArray();
            case "string":
                return value.isTextual();
            case "integer":
                return value.isIntegralNumber();
            case "number":
                return value.isNumber();
            case "boolean":
                return value.isBoolean();
            case "null":
                return value.isNull();
            default:
                return true;
        }
    }

    /**
     * At most this many characters of property paths (each path whole, nested ones repeating their parents' names)
     * in one schema: they are stored with its registration, and names × depth grows as the square of the depth (450
     * levels of 2,000-character names ran a server out of memory before any size was checked).
     */
    static final long MAX_PROPERTY_PATH_CHARS = 1_000_000;

    /**
     * Every property path a JSON Schema declares, nested objects included.
     *
     * @throws InvalidEventException past {@link #MAX_PROPERTY_PATH_CHARS} characters of paths
     */
    public static List<String> propertyPaths(JsonNode schema) {
        List<String> out = new ArrayList<>();
        collectPaths(schema, "", out, new long[] {0});
        return out;
    }

    private static void collectPaths(JsonNode schema, String prefix, List<String> out, long[] chars) {
        for (Iterator<Map.Entry<String, JsonNode>> it =
                        schema.path("properties").fields();
                it.hasNext(); ) {
            Map.Entry<String, JsonNode> property = it.next();
            chars[0] += prefix.length() + property.getKey().length();
            if (chars[0] > MAX_PROPERTY_PATH_CHARS) {
                throw InvalidEventException.of(
                        "schema",
                        "its property paths come to more than " + MAX_PROPERTY_PATH_CHARS + " characters (each"
                                + " nested path repeats its parents' names): nest less deep, or use shorter names");
            }
            out.add(prefix + property.getKey());
            collectPaths(property.getValue(), prefix + property.getKey() + ".", out, chars);
        }
    }
}
