package dev.lethe.core.privacy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lethe.core.privacy.keys.ErasureReceipt;
import dev.lethe.core.privacy.keys.KeyService;
import dev.lethe.core.privacy.keys.KeyStore;
import dev.lethe.core.privacy.keys.KeyUnavailableException;
import dev.lethe.core.privacy.keys.MasterKey;
import dev.lethe.core.privacy.policy.DataPolicy.Permission;
import dev.lethe.core.privacy.policy.PolicyLinter;
import dev.lethe.core.spi.AppendRules;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StorageException;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.store.StreamInfo;
import dev.lethe.core.store.WrongExpectedVersionException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * An event store that can forget: appends go through the schema check and the privacy codec, so every
 * personal field is encrypted before it is stored; reads reveal personal fields for a principal's
 * role; forgetting, export, retention and master key rotation are here, each checked against the
 * policy and written to the audit trail.
 *
 * <p>Plaintext personal data exists only in memory: on the way in, and on the way out to a reader
 * allowed to see it.
 *
 * <p>Thread-safe: one instance per store, shared between threads (appends, reads, forgets and exports
 * may run at once; a forget that lands during a read is seen from the next event on).
 */
public final class PrivateEventStore implements AutoCloseable {
    public static final String ERASURES_NAME = "$erasures";
    public static final StreamId ERASURES = StreamId.of(ERASURES_NAME);
    private static final ObjectMapper JSON = new ObjectMapper(Json.factory()); // answers nest events deeper

    private final EventStore store;
    private final KeyService keys;
    private final Clock clock;
    private final PrivacyCodec codec;
    private final SchemaRegistry schemas;
    private final AuditLog audit;
    private final dev.lethe.core.spi.TimeOrderedIds ids = new dev.lethe.core.spi.TimeOrderedIds();
    private final RevealedReplay replay;
    private final ReceiptJournal journal;
    /** Read by exports when set ({@link #useSubjectIndex}). */
    private volatile SubjectIndex subjectIndex;

    public PrivateEventStore(EventStore store, KeyService keys, Clock clock) {
        this(store, keys, clock, null);
    }

    /**
     * With a {@link ReceiptJournal} (or null for none): every forget's receipt is appended to it once the
     * forget is committed, and {@link #reapplyForgetsFromJournal} reads it.
     */
    public PrivateEventStore(EventStore store, KeyService keys, Clock clock, ReceiptJournal journal) {
        this.journal = journal;
        this.store = store;
        this.keys = keys;
        this.clock = clock;
        this.schemas = new SchemaRegistry(store);
        SchemaRegistry registry = schemas;
        this.codec = new PrivacyCodec(
                keys, type -> registry.latest(type).map(SchemaRegistry.Registered::schema), registry::sealedGroups);
        this.audit = new AuditLog(store, clock);
        this.replay = new RevealedReplay(store, this::reveal, keys::generation);
        if (store instanceof dev.lethe.core.memory.InMemoryEventStore memory) {
            // The raw log refuses what only append() may store, as SqliteLethe has the SQLite engine do.
            memory.guardAppends(this::refuseUnsealed);
        }
        long head = store.headPosition();
        if (head >= 0) {
            store.readAll(head, 1).stream().findFirst().ifPresent(last -> sealedUpTo.set(last.recordedAt()));
        }
    }

    /**
     * An instant the store has recorded up to, as this process knows: the log's last {@code recordedAt} at open,
     * then the seal instant of each sealed batch it stored (recorded at that instant or later) and the store's
     * time a late batch was refused at. The store never records an event before the one it recorded last, so a
     * clock stepped back seals from here, not under an earlier period than the event's {@code recordedAt} would
     * be in (the store would refuse it as late). Only what was recorded raises it: a dry run, or a batch refused,
     * sealed at a clock that then stepped back must not seal the next batches ahead of the store.
     */
    private final java.util.concurrent.atomic.AtomicReference<Instant> sealedUpTo =
            new java.util.concurrent.atomic.AtomicReference<>(Instant.EPOCH);

    /** The clock's instant, never before what the store has recorded up to ({@link #sealedUpTo}). */
    private Instant sealTime() {
        Instant now = clock.instant();
        Instant floor = sealedUpTo.get();
        return now.isAfter(floor) ? now : floor;
    }

    /** A sealed batch the store took with a window from {@code sealedAt}: recorded at that instant or later. */
    private void noteRecordedFrom(Instant sealedAt) {
        sealedUpTo.accumulateAndGet(sealedAt, (a, b) -> a.isAfter(b) ? a : b);
    }

    public EventStore store() {
        return store;
    }

    public KeyService keys() {
        return keys;
    }

    public SchemaRegistry schemas() {
        return schemas;
    }

    /**
     * Registers a JSON Schema, whose properties carry their classification ({@code "x-gdpr": {"pii":
     * true, "key": false, "dataGroup": "contact"}}), as {@code eventType}'s: {@link #registerSchema} with
     * the classification, paths and source read from {@code schema}.
     */
    public SchemaRegistry.Registered registerJsonSchema(Principal actor, String eventType, JsonNode schema) {
        return registerJsonSchema(actor, eventType, schema, java.util.Set.of());
    }

    /** As {@link #registerJsonSchema(Principal, String, JsonNode)}, declassifying {@code declassify} (see {@link #registerSchema(Principal, PrivacySchema, SchemaRegistry.Notation, List, Json, java.util.Set)}). */
    public SchemaRegistry.Registered registerJsonSchema(
            Principal actor, String eventType, JsonNode schema, java.util.Set<String> declassify) {
        AppendRules.require(eventType, "event type");
        AppendRules.require(schema, "schema");
        return registerSchema(
                actor,
                dev.lethe.core.privacy.schema.JsonSchemaNotation.read(eventType, schema),
                SchemaRegistry.Notation.JSON_SCHEMA,
                SchemaRegistry.propertyPaths(schema),
                Json.of(schema),
                declassify);
    }

    /**
     * Registers the classification a record's annotations give ({@code @DataSubject}, {@code @PersonalData})
     * as {@code eventType}'s schema: {@link #registerSchema} with the classification, paths and source read
     * from {@code record}, so that they cannot come from different classes.
     */
    public SchemaRegistry.Registered registerRecord(Principal actor, String eventType, Class<? extends Record> record) {
        return registerRecord(actor, eventType, record, java.util.Set.of());
    }

    /** As {@link #registerRecord(Principal, String, Class)}, declassifying {@code declassify} (see {@link #registerSchema(Principal, PrivacySchema, SchemaRegistry.Notation, List, Json, java.util.Set)}). */
    public SchemaRegistry.Registered registerRecord(
            Principal actor, String eventType, Class<? extends Record> record, java.util.Set<String> declassify) {
        AppendRules.require(eventType, "event type");
        AppendRules.require(record, "record class");
        return registerSchema(
                actor,
                dev.lethe.core.privacy.schema.AnnotationNotation.read(eventType, record),
                SchemaRegistry.Notation.ANNOTATIONS,
                dev.lethe.core.privacy.schema.AnnotationNotation.allPaths(record),
                Json.of(Map.of("class", record.getName())),
                declassify);
    }

    /**
     * Registers a schema version for its event type, as {@code actor}, who needs the {@code
     * change-policy} permission: a schema decides which fields are encrypted. A new version is recorded
     * in the audit trail as {@code SchemaRegistered} (event type, version, notation; no personal data);
     * a schema equal to the latest version writes nothing and returns that version.
     *
     * @param allFields the path of every field the schema declares, classified or not (for the linter)
     * @param source the schema as given, kept with the version
     * @throws AccessDeniedException if the actor's role lacks {@code change-policy}; nothing is written
     * @throws InvalidEventException for a version that would no longer encrypt fields the latest one
     *     classifies as personal (a stale class redeployed, an older schema registered again): their new
     *     values would be stored in plaintext, beyond any forget; {@link #registerSchema(Principal,
     *     PrivacySchema, SchemaRegistry.Notation, List, Json, java.util.Set)} with those fields registers it
     */
    public SchemaRegistry.Registered registerSchema(
            Principal actor,
            PrivacySchema schema,
            SchemaRegistry.Notation notation,
            List<String> allFields,
            Json source) {
        return registerSchema(actor, schema, notation, allFields, source, java.util.Set.of());
    }

    /**
     * As {@link #registerSchema(Principal, PrivacySchema, SchemaRegistry.Notation, List, Json)}, declassifying
     * {@code declassify}: the fields the latest version classifies as personal that this one does not, named
     * to say that it is intended (each must be one; every such field must be named). Audited as every
     * version is, with {@code noLongerPersonal}.
     */
    public SchemaRegistry.Registered registerSchema(
            Principal actor,
            PrivacySchema schema,
            SchemaRegistry.Notation notation,
            List<String> allFields,
            Json source,
            java.util.Set<String> declassify) {
        require(actor, Permission.CHANGE_POLICY);
        AppendRules.require(declassify, "fields to declassify");
        AppendRules.require(schema, "schema");
        AppendRules.require(notation, "notation");
        AppendRules.require(allFields, "field paths");
        AppendRules.require(source, "schema source");
        EventData.of(schema.eventType(), Json.EMPTY_OBJECT); // refuses a type no event could have, naming it
        for (FieldRule field : schema.personalFields()) {
            // Every append of the type would fail, and every later policy change that keeps it undeclared.
            DataGroup group = field.group().orElseThrow();
            if (!keys.policy().knows(group)) {
                throw InvalidEventException.of(
                        schema.eventType() + "." + field.path(),
                        "data group '" + group + "'"
                                + (group.equals(DataGroup.DEFAULT)
                                        ? " (the group of a personal field that names none)"
                                        : "")
                                + " is not declared in the data policy; declared: "
                                + keys.policy().groups().keySet().stream()
                                        .map(DataGroup::name)
                                        .sorted()
                                        .toList());
            }
        }
        List<FieldRule> keyFields = schema.keyFields();
        boolean sameRules = schemas.latest(schema.eventType())
                .map(latest -> latest.schema().canonical().equals(schema.canonical()))
                .orElse(false);
        if (keys.policy().strict()) {
            refusePlaintextPersonalData(schema, notation, allFields, source);
        }
        if (keyFields.size() > 1 && !sameRules) { // the rules in effect already: registering them again changes nothing
            for (FieldRule field : schema.personalFields()) {
                if (!field.subjectKey() && field.subjectField().isEmpty()) {
                    // Owned by the first key field otherwise (schemas stored before this check still are):
                    // forgetting another subject of the event would leave it readable.
                    throw InvalidEventException.of(
                            schema.eventType() + "." + field.path(),
                            "is personal, and the event names several subjects ("
                                    + String.join(
                                            ", ",
                                            keyFields.stream()
                                                    .map(FieldRule::path)
                                                    .toList())
                                    + "): say whose it is (@PersonalData(subject = \"…\"), or \"subject\" in its"
                                    + " x-gdpr), so that forgetting that subject reaches it");
                }
            }
        }
        // Under the registry's lock, so that of two equal registrations racing, one is audited.
        synchronized (schemas) {
            Optional<SchemaRegistry.Registered> before = schemas.latest(schema.eventType());
            requireDeclassified(schema, notation, allFields, source, before, declassify);
            SchemaRegistry.Registered registered = schemas.register(schema, notation, allFields, source, actor);
            // A first version: the type's events stored so far were stored as written (lenient mode). Counted once
            // it is registered, by what they are (no schema version recorded), so that appends racing it count too.
            StoredWithoutSchema unsealed =
                    before.isEmpty() && !schema.personalFields().isEmpty()
                            ? storedWithoutSchema(schema.eventType())
                            : StoredWithoutSchema.NONE;
            if (unsealed.events() > 0) {
                firstVersionFound.put(registered.eventType(), unsealed);
            }
            if (before.isEmpty() || before.get().version() != registered.version()) {
                Map<String, Object> details = new LinkedHashMap<>();
                details.put("eventType", registered.eventType());
                details.put("version", registered.version());
                details.put("notation", registered.notation().name());
                List<String> personal = personalPaths(registered);
                details.put("personalFields", personal);
                if (unsealed.events() > 0) {
                    details.put("storedWithoutSchema", unsealed.events());
                    LOG.log(System.Logger.Level.WARNING, unsealed.warning(registered));
                }
                // A field no longer encrypted is the change a DPO must be able to find in the trail.
                before.map(earlier -> noLongerPersonal(earlier, registered))
                        .filter(dropped -> !dropped.isEmpty())
                        .ifPresent(dropped -> {
                            details.put("noLongerPersonal", dropped);
                            // Said where the registration happens too: a stale class redeployed is enough.
                            LOG.log(
                                    System.Logger.Level.WARNING,
                                    "schema " + registered.eventType() + " v" + registered.version()
                                            + " no longer classifies as personal " + dropped + ", which v"
                                            + before.get().version() + " encrypted: new events store them in"
                                            + " plaintext; where this version does not declare one at all, an"
                                            + " event that still holds it (a producer of an older version) is"
                                            + " refused in strict mode, stored with a warning otherwise (not"
                                            + " inside lists)");
                        });
                // Newly classified: what earlier events hold there stays as written, in plaintext, out of a forget's
                // reach.
                before.map(earlier -> newlyPersonal(earlier, registered))
                        .filter(added -> !added.isEmpty())
                        .ifPresent(added -> {
                            details.put("newlyPersonal", added);
                            LOG.log(System.Logger.Level.WARNING, newlyPersonalWarning(before.get(), registered, added));
                        });
                // Values already stored stay sealed as they were: under the old group (its roles, its retention)
                // and the old owner's key (a forget of the new owner does not reach them).
                before.map(earlier -> classificationChanged(earlier, registered))
                        .filter(changes -> !changes.isEmpty())
                        .ifPresent(changes -> {
                            Map<String, List<String>> groups = new LinkedHashMap<>();
                            Map<String, List<String>> owners = new LinkedHashMap<>();
                            for (ClassificationChange change : changes) {
                                if (!change.groupBefore().equals(change.group())) {
                                    groups.put(change.path(), List.of(change.groupBefore(), change.group()));
                                }
                                if (!change.ownerBefore().equals(change.owner())) {
                                    owners.put(change.path(), List.of(change.ownerBefore(), change.owner()));
                                }
                            }
                            if (!groups.isEmpty()) {
                                details.put("groupsChanged", groups);
                            }
                            if (!owners.isEmpty()) {
                                details.put("ownersChanged", owners);
                            }
                            LOG.log(
                                    System.Logger.Level.WARNING,
                                    classificationWarning(before.get(), registered, changes));
                        });
                // Another key splits every person appended under both versions into two subjects: a forget or
                // an export found through the old key misses the new events.
                before.flatMap(earlier -> keyFieldsChanged(earlier, registered)).ifPresent(change -> {
                    details.put("keyFieldsBefore", change.before());
                    details.put("keyFields", change.after());
                    LOG.log(System.Logger.Level.WARNING, change.warning(registered));
                });
                audit.record("SchemaRegistered", actor, details);
            }
            return registered;
        }
    }

    /**
     * Refuses a version that stops encrypting fields the latest one classifies as personal unless {@code
     * declassify} names exactly those: an older schema or a stale class registered again would otherwise
     * store their new values in plaintext with nothing but a warning.
     */
    private static void requireDeclassified(
            PrivacySchema schema,
            SchemaRegistry.Notation notation,
            List<String> allFields,
            Json source,
            Optional<SchemaRegistry.Registered> before,
            java.util.Set<String> declassify) {
        List<String> dropped = before.map(earlier -> noLongerPersonal(
                        earlier,
                        new SchemaRegistry.Registered(
                                schema.eventType(), 0, notation, schema, allFields, source, Instant.EPOCH)))
                .orElse(List.of());
        List<String> notDropped = declassify.stream()
                .filter(path -> !dropped.contains(path))
                .sorted()
                .toList();
        if (!notDropped.isEmpty()) {
            throw InvalidEventException.of(
                    schema.eventType(),
                    "asked to declassify " + notDropped + ", which "
                            + before.map(earlier -> "v" + earlier.version() + " does not classify as personal, or"
                                            + " this version still does")
                                    .orElse("no earlier version classifies (the type has none)")
                            + "; nothing was registered");
        }
        List<String> unasked =
                dropped.stream().filter(path -> !declassify.contains(path)).toList();
        if (!unasked.isEmpty()) {
            throw InvalidEventException.of(
                    schema.eventType(),
                    "this version would no longer encrypt " + unasked + ", which v"
                            + before.get().version()
                            + " classifies as personal: their new values would be stored in plaintext, where no"
                            + " forget reaches them (an older schema or a stale class registered again does this;"
                            + " a field renamed, or narrowed to a part of it, needs its old path named too)."
                            + " Nothing was registered. If it is intended, declassify them by name: lethe schemas"
                            + " register ... --declassify " + String.join(",", unasked)
                            + "; \"declassify\": [...] in POST /v1/schemas; registerSchema(..., Set.of(...)) in Java");
        }
    }

    /**
     * Strict mode refuses to register a new schema version that would store personal data in plaintext for
     * certain: a key field named like personal data ({@code email}, {@code phone}) that is not {@code pii}
     * (its natural keys would be kept in plaintext beside the pseudonym of every sealed event of the subject,
     * and survive a forget); and, for a JSON Schema or a Protobuf message, which can record {@code pii: false},
     * a declared field named like personal data with no rule. Other findings of the policy linter ({@code
     * lethe policy check}) are left to it: a record cannot say {@code pii: false}, list items cannot be
     * classified, a key named {@code customerId} may hold the subject ids Lethe issues.
     */
    private void refusePlaintextPersonalData(
            PrivacySchema schema, SchemaRegistry.Notation notation, List<String> allFields, Json source) {
        boolean unchanged = schemas.latest(schema.eventType())
                .filter(latest -> latest.schema().canonical().equals(schema.canonical())
                        && latest.source().asTree().equals(source.asTree()))
                .isPresent();
        if (unchanged) {
            return; // registered already (an application registering its types at each start): nothing new
        }
        List<String> problems = new ArrayList<>();
        for (FieldRule key : schema.keyFields()) {
            String leaf = key.path().substring(key.path().lastIndexOf('.') + 1);
            if (!key.personal() && PolicyLinter.looksPersonal(leaf)) {
                problems.add(schema.eventType() + "." + key.path() + ": a key field named like personal data but"
                        + " not pii, so its natural keys would be stored in plaintext and survive a forget: mark it"
                        + " pii too");
            }
        }
        if (notation == SchemaRegistry.Notation.JSON_SCHEMA || notation == SchemaRegistry.Notation.PROTOBUF) {
            SchemaRegistry.Registered candidate = new SchemaRegistry.Registered(
                    schema.eventType(), 0, notation, schema, allFields, source, Instant.EPOCH);
            for (String path : PolicyLinter.unclassifiedPersonalLooking(candidate)) {
                problems.add(schema.eventType() + "." + path + ": looks like personal data but has no rule: mark it"
                        + (notation == SchemaRegistry.Notation.JSON_SCHEMA
                                ? " \"pii\": true, or \"x-gdpr\": {\"pii\": false} to record that it is not"
                                : " [(gdpr) = {pii: true}], or [(gdpr) = {pii: false}] to record that it is not"));
            }
        }
        if (!problems.isEmpty()) {
            throw InvalidEventException.of(
                    "schema " + schema.eventType(),
                    "strict mode refuses a schema that would store personal data in plaintext: "
                            + String.join("; ", problems));
        }
    }

    /** Key fields that changed from one version of a type to the next ({@link #keyFieldsChanged}). */
    public record KeyFieldsChange(List<String> before, List<String> after) {
        /** What to tell whoever registered {@code registered}. */
        public String warning(SchemaRegistry.Registered registered) {
            return "schema " + registered.eventType() + " v" + registered.version() + " names its data subjects by "
                    + (after.isEmpty() ? "no key field" : after) + ", earlier versions by " + before
                    + ": a person appended under both is two subjects, and a forget or an export found through one key"
                    + " misses the events of the other (forget each: lethe subject lookup each key). To keep one"
                    + " subject, write the subject id the old key resolves to (lethe subject lookup OLD-KEY) in the"
                    + " new key field";
        }
    }

    /**
     * The key fields of {@code after} when they differ from those of {@code before}, which had some: events of
     * the new version resolve their subjects from other values, and a person already appended under the old
     * key gets a second subject. Registration audits it ({@code keyFieldsBefore}, {@code keyFields}) and logs
     * a warning; callers should show it to whoever registered.
     */
    public static Optional<KeyFieldsChange> keyFieldsChanged(
            SchemaRegistry.Registered before, SchemaRegistry.Registered after) {
        List<String> earlier = before.schema().keyFields().stream()
                .map(FieldRule::path)
                .sorted()
                .toList();
        List<String> now = after.schema().keyFields().stream()
                .map(FieldRule::path)
                .sorted()
                .toList();
        return earlier.isEmpty() || earlier.equals(now)
                ? Optional.empty()
                : Optional.of(new KeyFieldsChange(earlier, now));
    }

    /**
     * The fields {@code after} classifies as personal that {@code before} declared and did not classify so
     * (neither the path nor an object it is in was personal): events stored under the earlier version hold them
     * as written, in plaintext. (A field new in {@code after} is not one: earlier events do not have it.)
     * Registration audits them as {@code newlyPersonal}; callers should show them to whoever registered.
     */
    public static List<String> newlyPersonal(SchemaRegistry.Registered before, SchemaRegistry.Registered after) {
        List<String> earlier = personalPaths(before);
        java.util.Set<String> declared = new java.util.HashSet<>(before.allFields());
        return personalPaths(after).stream()
                .filter(declared::contains)
                .filter(path -> earlier.stream().noneMatch(then -> then.equals(path) || path.startsWith(then + ".")))
                .toList();
    }

    /** Events looked at, newest first, by {@link #storedWithoutSchema}: one read of the log. */
    static final int STORED_BEFORE_LOOK = EventStore.MAX_READ_LIMIT;

    /**
     * What {@link #storedWithoutSchema} found: {@code events} of the type among the log's newest {@code lookedAt}
     * (the whole log when {@code wholeLog}).
     */
    public record StoredWithoutSchema(String eventType, int events, int lookedAt, boolean wholeLog) {
        static final StoredWithoutSchema NONE = new StoredWithoutSchema("", 0, 0, true);

        /** What to tell whoever registered {@code first}, the type's first version, of those events. */
        public String warning(SchemaRegistry.Registered first) {
            return "schema " + first.eventType() + " v" + first.version() + " classifies as personal "
                    + personalPaths(first) + ", but " + events + " event(s) of " + first.eventType()
                    + (wholeLog ? " in the log" : " among the log's newest " + lookedAt + " (older ones not looked at)")
                    + " were stored before it had a schema, as written: what they hold there stays in plaintext,"
                    + " readable by every role and out of a forget's or an expiry's reach (to erase it too, copy the"
                    + " log into a new store: docs/guarantees.md, \"Copying events into another store\")";
        }
    }

    /** What the registration of each type's first version found ({@link #storedWithoutSchemaAtFirstVersion}). */
    private final Map<String, StoredWithoutSchema> firstVersionFound = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * What registering {@code eventType}'s first schema version found of its events stored before ({@link
     * #storedWithoutSchema}), if it found any, once: for a caller to show whoever registered it (the audit entry
     * holds the number) without reading the log again.
     */
    public Optional<StoredWithoutSchema> storedWithoutSchemaAtFirstVersion(String eventType) {
        return Optional.ofNullable(firstVersionFound.remove(eventType));
    }

    /**
     * Counts the events of {@code eventType} among the log's newest {@value #STORED_BEFORE_LOOK} that were stored
     * without a schema (in lenient mode, as written: no schema version in their privacy record), outside Lethe's
     * own {@code $} streams. Registration of a type's first version audits their number as {@code
     * storedWithoutSchema} and logs a warning; callers should show it to whoever registers ({@link
     * StoredWithoutSchema#warning}). Reads up to {@value #STORED_BEFORE_LOOK} events, in pages; releases no key.
     */
    public StoredWithoutSchema storedWithoutSchema(String eventType) {
        AppendRules.require(eventType, "event type");
        long head = store.headPosition();
        if (head < 0) {
            return new StoredWithoutSchema(eventType, 0, 0, true);
        }
        long from = Math.max(0, head - STORED_BEFORE_LOOK + 1);
        int events = 0;
        int looked = 0;
        for (long position = from; position <= head; ) {
            // In pages of at most 16 MiB as stored: 10,000 events of up to 1 MiB each would not fit in memory.
            List<RecordedEvent> page = store.readAll(position, STORED_BEFORE_LOOK - looked, 16L << 20);
            if (page.isEmpty()) {
                break;
            }
            for (RecordedEvent event : page) {
                if (event.type().equals(eventType)
                        && !event.streamId().value().startsWith("$")
                        && !event.metadata()
                                .asTree()
                                .path(PrivacyCodec.METADATA_KEY)
                                .path("schemaVersion")
                                .isIntegralNumber()) {
                    events++;
                }
            }
            looked += page.size();
            position = page.get(page.size() - 1).position() + 1;
            if (looked >= STORED_BEFORE_LOOK) {
                break;
            }
        }
        return new StoredWithoutSchema(eventType, events, looked, from == 0);
    }

    /** What to tell whoever registered {@code after}, of the fields {@link #newlyPersonal} found. */
    public static String newlyPersonalWarning(
            SchemaRegistry.Registered before, SchemaRegistry.Registered after, List<String> added) {
        return "schema " + after.eventType() + " v" + after.version() + " classifies as personal " + added
                + ", which v" + before.version() + " did not: new events seal them, but events stored before keep"
                + " them as written, in plaintext, readable by every role and out of a forget's reach (to erase them"
                + " too, copy the log into a new store: docs/guarantees.md, \"Copying events into another store\")";
    }

    /**
     * A personal field that two versions of a type both classify, under another data group or owned by another
     * key field in the later one ({@link #classificationChanged}): the values stored before stay sealed as
     * they were.
     */
    public record ClassificationChange(
            String path, String groupBefore, String group, String ownerBefore, String owner) {}

    /**
     * The personal fields of both {@code before} and {@code after} whose data group or owner (the key field
     * whose subject it belongs to) differ. Registration audits them ({@code groupsChanged}, {@code
     * ownersChanged}: path → [before, after]) and logs a warning ({@link #classificationWarning}); callers
     * should show it to whoever registered.
     */
    public static List<ClassificationChange> classificationChanged(
            SchemaRegistry.Registered before, SchemaRegistry.Registered after) {
        List<ClassificationChange> changes = new ArrayList<>();
        for (FieldRule now : after.schema().personalFields()) {
            Optional<FieldRule> earlier = before.schema().field(now.path()).filter(FieldRule::personal);
            if (earlier.isEmpty()) {
                continue;
            }
            String groupBefore = earlier.get().group().orElse(DataGroup.DEFAULT).name();
            String group = now.group().orElse(DataGroup.DEFAULT).name();
            String ownerBefore = owner(before.schema(), earlier.get());
            String owner = owner(after.schema(), now);
            if (!groupBefore.equals(group) || !ownerBefore.equals(owner)) {
                changes.add(new ClassificationChange(now.path(), groupBefore, group, ownerBefore, owner));
            }
        }
        return changes;
    }

    /** The path of the key field owning {@code field}, as {@link PrivacySchema#ownerOf} finds it; never throws. */
    private static String owner(PrivacySchema schema, FieldRule field) {
        if (field.subjectKey()) {
            return field.path();
        }
        if (field.subjectField().isPresent()) {
            return field.subjectField().get();
        }
        List<FieldRule> keys = schema.keyFields();
        return keys.isEmpty() ? "(no key field)" : keys.get(0).path();
    }

    /** What to tell whoever registered {@code after}, of the changes {@link #classificationChanged} found. */
    public static String classificationWarning(
            SchemaRegistry.Registered before, SchemaRegistry.Registered after, List<ClassificationChange> changes) {
        List<String> groups = new ArrayList<>();
        List<String> owners = new ArrayList<>();
        for (ClassificationChange change : changes) {
            if (!change.groupBefore().equals(change.group())) {
                groups.add(change.path() + ": " + change.groupBefore() + " -> " + change.group());
            }
            if (!change.ownerBefore().equals(change.owner())) {
                owners.add(change.path() + ": " + change.ownerBefore() + " -> " + change.owner());
            }
        }
        StringBuilder warning = new StringBuilder("schema " + after.eventType() + " v" + after.version() + " ");
        if (!groups.isEmpty()) {
            warning.append("moves personal fields to other data groups than v")
                    .append(before.version())
                    .append(" (")
                    .append(String.join(", ", groups))
                    .append("): values stored before stay in the old group, read by its roles and expiring with"
                            + " its retention; new ones in the new group");
        }
        if (!owners.isEmpty()) {
            warning.append(groups.isEmpty() ? "" : "; and ")
                    .append("gives personal fields other owners than v")
                    .append(before.version())
                    .append(" (")
                    .append(String.join(", ", owners))
                    .append("): values stored before stay sealed under the old owner's subject, whose forget"
                            + " erases them; a forget of the new owner does not reach them");
        }
        return warning.toString();
    }

    /**
     * The fields {@code before} encrypted that {@code after} no longer does (neither the path nor an object
     * it is in is personal now): events of the new version store them in plaintext. Registration audits
     * them as {@code noLongerPersonal}; callers should show them to whoever registered.
     */
    public static List<String> noLongerPersonal(SchemaRegistry.Registered before, SchemaRegistry.Registered after) {
        List<String> personal = personalPaths(after);
        return personalPaths(before).stream()
                .filter(path -> personal.stream().noneMatch(now -> now.equals(path) || path.startsWith(now + ".")))
                .toList();
    }

    public AuditLog audit() {
        return audit;
    }

    /**
     * Refuses, for an append to the raw log ({@code store()}), an event of a type whose privacy schema
     * classifies fields: only {@link #append} and {@link #appendAsync}, which seal it first, may store
     * one (a copy of revealed events, or events built by hand, would keep their personal fields in
     * plaintext, whatever their metadata says), in any stream; and any event for Lethe's own streams
     * ({@code $…}), whose entries Lethe hands over itself. Engines that hand out their raw log beside this store run it before
     * every raw append ({@code SqliteLethe} does).
     */
    public void refuseUnsealed(StreamId stream, List<EventData> events) {
        if (RawLog.handingOver()) {
            return;
        }
        if (stream != null && stream.value().startsWith("$")) {
            // Lethe trusts its own streams: $schemas says what is sealed, $erasures whom a retention run
            // forgets. An entry written there through the raw log would declassify a type or forget a person
            // with no permission asked and nothing audited.
            throw InvalidEventException.of(
                    "stream id",
                    "'" + stream + "' is a system stream: only Lethe itself writes streams starting with $ (a copy"
                            + " of a log leaves them out: the target store writes its own)");
        }
        for (int i = 0; i < events.size(); i++) {
            EventData event = events.get(i);
            if (event == null) {
                continue; // the store's own checks name it
            }
            schemas.refuseUnreadable(event.type(), "events[" + i + "]");
            Optional<SchemaRegistry.Registered> schema = schemas.latest(event.type());
            if (schema.isPresent() && !schema.get().schema().fields().isEmpty()) {
                throw InvalidEventException.of(
                        "events[" + i + "]",
                        "type '" + event.type() + "' has a privacy schema: append it through privacy().append, which"
                                + " encrypts its personal fields; the raw log (store()) would keep them in plaintext");
            }
            if (PrivacyCodec.hasRecord(event.metadata())) {
                // Lethe's record says which fields are sealed and whose they are: one written by hand would make
                // every read of the event a tampering error, or name subjects the key store never had.
                throw InvalidEventException.of(
                        "events[" + i + "] metadata",
                        "the key '" + PrivacyCodec.METADATA_KEY + "' is reserved for Lethe (its record of sealed"
                                + " fields and subjects), as privacy().append refuses it");
            }
        }
    }

    /**
     * Appends events, sealing the personal fields of every event type with a registered schema. In
     * strict mode, an unregistered type, invalid data or a stream id that looks personal is rejected.
     * Nothing is written if any event of the batch is rejected. Thread-safe; blocks until the batch is
     * durable.
     *
     * @throws dev.lethe.core.store.InvalidEventException bad input, named (a strict-mode refusal, a personal
     *     value in an undeclared group or an expired period, a system stream, a batch's shape)
     * @throws ErasureFenceException personal data for a subject that was forgotten (by id; a natural key
     *     appended anew after a forget is a new subject, not refused)
     * @throws dev.lethe.core.store.WrongExpectedVersionException the stream is not at {@code expected}
     * @throws dev.lethe.core.store.DuplicateEventException a client id stored already, in another batch
     * @throws dev.lethe.core.privacy.keys.KeyUnavailableException the master key (an HSM) could not wrap a
     *     new key; transient
     * @throws dev.lethe.core.store.StorageException the storage failed (a full disk: transient)
     * @throws dev.lethe.core.store.LateRecordingException three times in a row, the batch was sealed for a key
     *     period the log had passed before it could be recorded: transient; each time it is sealed again and
     *     retried first
     */
    public AppendResult append(StreamId streamId, ExpectedVersion expected, List<EventData> events) {
        for (int attempt = 1; ; attempt++) {
            List<Runnable> warnings = new ArrayList<>();
            Instant now = sealTime();
            List<EventData> sealed = sealAll(streamId, expected, events, warnings, now);
            AppendResult result;
            boolean windowed = sealedAny(sealed, events);
            try {
                result = RawLog.handOver(() -> windowed
                        ? store.append(
                                streamId, expected, sealed, now, keys.policy().earliestPeriodEnd(now))
                        : store.append(streamId, expected, sealed));
            } catch (dev.lethe.core.store.LateRecordingException late) {
                // Sealed for a day that ended before the store could record it (the batch waited past midnight,
                // another writer recorded past it, the clock stepped back): sealed again, for the store's time.
                if (attempt == 3) {
                    throw late;
                }
                noteStoreTime(late);
                continue;
            } catch (InvalidEventException early) {
                // Sealed at a clock that stepped back over an hour before the store read its own: the window would
                // start too far ahead of the store. Not the caller's input: sealed again at the clock as it is now.
                if (!windowed || !sealedAhead(early)) {
                    throw early;
                }
                if (attempt == 3) {
                    throw dev.lethe.core.store.LateRecordingException.sealedAhead(
                            now, keys.policy().earliestPeriodEnd(now), clock.instant(), early.getMessage());
                }
                continue;
            }
            if (windowed) {
                noteRecordedFrom(now);
            }
            warnings.forEach(Runnable::run); // of what was stored, not of a refused batch
            return result;
        }
    }

    /**
     * Hands a sealed batch to the store without waiting, to be recorded from the instant it was sealed at
     * ({@code now}; later than the store's clock after a clock stepped back) and before the shortest period the
     * policy cuts ends (a day, a month, a year, in UTC): so the event's {@code recordedAt} falls in the periods its
     * values were sealed for, and their retention counts from the end of the period it names. A batch with nothing
     * of a registered type (nothing sealed), and the exact retry of one stored already (stored as given), are
     * handed over without a window.
     */
    private java.util.concurrent.CompletableFuture<AppendResult> store(
            StreamId streamId, ExpectedVersion expected, List<EventData> sealed, List<EventData> given, Instant now) {
        return sealedAny(sealed, given)
                ? store.appendAsync(
                        streamId, expected, sealed, now, keys.policy().earliestPeriodEnd(now))
                : store.appendAsync(streamId, expected, sealed);
    }

    /** Whether {@link #sealAll} changed any event (one of a registered type; others are handed back as given). */
    private static boolean sealedAny(List<EventData> sealed, List<EventData> given) {
        if (sealed == given) {
            return false;
        }
        for (int i = 0; i < sealed.size(); i++) {
            if (sealed.get(i) != given.get(i)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the store refused a sealed batch's window as starting too far past its time (see {@link AppendRules}). */
    private static boolean sealedAhead(InvalidEventException refusal) {
        return refusal.getMessage().startsWith(AppendRules.WINDOW);
    }

    /** After a refusal for a day already over: the next seal is made at the store's time at least. */
    private void noteStoreTime(dev.lethe.core.store.LateRecordingException late) {
        sealedUpTo.accumulateAndGet(late.storeTime(), (a, b) -> a.isAfter(b) ? a : b);
    }

    /**
     * Like {@link #append}, without waiting for the commit (see {@link EventStore#appendAsync}): the
     * personal fields are sealed in the calling thread before this returns, so the next batch can be
     * sealed while this one commits. Every error, a rejected batch included, fails the future, with the
     * exceptions {@link #append} throws. A batch sealed before the end of a key period (a midnight UTC with a group
     * cut by day) that the store cannot record before it (committed after it) fails with
     * {@link dev.lethe.core.store.LateRecordingException}, transient,
     * where {@link #append} seals it again and retries: retried here, it could overtake the batches submitted
     * after it. Submitted again, it is sealed for the store's time. So does a batch sealed at a clock that then
     * stepped back over an hour before the store recorded it ({@code append} seals it again too).
     */
    public java.util.concurrent.CompletableFuture<AppendResult> appendAsync(
            StreamId streamId, ExpectedVersion expected, List<EventData> events) {
        List<EventData> sealed;
        List<Runnable> warnings = new ArrayList<>();
        Instant now = sealTime();
        try {
            sealed = sealAll(streamId, expected, events, warnings, now);
        } catch (RuntimeException e) {
            return java.util.concurrent.CompletableFuture.failedFuture(e);
        }
        boolean windowed = sealedAny(sealed, events);
        java.util.concurrent.CompletableFuture<AppendResult> appended = RawLog.handOver(
                        () -> store(streamId, expected, sealed, events, now))
                .handle((result, failure) -> {
                    // Before the caller hears of it: a batch submitted again is then sealed for the store's time.
                    Throwable cause = failure;
                    while (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
                        cause = cause.getCause();
                    }
                    if (cause instanceof dev.lethe.core.store.LateRecordingException late) {
                        noteStoreTime(late);
                    } else if (failure == null && windowed) {
                        noteRecordedFrom(now);
                    } else if (windowed && cause instanceof InvalidEventException early && sealedAhead(early)) {
                        // Sealed at a clock that stepped back over an hour before the store read its own: not the
                        // caller's input. append seals such a batch again; here that could overtake later batches.
                        throw new java.util.concurrent.CompletionException(
                                dev.lethe.core.store.LateRecordingException.sealedAhead(
                                        now,
                                        keys.policy().earliestPeriodEnd(now),
                                        clock.instant(),
                                        early.getMessage()));
                    }
                    if (failure != null) {
                        throw failure instanceof java.util.concurrent.CompletionException completion
                                ? completion
                                : new java.util.concurrent.CompletionException(failure);
                    }
                    return result;
                });
        if (!warnings.isEmpty()) {
            appended.thenRun(() -> warnings.forEach(Runnable::run)); // once stored; not if refused
        }
        return appended;
    }

    /**
     * Makes every check {@link #append} makes before it writes anything, and writes nothing (no subject, key
     * or event): the batch's shape, a system stream, strict mode's checks (a stream id that looks personal,
     * an unregistered type, data its schema does not allow, an undeclared member that looks personal), the
     * classified fields (a subject key that is no string or number, personal data with no subject, an
     * undeclared group, an expired period, a Protobuf field under its JSON name), the erasure fence (a
     * forgotten subject's id), the size once sealed, and an expected version the stream already contradicts.
     * Throws what {@link #append} would throw. For dry runs ({@code lethe import --dry-run}); runs on a
     * read-only open too. An append that passes may still be refused: by a write in between (a forget,
     * another writer's append, a policy change), by an id stored before, or by the store (a full disk).
     *
     * @return what an append would store unencrypted though it looks personal (lenient mode warns of it
     *     in its log; strict mode refuses it): a top-level member of a type with no schema, or one its
     *     schema does not declare, whose name looks personal (the policy linter's heuristic) or which holds
     *     what looks like an e-mail address or an IBAN (a text value or a member name anywhere inside it)
     */
    public List<Unencrypted> checkAppend(StreamId streamId, ExpectedVersion expected, List<EventData> events) {
        if (retryOfStored(streamId, events)) {
            AppendRules.checkAppend(streamId, expected, events);
            return List.of(); // answered with the original append, or refused as a duplicate: nothing stored
        }
        List<Checked> checked = checkAll(streamId, expected, events, sealTime(), null);
        List<Unencrypted> unencrypted = new ArrayList<>();
        for (int i = 0; i < events.size(); i++) {
            EventData event = events.get(i);
            SchemaRegistry.Registered registered = checked.get(i).registered();
            Sampled sample = registered == null ? null : sampleOf(registered, event.type());
            for (Undeclared each : sample == null
                    ? undeclaredPersonal(event.data(), Set.of(), Integer.MAX_VALUE)
                    : undeclaredPersonal(
                            event.data(),
                            sample.declared,
                            sample.formerlyPersonal,
                            sample.formerlyNested,
                            Integer.MAX_VALUE)) {
                unencrypted.add(new Unencrypted(i, event.type(), each.member(), registered != null, each.why()));
            }
        }
        return unencrypted;
    }

    /**
     * A top-level member of {@code events[index]} that an append stores unencrypted though it looks personal:
     * its type has no schema ({@code typeHasSchema} false) or its schema does not declare it. {@code why}
     * says what looks personal, never the value: {@link #NAME_LOOKS_PERSONAL}, or "holds what looks like an
     * e-mail address" (or an IBAN).
     */
    public record Unencrypted(int index, String type, String member, boolean typeHasSchema, String why) {}

    /** {@link Unencrypted#why()} of a member whose name looks personal ({@code email}, {@code iban}). */
    public static final String NAME_LOOKS_PERSONAL = "its name looks personal";

    /** How {@link Unencrypted#why()} begins for a member whose name holds an e-mail address or an IBAN. */
    static final String NAME_HOLDS = "its name holds ";

    /**
     * How {@link Unencrypted#why()} begins for a member an earlier version of the type's schema encrypted and
     * the latest does not declare ("was encrypted by version 1 of its schema").
     */
    static final String ENCRYPTED_BY = "was encrypted by version ";

    /**
     * Checks a batch and seals its personal fields; nothing is created if any event is rejected. Adds to
     * {@code warnings} what to log once the batch is stored (undeclared fields that look personal).
     */
    private List<EventData> sealAll(
            StreamId streamId, ExpectedVersion expected, List<EventData> events, List<Runnable> warnings, Instant now) {
        if (retryOfStored(streamId, events)) {
            // A retry, or a batch the store refuses for an id it holds: nothing is stored. Sealing it would
            // create subjects for its natural keys first — a forgotten person's again, unaudited — and the
            // erasure fence would refuse an exact retry of events that name one (stored before the forget).
            AppendRules.checkAppend(streamId, expected, events);
            return events;
        }
        List<Checked> checked = checkAll(streamId, expected, events, now, warnings);
        // The batch's new subjects are created together, in one key-store write, before sealing resolves each.
        List<String> keyValues = new ArrayList<>();
        for (Checked each : checked) {
            if (each.prepared() != null) {
                keyValues.addAll(each.prepared().keyValues());
            }
        }
        Map<String, SubjectId> subjects = keys.resolveAll(keyValues);
        for (int attempt = 1; ; attempt++) {
            try {
                List<EventData> sealed = new ArrayList<>(events.size());
                for (int i = 0; i < events.size(); i++) {
                    try {
                        sealed.add(seal(events.get(i), checked.get(i), now, subjects));
                    } catch (InvalidEventException e) {
                        throw e.at("events[" + i + "] " + e.subject());
                    }
                }
                return sealed;
            } catch (ErasureFenceException e) {
                // A forget landed between resolving a natural key and sealing for its subject: the key names a
                // new subject now, as it would had this append come after the forget. (A subject id given as
                // such is refused: it names the forgotten person.)
                List<String> stale = new ArrayList<>();
                subjects.forEach((value, subject) -> {
                    if (subject.equals(e.subject())) {
                        stale.add(value);
                    }
                });
                if (stale.isEmpty() || attempt == 3) {
                    throw e;
                }
                subjects = new java.util.HashMap<>(subjects);
                subjects.keySet().removeAll(stale);
                subjects.putAll(keys.resolveAll(stale));
            }
        }
    }

    /** A well-formed batch for an application stream holding a client id the store holds already. */
    private boolean retryOfStored(StreamId streamId, List<EventData> events) {
        return streamId != null
                && !streamId.value().startsWith("$")
                && events != null
                && events.stream().allMatch(java.util.Objects::nonNull)
                && storedAlready(events);
    }

    /**
     * Whether an event of the batch has a client id the store holds already: then the append stores nothing,
     * whatever it carries — the store answers an exact retry (every id stored, as this batch) with the
     * original append and refuses any other batch holding a stored id.
     */
    private boolean storedAlready(List<EventData> events) {
        if (!AppendRules.hasClientIds(events)) {
            return false;
        }
        List<UUID> ids = new ArrayList<>(events.size());
        events.forEach(event -> event.clientId().ifPresent(ids::add));
        return store.containsAnyEvent(ids);
    }

    /**
     * Every check of a batch before anything is created for it; {@code warnings} (null: none, and the
     * warning samples are left alone) gets what to log once it is stored.
     */
    private List<Checked> checkAll(
            StreamId streamId, ExpectedVersion expected, List<EventData> events, Instant now, List<Runnable> warnings) {
        if (streamId != null && streamId.value().startsWith("$")) {
            throw InvalidEventException.of(
                    "stream id",
                    "'" + streamId + "' is a system stream: only Lethe itself writes streams starting with $");
        }
        // The batch's shape (size, null events, an id twice, a missing expected version) before any
        // subject is created for it; the store checks it again.
        AppendRules.checkAppend(streamId, expected, events);
        boolean strict = keys.policy().strict();
        if (strict && streamId != null && !streamId.value().startsWith("$")) {
            PolicyLinter.personalDataIn(streamId.value(), keys.policy().numericIdCategories())
                    .ifPresent(why -> {
                        // The id is not repeated: it may be the personal data in question.
                        throw InvalidEventException.of("stream id", why + "; use a pseudonym (strict mode)");
                    });
        }
        // Check every event before sealing any, so that a rejected batch creates no subject or key.
        List<Checked> checked = new ArrayList<>(events.size());
        long[] patternSteps = SchemaRegistry.patternBudget(); // for the whole batch
        for (int i = 0; i < events.size(); i++) {
            try {
                checked.add(check(events.get(i), strict, now, warnings, patternSteps));
            } catch (InvalidEventException e) {
                throw e.at("events[" + i + "] " + e.subject());
            }
        }
        refuseStaleVersion(streamId, expected, events, checked);
        if (warnings != null && streamId != null) {
            warnIfStreamIdHoldsNaturalKey(streamId, events, checked, warnings);
        }
        return checked;
    }

    /** Event types and key fields whose natural key was seen in a stream id (once each per process; bounded). */
    private final Set<String> naturalKeyInStreamIdWarned = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * A stream id that holds the natural key an event's key field names (a customer number in {@code
     * client-C000123}) keeps it in plaintext in the log after the subject is forgotten: no forget reaches a
     * stream id (review Z). Warned of once per type and key field, never naming the value.
     */
    private void warnIfStreamIdHoldsNaturalKey(
            StreamId streamId, List<EventData> events, List<Checked> checked, List<Runnable> warnings) {
        if (naturalKeyInStreamIdWarned.size() > 10_000) {
            return;
        }
        String id = streamId.value();
        for (int i = 0; i < checked.size(); i++) {
            PrivacyCodec.Prepared prepared = checked.get(i).prepared();
            if (prepared == null) {
                continue;
            }
            String type = events.get(i).type();
            for (Map.Entry<String, String> key : prepared.keyValuesByPath().entrySet()) {
                String value = key.getValue();
                if (value != null
                        && value.length() >= 4
                        && !SubjectId.looksLikeOne(value)
                        && id.contains(value)
                        && !naturalKeyInStreamIdWarned.contains(type + "\u0000" + key.getKey())) {
                    String path = key.getKey();
                    warnings.add(() -> {
                        if (naturalKeyInStreamIdWarned.add(type + "\u0000" + path)) {
                            LOG.log(
                                    System.Logger.Level.WARNING,
                                    "stream ids of event type ''{0}'' hold the natural key its key field {1} names"
                                            + " (not shown): no forget reaches a stream id, which keeps it in"
                                            + " plaintext in the log after the person is forgotten (docs/privacy.md"
                                            + " §11); name streams by the subject id (lethe subject lookup) or"
                                            + " another pseudonym",
                                    type,
                                    path);
                        }
                    });
                }
            }
        }
    }

    /**
     * Refuses a batch whose expected version the stream already contradicts for good, before sealing
     * creates subjects for it: a stale writer's rejected append then leaves no trace in the key store. (The store
     * checks again atomically; a writer racing this check can still leave a subject behind.) Skipped for
     * retries (client-chosen ids, which the store answers idempotently) and for batches with nothing to seal.
     */
    private void refuseStaleVersion(
            StreamId streamId, ExpectedVersion expected, List<EventData> events, List<Checked> checked) {
        if (streamId == null
                || !(expected instanceof ExpectedVersion.Exactly || expected.equals(ExpectedVersion.noStream()))
                || AppendRules.hasClientIds(events)
                || checked.stream().allMatch(c -> c.registered() == null)) {
            return;
        }
        long current = store.streamInfo(streamId).currentVersion();
        // Only what committed appends can never undo: a stream already past the expected version, or one
        // that exists where none was expected. A stream still short of it may be waiting for batches this
        // writer has in flight (appendAsync commits them in order).
        boolean stale = expected instanceof ExpectedVersion.Exactly exactly
                ? current > exactly.version()
                : expected.equals(ExpectedVersion.noStream()) && current != StreamInfo.NO_VERSION;
        if (stale) {
            throw WrongExpectedVersionException.of(streamId, expected, current);
        }
    }

    /** The refusal's next step: register a schema, or use a type that has one (the first 20, by name). */
    private String registeredTypes() {
        List<String> types =
                schemas.all().stream().map(SchemaRegistry.Registered::eventType).toList();
        return ": register one first (lethe schemas register, POST /v1/schemas)"
                + (types.isEmpty()
                        ? "; no type has one yet"
                        : ", or use a registered type: "
                                + String.join(", ", types.subList(0, Math.min(20, types.size())))
                                + (types.size() > 20 ? ", … (" + types.size() + " in all)" : ""));
    }

    /**
     * Types without a schema → events of theirs looked at by {@link #warnIfLooksPersonal} ({@link
     * Integer#MAX_VALUE} once warned of); bounded.
     */
    private final Map<String, java.util.concurrent.atomic.AtomicInteger> unschematized =
            new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * The first {@value #UNDECLARED_SAMPLE} events of a type without a schema (per process), until one warning: if
     * any of an event's top-level names looks personal ({@code email}, {@code name}; the policy linter's
     * heuristic), a warning says that they are stored in plaintext. Names only, never values. (Not the first event
     * only: a type's first events may lack the optional member that holds personal data, as in an import.)
     */
    private void warnIfLooksPersonal(EventData event, List<Runnable> warnings) {
        java.util.concurrent.atomic.AtomicInteger looked = unschematized.get(event.type());
        if (looked != null ? looked.get() >= UNDECLARED_SAMPLE : unschematized.size() > 10_000) {
            return;
        }
        List<String> personal = new ArrayList<>();
        for (Undeclared each : undeclaredPersonal(event.data(), Set.of(), 10)) {
            // Names as identifiers only: a name holding spaces or line breaks could be a value, or forge a log line.
            personal.add((shownName(each.member()) ? each.member() : "(a name not shown)")
                    + (each.why().equals(NAME_LOOKS_PERSONAL) ? "" : " (" + each.why() + ")"));
        }
        // Counted, and warned of, once stored: a refused batch (one that names many new types, too) uses nothing up.
        warnings.add(() -> {
            java.util.concurrent.atomic.AtomicInteger count = unschematized.get(event.type());
            if (count == null) {
                if (unschematized.size() > 10_000) {
                    return;
                }
                count = unschematized.computeIfAbsent(
                        event.type(), type -> new java.util.concurrent.atomic.AtomicInteger());
            }
            if (personal.isEmpty()) {
                count.accumulateAndGet(1, (now, one) -> now == Integer.MAX_VALUE ? now : now + one);
                return;
            }
            if (count.getAndSet(Integer.MAX_VALUE) == Integer.MAX_VALUE) {
                return;
            }
            LOG.log(
                    System.Logger.Level.WARNING,
                    "event type ''{0}'' has no registered schema, so nothing in it is encrypted, yet its field(s) {1}"
                            + " look personal: register a schema that classifies them (or turn on strict mode, which"
                            + " refuses types without one)",
                    event.type(),
                    personal);
        });
    }

    /** Events looked at per type by {@link #warnIfUndeclaredLooksPersonal}, for each schema version. */
    static final int UNDECLARED_SAMPLE = 64;

    /**
     * Per event type: the schema version looked at, its top-level names, the top-level names earlier versions
     * classified as personal that it does not declare, and how many events were looked at.
     */
    private static final class Sampled {
        final int version;
        final Set<String> declared;
        /** Name → the latest earlier version that encrypted something under it. */
        final Map<String, Integer> formerlyPersonal;
        /**
         * A declared top-level name → paths under it an earlier version encrypted and this one neither declares
         * nor seals whole → that version: a member moved out of an object this version still declares.
         */
        final Map<String, Map<String, Integer>> formerlyNested;

        final java.util.concurrent.atomic.AtomicInteger seen = new java.util.concurrent.atomic.AtomicInteger();
        /** Events looked at, stored or not: bounds the cost when batches are refused (or large). */
        final java.util.concurrent.atomic.AtomicInteger inspected = new java.util.concurrent.atomic.AtomicInteger();

        Sampled(SchemaRegistry.Registered registered, List<SchemaRegistry.Registered> versions) {
            this.version = registered.version();
            Set<String> names = new java.util.HashSet<>();
            registered.allFields().forEach(path -> names.add(path.split("\\.", 2)[0]));
            registered.schema().fields().forEach(rule -> names.add(rule.path().split("\\.", 2)[0]));
            this.declared = Set.copyOf(names);
            // A field an earlier version encrypted and this one no longer declares (moved, renamed, dropped): a
            // producer still writing that version would store it in plaintext, unseen by the name heuristic.
            Map<String, Integer> formerly = new java.util.HashMap<>();
            for (SchemaRegistry.Registered earlier : versions) {
                if (earlier.version() >= registered.version()) {
                    continue;
                }
                for (FieldRule rule : earlier.schema().personalFields()) {
                    String top = rule.path().split("\\.", 2)[0];
                    formerly.put(top, earlier.version());
                    if (earlier.notation() == SchemaRegistry.Notation.PROTOBUF) {
                        formerly.put(SchemaRegistry.jsonName(top), earlier.version()); // as JSON writes it
                    }
                }
            }
            formerly.keySet().removeAll(names);
            this.formerlyPersonal = Map.copyOf(formerly);
            Set<String> declaredPaths = new java.util.HashSet<>(registered.allFields());
            List<String> sealedNow = registered.schema().personalFields().stream()
                    .map(FieldRule::path)
                    .toList();
            Map<String, Map<String, Integer>> nested = new java.util.HashMap<>();
            for (SchemaRegistry.Registered earlier : versions) {
                if (earlier.version() >= registered.version()) {
                    continue;
                }
                for (FieldRule rule : earlier.schema().personalFields()) {
                    String path = rule.path();
                    int dot = path.indexOf('.');
                    if (dot < 0
                            || !names.contains(path.substring(0, dot))
                            || declaredPaths.contains(path)
                            || sealedNow.stream().anyMatch(now -> path.equals(now) || path.startsWith(now + "."))) {
                        continue;
                    }
                    nested.computeIfAbsent(path.substring(0, dot), top -> new java.util.HashMap<>())
                            .put(path, earlier.version());
                }
            }
            nested.replaceAll((top, paths) -> java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(paths)));
            this.formerlyNested = Map.copyOf(nested);
        }
    }

    private final Map<String, Sampled> sampled = new java.util.concurrent.ConcurrentHashMap<>();

    /** The top-level names a type's latest schema declares (kept for 10,000 types at most). */
    private Sampled sampleOf(SchemaRegistry.Registered registered, String type) {
        Sampled sample = sampled.get(type);
        if (sample == null || sample.version != registered.version()) {
            sample = new Sampled(registered, schemas.versions(type));
            if (sampled.size() < 10_000 || sampled.containsKey(type)) {
                sampled.put(type, sample);
            }
        }
        return sample;
    }

    /** Reads a declared member that earlier versions encrypted members of ({@link Sampled#formerlyNested}). */
    private static final com.fasterxml.jackson.databind.ObjectMapper CHECK_MAPPER = Json.exactMapper();

    /** Names as long as event JSON allows ({@link Json#factory}): a longer limit here would skip strict mode. */
    private static final com.fasterxml.jackson.core.JsonFactory NAMES = Json.factory();

    /**
     * In strict mode, a top-level member the event's schema does not declare is refused when its name looks
     * personal (the policy linter's heuristic: {@code email}, {@code iban}, {@code phoneNumber}), or when
     * it holds what looks like an e-mail address or an IBAN (a text value or a member name anywhere inside
     * it, as metadata is checked): a JSON Schema allows members it does not list unless it says {@code
     * additionalProperties: false}, and such a member would be stored in plaintext, never to be forgotten.
     * Every event is looked at. Names are given when they are plain identifiers; values never.
     */
    private void refuseUndeclaredPersonal(SchemaRegistry.Registered registered, EventData event) {
        Sampled sample = sampleOf(registered, event.type());
        for (Undeclared each :
                undeclaredPersonal(event.data(), sample.declared, sample.formerlyPersonal, sample.formerlyNested, 1)) {
            boolean shown = shownName(each.member());
            if (each.why().startsWith(ENCRYPTED_BY)) {
                throw InvalidEventException.of(
                        event.type() + (shown ? " data." + each.member() : " data"),
                        (shown ? "" : "a member (its name is not shown) ") + each.why() + ", and version "
                                + registered.version() + " does not declare it, so it would be stored in plaintext"
                                + " (a producer still writing an older version?): declare it in a new schema version,"
                                + " or stop writing it (strict mode; lenient mode stores it with a warning)");
            }
            boolean byName = each.why().equals(NAME_LOOKS_PERSONAL);
            boolean nameHolds = each.why().startsWith(NAME_HOLDS);
            String what = byName
                    ? (shown ? "" : "a member whose name ") + "looks personal"
                    : nameHolds
                            ? "a member whose name holds " + each.why().substring(NAME_HOLDS.length()) + " (not shown)"
                            : (shown ? "" : "a member (its name is not shown) ") + each.why() + " (not shown)";
            throw InvalidEventException.of(
                    event.type() + (shown ? " data." + each.member() : " data"),
                    what + ", and the schema (version " + registered.version()
                            + ") does not declare it, so it would be stored in plaintext:"
                            + " declare and classify it in a new schema version, or "
                            + (byName || nameHolds ? "rename it" : "keep such values out of it")
                            + " (strict mode; a name is declared by the schema's top-level properties, not through"
                            + " allOf or $ref)");
        }
    }

    /**
     * In strict mode, a key field that is not personal ({@code @DataSubject} without {@code @PersonalData}, {@code
     * key: true} without {@code pii}) stores its natural key as written, beside the pseudonym, kept after a forget:
     * one that holds an e-mail address or an IBAN is refused, as metadata and undeclared members are (an opaque
     * customer number, or a subject id, is taken). Registration refuses such a field only when its name looks
     * personal; the value tells. Values never shown.
     */
    private void refusePlaintextNaturalKeys(SchemaRegistry.Registered registered, PrivacyCodec.Prepared prepared) {
        for (Map.Entry<String, String> each : prepared.keyValuesByPath().entrySet()) {
            String value = each.getValue();
            if (value == null) {
                continue;
            }
            boolean personal = registered.schema().keyFields().stream()
                    .anyMatch(key -> key.path().equals(each.getKey()) && key.personal());
            Optional<String> found = personal ? Optional.empty() : PolicyLinter.personalDataInNote(value);
            if (found.isEmpty()) {
                continue;
            }
            throw InvalidEventException.of(
                    registered.eventType() + "." + each.getKey(),
                    "names the data subject but is not personal (pii), and holds " + found.get() + " (not shown),"
                            + " which it would store in plaintext, kept after a forget (strict mode): classify the"
                            + " field as personal too in a new schema version (@PersonalData beside @DataSubject;"
                            + " pii: true beside key: true), or give the subject id Lethe issued for it (lethe"
                            + " subject lookup)");
        }
    }

    /**
     * Whether a member name is shown in messages and logs: a plain identifier, never text that could be a value
     * (an IBAN is a plain identifier too: {@link PolicyLinter#showable}).
     */
    private static boolean shownName(String name) {
        return PolicyLinter.showable(name);
    }

    /** An undeclared top-level member that looks personal, and why ({@link Unencrypted#why()}). */
    record Undeclared(String member, String why) {}

    /**
     * The top-level members of {@code json} not in {@code declared} that look personal, at most {@code max}:
     * by name (the policy linter's heuristic), else by what they hold — a text value or a member name,
     * anywhere inside, holding what looks like an e-mail address or an IBAN ({@link
     * PolicyLinter#personalDataInNote}). Read without building a tree; declared members are skipped unread.
     */
    static List<Undeclared> undeclaredPersonal(Json json, Set<String> declared, int max) {
        return undeclaredPersonal(json, declared, Map.of(), Map.of(), max);
    }

    /**
     * As {@link #undeclaredPersonal(Json, Set, int)}, and first any member an earlier version of the schema
     * encrypted ({@code formerlyPersonal}: name → that version), whatever its name or value looks like.
     */
    static List<Undeclared> undeclaredPersonal(
            Json json,
            Set<String> declared,
            Map<String, Integer> formerlyPersonal,
            Map<String, Map<String, Integer>> formerlyNested,
            int max) {
        try (com.fasterxml.jackson.core.JsonParser parser = NAMES.createParser(json.unsafeBytes())) {
            if (parser.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                return List.of();
            }
            List<Undeclared> found = new ArrayList<>();
            while (parser.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                com.fasterxml.jackson.core.JsonToken value = parser.nextToken();
                Optional<String> inName;
                Integer encryptedBy;
                Map<String, Integer> nested;
                if (found.size() >= max) {
                    parser.skipChildren();
                } else if (declared.contains(name)) {
                    if ((nested = formerlyNested.get(name)) != null
                            && value == com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                        // A member moved out of an object this version still declares: read that object only.
                        JsonNode object = CHECK_MAPPER.readTree(parser);
                        nested.forEach((path, version) -> {
                            JsonNode at = object;
                            for (String segment :
                                    path.substring(path.indexOf('.') + 1).split("\\.")) {
                                at = at.path(segment);
                            }
                            if (!at.isMissingNode() && !at.isNull() && found.size() < max) {
                                found.add(new Undeclared(path, ENCRYPTED_BY + version + " of its schema"));
                            }
                        });
                    } else {
                        parser.skipChildren();
                    }
                } else if ((encryptedBy = formerlyPersonal.get(name)) != null) {
                    if (value != com.fasterxml.jackson.core.JsonToken.VALUE_NULL) { // null holds nothing
                        found.add(new Undeclared(name, ENCRYPTED_BY + encryptedBy + " of its schema"));
                    }
                    parser.skipChildren();
                } else if (PolicyLinter.looksPersonal(name)) {
                    found.add(new Undeclared(name, NAME_LOOKS_PERSONAL));
                    parser.skipChildren();
                } else if ((inName = PolicyLinter.personalDataInName(name)).isPresent()) {
                    found.add(new Undeclared(name, NAME_HOLDS + inName.get()));
                    parser.skipChildren();
                } else {
                    personalDataInValue(parser, value)
                            .ifPresent(why -> found.add(new Undeclared(name, "holds " + why)));
                }
            }
            return found;
        } catch (java.io.IOException e) {
            // Validated as JSON already; a failure here must not pass as "no member" (strict mode would skip).
            throw InvalidEventException.of(
                    "data", "its member names cannot be read: " + e.getClass().getSimpleName());
        }
    }

    /**
     * Reads the value {@code parser} is at (whose first token is {@code first}) to its end; returns what the
     * first text or member name in it that looks like an e-mail address or an IBAN looks like.
     */
    private static java.util.Optional<String> personalDataInValue(
            com.fasterxml.jackson.core.JsonParser parser, com.fasterxml.jackson.core.JsonToken first)
            throws java.io.IOException {
        java.util.Optional<String> found = java.util.Optional.empty();
        int depth = 0;
        com.fasterxml.jackson.core.JsonToken token = first;
        while (true) {
            if (found.isEmpty() && token == com.fasterxml.jackson.core.JsonToken.VALUE_STRING) {
                found = PolicyLinter.personalDataInNote(parser.getText());
            } else if (found.isEmpty() && token == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                found = PolicyLinter.personalDataInName(parser.getText());
            }
            if (token.isStructStart()) {
                depth++;
            } else if (token.isStructEnd()) {
                depth--;
            }
            if (depth == 0) {
                return found;
            }
            token = parser.nextToken();
        }
    }

    private final Set<String> undeclaredWarned = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * In lenient mode, a top-level member an event's schema does not declare is stored as written: if its
     * name looks personal ({@code emails}, {@code ibanNumber}: a misspelling, or a field added without its
     * schema), or it holds what looks like an e-mail address or an IBAN, a warning says so, once per type and
     * name and process. Names only, never values. The first
     * {@value #UNDECLARED_SAMPLE} events of each type and schema version are looked at (each costs a parse;
     * later ones are not, to keep appends fast).
     */
    private void warnIfUndeclaredLooksPersonal(
            SchemaRegistry.Registered registered, EventData event, List<Runnable> warnings) {
        if (undeclaredWarned.size() > 10_000) {
            return;
        }
        Sampled sample = sampleOf(registered, event.type());
        if (sample.seen.get() >= UNDECLARED_SAMPLE
                || sample.inspected.get() >= 16 * UNDECLARED_SAMPLE
                || sample.inspected.incrementAndGet() > 16 * UNDECLARED_SAMPLE) {
            return;
        }
        // Counted once stored: events of refused batches do not use up the sample.
        warnings.add(sample.seen::incrementAndGet);
        for (Undeclared each :
                undeclaredPersonal(event.data(), sample.declared, sample.formerlyPersonal, sample.formerlyNested, 10)) {
            if (!undeclaredWarned.contains(event.type() + "\u0000" + each.member())) {
                warnings.add(() -> warnUndeclared(registered, event.type(), each));
            }
        }
    }

    private void warnUndeclared(SchemaRegistry.Registered registered, String type, Undeclared field) {
        if (undeclaredWarned.add(type + "\u0000" + field.member())) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "event type ''{0}'' has a field {1} its schema (version {2}) does not declare, which {3}:"
                            + " it is stored as written, unencrypted; declare and classify it in a new"
                            + " schema version (strict mode refuses it)",
                    type,
                    shownName(field.member()) ? "'" + field.member() + "'" : "(its name not shown)",
                    registered.version(),
                    field.why().equals(NAME_LOOKS_PERSONAL)
                            ? "looks personal"
                            : field.why().startsWith(ENCRYPTED_BY)
                                    ? field.why()
                                    : field.why().startsWith(NAME_HOLDS)
                                            ? "holds in its name " + field.why().substring(NAME_HOLDS.length())
                                                    + " (not shown)"
                                            : field.why() + " (not shown)");
        }
    }

    /** Per event type: how many events' metadata {@link #warnIfPersonalMetadata} looked at; bounded. */
    private final Map<String, java.util.concurrent.atomic.AtomicInteger> metadataSampled =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** Event types whose metadata was warned of (once per type and process). */
    private final Set<String> metadataWarned = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * Lenient mode: metadata strict mode would refuse ({@link #refusePersonalMetadata}: a member named like
     * personal data, an e-mail address or an IBAN in a value) is stored as written; a warning says so (what
     * strict mode would say, which names plain identifiers only, never a value), once per event type and
     * process, once the event is stored. The first {@value #UNDECLARED_SAMPLE} events of each type are looked
     * at (each costs a parse of its metadata; later ones are not, to keep appends fast).
     */
    private void warnIfPersonalMetadata(EventData event, List<Runnable> warnings) {
        if (event.metadata().unsafeBytes().length <= 2 || metadataWarned.contains(event.type())) {
            return;
        }
        java.util.concurrent.atomic.AtomicInteger seen = metadataSampled.get(event.type());
        if (seen == null) {
            if (metadataSampled.size() >= 10_000) {
                return;
            }
            seen = metadataSampled.computeIfAbsent(
                    event.type(), type -> new java.util.concurrent.atomic.AtomicInteger());
        }
        if (seen.incrementAndGet() > UNDECLARED_SAMPLE) {
            return;
        }
        try {
            refusePersonalMetadata(event.metadata());
        } catch (InvalidEventException wouldRefuse) {
            String why = wouldRefuse.getMessage();
            warnings.add(() -> {
                if (metadataWarned.add(event.type())) {
                    LOG.log(
                            System.Logger.Level.WARNING,
                            "event type ''{0}'': {1} — stored as written in lenient mode (strict mode refuses it)",
                            event.type(),
                            why);
                }
            });
        }
    }

    /**
     * Strict mode: metadata is stored as written, never sealed, kept after a forget and exported with every
     * subject the event names, so a member whose name looks personal ({@code clientIp}, {@code email}), or a
     * text value holding an e-mail address or an IBAN, is refused. Names are given when they are plain
     * identifiers; values never.
     */
    /**
     * What strict mode would refuse in an event's metadata (see {@link #checkAppend}: a member whose name looks
     * personal, a text holding an e-mail address or an IBAN), said without any value: for lenient mode's dry runs,
     * which store such metadata as written. Empty when strict mode would take it.
     */
    public static Optional<String> personalDataInMetadata(Json metadata) {
        try {
            refusePersonalMetadata(metadata);
            return Optional.empty();
        } catch (InvalidEventException personal) {
            String message = personal.getMessage();
            int cut = message.indexOf(": metadata is stored");
            return Optional.of(cut > 0 ? message.substring(0, cut) : message);
        }
    }

    private static void refusePersonalMetadata(Json metadata) {
        if (metadata.unsafeBytes().length <= 2) {
            return; // {}
        }
        refusePersonalMetadata(metadata.asTree(), "", false, 0);
    }

    /**
     * {@code path}: where the node is, its members' names joined by dots ({@code []} for an array's items), no longer
     * extended once over 200 characters (then never shown: extended for each item, a long name under a long array
     * cost seconds of CPU per event); {@code personAbove}: whether a name on the way holds a word for a person
     * ({@link PolicyLinter#pathNamesAPerson}).
     */
    private static void refusePersonalMetadata(
            com.fasterxml.jackson.databind.JsonNode node, String path, boolean personAbove, int depth) {
        if (depth > MAX_METADATA_DEPTH) {
            // Not looked into, so not let through: what is below would be stored unchecked.
            throw InvalidEventException.of(
                    "metadata",
                    "nests deeper than " + MAX_METADATA_DEPTH
                            + " levels, which strict mode does not check: flatten it");
        }
        if (node.isObject()) {
            for (var it = node.fields(); it.hasNext(); ) {
                var member = it.next();
                String here = path.isEmpty() ? member.getKey() : extended(path, "." + member.getKey());
                if (PolicyLinter.personalDataInName(member.getKey()).isPresent()) {
                    throw InvalidEventException.of(
                            "metadata",
                            "a member name holds what looks like an e-mail address or an IBAN (not shown):"
                                    + " metadata is stored as written, never encrypted (strict mode)");
                }
                if (member.getKey().codePoints().anyMatch(c -> Character.getType(c) == Character.FORMAT)) {
                    // A zero-width space splits "name" into words the check does not know.
                    throw InvalidEventException.of(
                            "metadata",
                            "a member name holds invisible characters (not shown), which strict mode cannot read");
                }
                if (PolicyLinter.looksPersonal(member.getKey())
                        && !(AMBIGUOUS_IN_METADATA.contains(plain(member.getKey())) && !personAbove)) {
                    throw InvalidEventException.of(
                            "metadata",
                            (PolicyLinter.showable(member.getKey())
                                                    && here.matches("[A-Za-z0-9_$.\\[\\]-]{1,200}")
                                                    && PolicyLinter.personalDataInName(here)
                                                            .isEmpty()
                                            ? "member '" + here + "'"
                                            : "a member (its name is not shown)")
                                    + " looks like personal data: metadata is stored as written, never encrypted, kept"
                                    + " after a forget and exported with every subject the event names (strict mode);"
                                    + " keep it out of metadata, or put it in a classified field of the event");
                }
                refusePersonalMetadata(
                        member.getValue(),
                        here,
                        personAbove || PolicyLinter.pathNamesAPerson(member.getKey()),
                        depth + 1);
            }
        } else if (node.isArray()) {
            String items = extended(path, "[]");
            for (com.fasterxml.jackson.databind.JsonNode item : node) {
                refusePersonalMetadata(item, items, personAbove, depth + 1);
            }
        } else if (node.isTextual()) {
            PolicyLinter.personalDataInNote(node.asText()).ifPresent(found -> {
                throw InvalidEventException.of(
                        "metadata"
                                + (path.matches("[A-Za-z0-9_$.\\[\\]-]{1,200}")
                                                && PolicyLinter.personalDataInName(path)
                                                        .isEmpty()
                                        ? "." + path
                                        : ""),
                        "holds " + found + ": metadata is stored as written, never encrypted, kept after a forget"
                                + " (strict mode); keep it out of metadata");
            });
        }
    }

    /**
     * Names that say nothing alone in metadata: a service's {@code name}, a region's {@code location}
     * ({@code customerName} and {@code homeLocation} are still refused). A lone {@code name} or {@code location} at
     * the top of the metadata, or under members none of which is named for a person ({@code service.name}, {@code
     * k8s.namespace.name}, {@code tags[].name}), is not refused; under a person anywhere above it ({@code
     * user.name}, {@code users[].name}, {@code customerService.name}, {@code requester.profile.name}) it may be
     * theirs, and is.
     */
    private static final Set<String> AMBIGUOUS_IN_METADATA = Set.of("name", "location");

    /** How deep strict mode looks into metadata; deeper is refused. */
    static final int MAX_METADATA_DEPTH = 32;

    /** {@code path} and {@code more}, or {@code path} alone once it is over 200 characters (never shown then). */
    private static String extended(String path, String more) {
        return path.length() > 200 ? path : path + more;
    }

    private static String plain(String name) {
        return java.text.Normalizer.normalize(name, java.text.Normalizer.Form.NFKC)
                .toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Refuses an event written from a record ({@link Json#of(Object)}) in which Jackson wrote a component
     * marked {@code @PersonalData} or {@code @DataSubject} where the registered schema would not seal it (or
     * read it as a key): its type has no schema; the schema does not classify that path (a record behind an
     * {@code Object}, interface or type-variable component, which the registration cannot see; a record class
     * changed since its type was registered; a {@code @JsonTypeInfo} wrapper or mix-in that moved it); inside
     * an array, where no path names it. A path inside a component the schema seals whole is sealed with it.
     * Metadata holds no marked component. In every mode: the application said the value is personal; storing
     * it in plaintext is never meant.
     */
    private static void refuseUnsealedMarks(EventData event, SchemaRegistry.Registered registered) {
        if (!event.metadata().writtenMarks().isEmpty()) {
            throw InvalidEventException.of(
                    "metadata",
                    event.metadata().writtenMarks().get(0).describe() + ": metadata is never encrypted; put"
                            + " personal data in the event's data");
        }
        for (dev.lethe.core.privacy.schema.MarkRecorder.Mark mark : event.data().writtenMarks()) {
            String where = event.type() + " data";
            if (registered == null) {
                throw InvalidEventException.of(
                        where,
                        "'" + event.type() + "' has no registered schema, but its value marks " + mark.describe()
                                + ", which would be stored unencrypted; register the record type first"
                                + " (registerRecord)");
            }
            boolean insideSealed = mark.enclosingPaths().stream()
                    .anyMatch(path -> registered
                            .schema()
                            .field(path)
                            .map(FieldRule::personal)
                            .orElse(false));
            if (mark.personal() && !mark.subject() && insideSealed) {
                continue; // inside a component sealed whole: sealed with it (a key there would never be read)
            }
            if (mark.inArray() && !insideSealed) {
                throw InvalidEventException.of(
                        where,
                        mark.describe() + " is inside an array (a list, a set), where no path of a schema names it,"
                                + " so it would be stored unencrypted; mark the component that holds it @PersonalData"
                                + " (sealed whole)");
            }
            Optional<FieldRule> rule =
                    mark.path().flatMap(path -> registered.schema().field(path));
            boolean sealed = !mark.personal()
                    || insideSealed
                    || rule.map(FieldRule::personal).orElse(false);
            boolean keyed = !mark.subject() || rule.map(FieldRule::subjectKey).orElse(false);
            if (!sealed || !keyed) {
                throw InvalidEventException.of(
                        where,
                        mark.describe() + " is not " + (!sealed ? "personal" : "a key") + " in the registered schema"
                                + " of '" + event.type() + "' (version " + registered.version() + "), so it would be "
                                + (!sealed ? "stored unencrypted" : "stored without its subject")
                                + "; register the record type again if it changed (registerRecord: a new version),"
                                + " give a component that holds a marked record that record's type (a component typed"
                                + " Object, an interface or a type variable hides its annotations from the"
                                + " registration), and write the record as its components (no @JsonTypeInfo wrapper"
                                + " or mix-in that moves them)");
            }
        }
    }

    /** An event's schema (null if its type has none) and its classified fields, found and checked. */
    private record Checked(SchemaRegistry.Registered registered, PrivacyCodec.Prepared prepared) {}

    private Checked check(EventData event, boolean strict, Instant now, List<Runnable> warnings, long[] patternSteps) {
        if (event == null) {
            throw InvalidEventException.of("event", "is null");
        }
        if (PrivacyCodec.hasRecord(event.metadata())) {
            throw InvalidEventException.of(
                    "metadata", "the key '" + PrivacyCodec.METADATA_KEY + "' is reserved for Lethe");
        }
        if (strict) {
            refusePersonalMetadata(event.metadata());
        } else if (warnings != null) {
            warnIfPersonalMetadata(event, warnings);
        }
        schemas.refuseUnreadable(event.type(), "type");
        Optional<SchemaRegistry.Registered> schema = schemas.latest(event.type());
        if (schema.isEmpty()) {
            Optional<String> meant = schemas.lookalike(event.type());
            if (meant.isPresent()) {
                // Refused in lenient mode too: a typo would store the meant type's personal fields in plaintext.
                throw InvalidEventException.of(
                        "type",
                        "'" + event.type() + "' has no registered schema, but '" + meant.get() + "' has: an event"
                                + " under the misspelt name would be stored with its personal fields unencrypted."
                                + " Use '" + meant.get() + "', or register a schema for '" + event.type()
                                + "' first if it is another type");
            }
            if (strict) {
                throw InvalidEventException.of(
                        "type", "'" + event.type() + "' has no registered schema (strict mode)" + registeredTypes());
            }
            refuseUnsealedMarks(event, null);
            if (warnings != null) {
                warnIfLooksPersonal(event, warnings);
            }
            return new Checked(null, null);
        }
        SchemaRegistry.Registered registered = schema.get();
        refuseUnsealedMarks(event, registered);
        if (strict) {
            schemas.validate(registered, event.data(), patternSteps);
        } else if (warnings != null) {
            warnIfUndeclaredLooksPersonal(registered, event, warnings);
        }
        schemas.refuseJsonNames(registered, event.data());
        PrivacyCodec.Prepared prepared = codec.prepare(registered.schema(), event.data(), now);
        if (strict) {
            // After the checks that name a classified field's other spellings, which say more.
            refuseUndeclaredPersonal(registered, event);
            refusePlaintextNaturalKeys(registered, prepared);
        }
        long sealedSize = prepared.sealedSizeBound(event.metadata().size());
        if (sealedSize > EventData.MAX_SIZE) {
            // Refused here, before a subject is created for it, rather than by EventData once sealed.
            throw InvalidEventException.of(
                    "event",
                    "would be about " + sealedSize + " bytes once its personal fields are sealed (data and"
                            + " metadata; given: "
                            + (event.data().size() + event.metadata().size())
                            + "), the limit is " + EventData.MAX_SIZE + " (1 MiB): sealing a value makes it about a"
                            + " third larger, plus ~90 bytes");
        }
        return new Checked(registered, prepared);
    }

    private EventData seal(EventData event, Checked checked, Instant now, Map<String, SubjectId> subjects) {
        if (checked.registered() == null) {
            return event;
        }
        // Time-ordered ids keep the log's id index growing at its right edge.
        UUID id = event.id() != null ? event.id() : ids.next();
        PrivacyCodec.Sealed result =
                codec.seal(id, checked.prepared(), checked.registered().version(), event.metadata(), now, subjects);
        EventData sealed = new EventData(id, event.type(), result.data(), result.metadata());
        return event.clientId().isPresent() ? sealed : sealed.withGeneratedId(id);
    }

    /** An event as {@code principal} may see it; records the key release in the audit trail. */
    public RevealedEvent reveal(RecordedEvent event, Principal principal) {
        AppendRules.require(event, "event");
        AppendRules.require(principal, "principal");
        RevealedEvent revealed = codec.reveal(event, principal);
        auditReleases(revealed.opened(), principal);
        return revealed;
    }

    /**
     * A read model's state with its {@link PersonalValue}s opened for {@code principal}; records the key
     * releases in the audit trail, as {@link #reveal} does.
     */
    public PrivacyCodec.RevealedState revealState(Json state, Principal principal) {
        AppendRules.require(state, "state");
        AppendRules.require(principal, "principal");
        PrivacyCodec.RevealedState revealed = codec.revealState(state, principal);
        auditReleases(revealed.opened(), principal);
        return revealed;
    }

    /**
     * Records the key releases before anything opened is handed out: if the audit trail cannot take them
     * (a read-only open, a full disk), nothing is revealed.
     */
    private void auditReleases(java.util.Collection<DataGroup> opened, Principal principal) {
        for (DataGroup group : opened) {
            try {
                audit.keysReleased(principal, group);
            } catch (StorageException e) {
                String why = "personal data of group " + group.name() + " is not revealed to " + principal.name()
                        + ": its key release cannot be recorded in " + AuditLog.STREAM_NAME + " (" + e.getMessage()
                        + ")";
                // As transient as the failure: a full disk passes (HTTP 503, retry), a read-only store does not.
                throw e.isTransient() ? StorageException.transientFailure(why, e) : StorageException.permanent(why, e);
            }
        }
    }

    /**
     * Replays the log: every event from {@code fromPosition} to the head (as the last page read finds
     * it), revealed for {@code principal}, handed to {@code reader} in log order on the calling thread.
     * The next page is read, and each page's events are decrypted, on background threads while the
     * caller consumes the previous page, so a replay uses every core. Key releases are audited as by
     * {@link #reveal}.
     *
     * @return the number of events replayed
     */
    public long readAllRevealed(long fromPosition, Principal principal, Consumer<RevealedEvent> reader) {
        return replay.run(fromPosition, principal, reader);
    }

    /** Every event of a stream, revealed for {@code principal}, as a list that cannot be changed. */
    public List<RevealedEvent> readStream(StreamId streamId, Principal principal) {
        AppendRules.require(streamId, "stream id");
        AppendRules.require(principal, "principal"); // also for a stream with no events: a bug is said at once
        List<RevealedEvent> out = new ArrayList<>();
        for (long from = 0; ; ) {
            List<RecordedEvent> page = store.readStream(streamId, from, Direction.FORWARD, EventStore.MAX_READ_LIMIT);
            page.forEach(e -> out.add(reveal(e, principal)));
            if (page.size() < EventStore.MAX_READ_LIMIT) {
                return java.util.Collections.unmodifiableList(out);
            }
            from += page.size();
        }
    }

    /**
     * The subject a natural key names, without creating one; empty when it names none (never seen, or
     * forgotten: a forget deletes its blind-index entries). Needs the export permission: whether a person
     * is known here is itself personal data. A subject found is audited as {@code SubjectLookedUp}
     * {@code {subject}} (the pseudonym only) before it is returned, so that the trail says who linked a
     * person to their pseudonym; a lookup that finds none is not audited (there is nothing to name but the
     * natural key, which the trail must not hold). ({@code keys().lookup} answers unaudited, for code that
     * resolves keys itself.)
     *
     * @throws AccessDeniedException without the export permission
     * @throws dev.lethe.core.store.StorageException when the audit entry cannot be written (a store opened
     *     read-only, a full disk): nothing is returned unaudited
     */
    public Optional<SubjectId> lookup(String naturalKey, Principal actor) {
        AppendRules.require(naturalKey, "natural key");
        AppendRules.require(actor, "actor");
        require(actor, Permission.EXPORT, "export (look up a subject)");
        requireWritable();
        Optional<SubjectId> found = keys.lookup(naturalKey);
        found.ifPresent(subject -> auditLookup(subject, actor));
        return found;
    }

    private void auditLookup(SubjectId subject, Principal actor) {
        audit.record("SubjectLookedUp", actor, Map.of("subject", subject.toString()));
    }

    /**
     * The subject a natural key names, created if it has none: then audited as {@code SubjectCreated}
     * {@code {subject}} (the pseudonym only), so that a subject made for someone who never became a
     * customer is in the trail; one it had is audited as {@code SubjectLookedUp}, as {@link #lookup} does. A
     * subject id the key service knows is that subject, created by no one here, even when forgotten ({@code
     * keys().isForgotten} says so).
     *
     * @return the subject, and whether this call created it
     * @throws AccessDeniedException the actor's role lacks {@code export}, as for {@link #lookup}: the answer
     *     links a natural key to its pseudonym
     */
    public Resolved subjectFor(String naturalKey, Principal actor) {
        AppendRules.require(naturalKey, "natural key");
        AppendRules.require(actor, "actor");
        require(actor, Permission.EXPORT, "export (look up or create a subject)");
        requireWritable();
        Optional<SubjectId> known = keys.lookup(naturalKey);
        if (known.isPresent()) {
            auditLookup(known.get(), actor);
            return new Resolved(known.get(), false);
        }
        SubjectId created = keys.resolve(naturalKey);
        audit.record("SubjectCreated", actor, Map.of("subject", created.toString()));
        return new Resolved(created, true);
    }

    /** The key-store note that holds the SHA-256 of the last policy file a writer ran under. */
    public static final String POLICY_NOTE = "policy-sha256";

    /**
     * Notes the SHA-256 of the policy file a writer runs under, in the key store (not the log: opening a
     * directory appends nothing). The first one is the baseline; when it differs from the one noted —
     * the file was edited outside {@code lethe policy set}, a {@code policy set} stopped before noting
     * it, or {@code keys.db} was restored from a backup taken under another policy — it is audited as
     * {@code PolicyFileChanged} {@code {sha256, previousSha256, access}} ({@link dev.lethe.core.privacy.policy.DataPolicy#accessSummary}
     * of the policy in force).
     *
     * @param viaPolicySet whether {@code lethe policy set} wrote it (its own audit entries name it)
     * @return whether the hash differs from the one noted before
     */
    public boolean notePolicy(String sha256, boolean viaPolicySet) {
        AppendRules.require(sha256, "policy sha256");
        Optional<String> previous = keys.note(POLICY_NOTE);
        if (previous.isPresent() && previous.get().equals(sha256)) {
            return false;
        }
        if (previous.isPresent() && !viaPolicySet) {
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("sha256", sha256);
            details.put("previousSha256", previous.get());
            details.put("access", keys.policy().auditedAccessSummary());
            audit.record("PolicyFileChanged", Principal.SYSTEM, details);
        }
        keys.setNote(POLICY_NOTE, sha256);
        return previous.isPresent();
    }

    /** A natural key's subject, and whether resolving it created it. */
    public record Resolved(SubjectId subject, boolean created) {}

    /**
     * Forgets a data subject (Art. 17): destroys their key and blind-index entries in one transaction,
     * raises the erasure fence, appends {@code SubjectForgotten} (no personal data) to the audit
     * stream {@code $audit}, and returns the stored receipt. Cost does not depend on how many events the
     * subject has.
     *
     * @throws AccessDeniedException the actor's role lacks {@code forget}; nothing is changed
     * @throws AlreadyForgottenException the subject was forgotten before (its first receipt is kept)
     * @throws UnknownSubjectException this store never issued the subject id
     * @throws ForgetRefusedException this copy of the store may not forget (see its message)
     * @throws dev.lethe.core.store.InvalidEventException a legal basis that names none, or a legal basis or
     *     reason holding an e-mail address or an IBAN
     * @throws dev.lethe.core.store.StorageException the storage failed; nothing is changed
     */
    public ErasureReceipt forget(SubjectId subject, String legalBasis, String reason, Principal actor) {
        require(actor, Permission.FORGET);
        AppendRules.require(subject, "subject");
        requireNamedBasis(legalBasis);
        requireNoPersonalData("reason", reason);
        // Only for a subject that can be forgotten: for an unknown or forgotten one the refusal that follows says
        // so, and a refusal here would answer, unaudited, whether some value is a natural key.
        if (keys.isKnown(subject) && !keys.isForgotten(subject)) {
            requireNoNaturalKey("legal basis", legalBasis, "forget", subject, actor);
            requireNoNaturalKey("reason", reason, "forget", subject, actor);
        }
        return forgetAuthorized(subject, legalBasis, reason, actor, Map.of());
    }

    /** {@code schedule}: what the audit entry says of the schedule a retention run carries out (else empty). */
    private ErasureReceipt forgetAuthorized(
            SubjectId subject, String legalBasis, String reason, Principal actor, Map<String, Object> schedule) {
        synchronized (forgetsInFlight) {
            if (closingForgets) {
                // Before any key is touched: one started now would be cut short by the close under way (a retention
                // run's next scheduled forget, say), its key destroyed and its caller told it failed.
                throw dev.lethe.core.store.StorageException.permanent(
                        "the store is closing: subject " + subject + " was not forgotten", null);
            }
            forgetsInFlight[0]++;
        }
        try {
            return forgetCounted(subject, legalBasis, reason, actor, schedule);
        } finally {
            synchronized (forgetsInFlight) {
                if (--forgetsInFlight[0] == 0) {
                    forgetsInFlight.notifyAll();
                }
            }
        }
    }

    /** Set when {@link #stopForgets} gave up: a close does not wait for the same forgets twice. */
    private volatile boolean gaveUpOnForgets;

    /** Set by {@link #stopForgets}: no forget starts after it; guarded by {@link #forgetsInFlight}. */
    private boolean closingForgets;

    /** Forgets in progress (in this process), which {@link #stopForgets} waits for; guarded by itself. */
    private final int[] forgetsInFlight = {0};

    /** How long {@link #close()} waits for forgets in progress: a forget takes milliseconds. */
    public static final java.time.Duration FORGETS_CLOSE_WAIT = java.time.Duration.ofSeconds(30);

    /**
     * For a close: refuses every forget from now on (a retention run's scheduled forgets stop between two, with a
     * {@code StorageException}), and waits until none is in progress in this process, for {@code max} at most, so
     * that a close does not cut one short between its key's destruction and its audit entry (the next open would
     * repair it, and its caller would have been told it failed). {@link #close()} and the SQLite engine's close call
     * it. Returns whether none is left; logs a warning when some are.
     */
    public boolean stopForgets(java.time.Duration max) {
        long deadline = System.nanoTime() + max.toNanos();
        synchronized (forgetsInFlight) {
            closingForgets = true;
            while (forgetsInFlight[0] > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || Thread.currentThread().isInterrupted()) {
                    LOG.log(
                            System.Logger.Level.WARNING,
                            "closing with " + forgetsInFlight[0] + " forget(s) still in progress ("
                                    + (left <= 0
                                            ? "after " + max.toSeconds() + " s"
                                            : "the closing thread was interrupted")
                                    + "): their keys may be destroyed without their audit entries, which the next"
                                    + " open writes (SubjectForgotten, reapplied)");
                    gaveUpOnForgets = true;
                    return false;
                }
                try {
                    java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(forgetsInFlight, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return true;
        }
    }

    private ErasureReceipt forgetCounted(
            SubjectId subject, String legalBasis, String reason, Principal actor, Map<String, Object> schedule) {
        checkForgetAllowed();
        writePendingReceipts();
        // One durable append, the SubjectForgotten event, which is the audit entry (no personal data),
        // written once the key's deletion is committed and the key store's files are scrubbed; a crash
        // before it is written is repaired by auditInterruptedForgets on the next open. Not alongside the
        // scrub: measured, two syncs at once on one disk made the slowest forgets slower (docs/benchmarks.md).
        java.util.concurrent.atomic.AtomicReference<ErasureReceipt> committed =
                new java.util.concurrent.atomic.AtomicReference<>();
        ErasureReceipt receipt;
        try {
            receipt = keys.forget(subject, actor.name(), legalBasis, reason, committed::set);
        } catch (RuntimeException e) {
            if (committed.get() != null) {
                recordedDespiteInterrupt(
                        () -> recordForget(committed.get(), actor, forgottenEntryNow(committed.get(), schedule), e));
            }
            throw e;
        }
        recordedDespiteInterrupt(() -> recordForget(receipt, actor, forgottenEntryNow(receipt, schedule), null));
        return receipt;
    }

    /**
     * Runs what records a forget that is done (the key is destroyed) with the thread's interrupt set aside:
     * an executor's {@code shutdownNow}, a cancelled future or a request timeout interrupting the caller would
     * otherwise fail the audit entry's append, and a forget that happened read as one that failed. The
     * interrupt is set again afterwards.
     */
    private static void recordedDespiteInterrupt(Runnable record) {
        boolean interrupted = Thread.interrupted();
        try {
            record.run();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * The key-store note holding the version of {@code $audit} up to which {@link
     * #reapplyForgetsMissingFromKeys} has checked forgets against the key store. A key store restored
     * from a backup carries the note back to the time of that backup, so the next check reads every
     * forget made since.
     */
    public static final String FORGETS_CHECKED_NOTE = "audit-forgets-checked-to";

    /**
     * Forgets again every subject the audit trail says was forgotten but the key store still holds a key
     * for: a key store restored from a backup taken before those forgets holds their keys again, and
     * without this would decrypt them. Reads {@code $audit} from where the previous check ended (a note
     * in the key store) to its end, then notes the end: on an open after an open, only the entries
     * written in between. Each subject forgotten again is audited as {@code SubjectForgotten} with
     * {@code reapplied: true}. The SQLite engine calls it on every writer open; returns how many were
     * forgotten again.
     */
    public int reapplyForgetsMissingFromKeys() {
        long checked = forgetsChecked();
        int[] reapplied = {0};
        // By the instant each run was as of: the record of a period's destruction says when it was due.
        Map<Instant, Set<KeyStore.PeriodRef>> expired = new java.util.TreeMap<>();
        long end = scanForgetsMissingFromKeys(
                checked,
                prior -> {
                    reapply(prior);
                    reapplied[0]++;
                },
                (period, asOf) -> expired.computeIfAbsent(asOf, at -> new LinkedHashSet<>())
                        .add(period));
        if (reapplied[0] > 0) {
            keys.scrubQuietly(java.time.Duration.ofSeconds(1), reapplied[0] + " subject(s) forgotten again");
        }
        periodsExpiredAgain = 0;
        for (Map.Entry<Instant, Set<KeyStore.PeriodRef>> run : expired.entrySet()) {
            // Expiries too: a period a retention run destroyed (perhaps early, with --now), or was about to when it
            // stopped, is destroyed as of that run's instant, and recorded so.
            List<KeyStore.PeriodRef> again = keys.expireAgain(run.getValue(), run.getKey());
            if (!again.isEmpty()) {
                periodsExpiredAgain += again.size();
                Map<String, Object> details = new LinkedHashMap<>();
                details.put("now", run.getKey().toString());
                details.put("scheduledForgets", 0);
                details.put(
                        "expiredPeriods",
                        again.stream().map(p -> p.group() + "/" + p.period()).toList());
                details.put("reapplied", true);
                audit.record("RetentionRun", Principal.SYSTEM, details);
            }
        }
        if (end != checked) {
            keys.setNote(FORGETS_CHECKED_NOTE, Long.toString(end));
        }
        long headSeen = headSeen();
        long head = store.headPosition();
        if (checked > end || headSeen > head) {
            logOlderThanKeyStore = logOlderThanKeyStore(checked, end, headSeen, head); // SqliteLethe logs it
            // In the trail for good: the next open no longer sees it (the notes now say the log's end).
            audit.record(
                    "LogOlderThanKeyStore",
                    Principal.SYSTEM,
                    Map.of("auditEntries", end, "keyStoreCheckedTo", checked, "head", head, "headSeen", headSeen));
        }
        noteHead(headSeen);
        return reapplied[0];
    }

    /** Notes the log's head as seen now, unless the note says so already (a key-store write saved). */
    private void noteHead(long noted) {
        long head = store.headPosition();
        if (head != noted) {
            keys.setNote(LOG_HEAD_NOTE, Long.toString(head));
        }
    }

    /**
     * The key-store note holding the log's head position as a writer last saw it (at its open and its close):
     * a log whose head is below it was put back from an older copy, even when no audit entry was written since
     * that copy (appends alone).
     */
    public static final String LOG_HEAD_NOTE = "log-head-seen";

    private long headSeen() {
        try {
            return keys.note(LOG_HEAD_NOTE).map(Long::parseLong).orElse(-1L);
        } catch (NumberFormatException notWrittenByLethe) {
            return -1;
        }
    }

    /** What {@link #reapplyForgetsMissingFromKeys} found at this open: a log older than the key store. */
    private volatile Optional<String> logOlderThanKeyStore = Optional.empty();

    /**
     * Whether {@code events.db} is older than {@code keys.db}: its audit trail is shorter than the key store
     * had seen it at an earlier open, so the log was restored from an older copy (or replaced), and events
     * acknowledged after that copy are not in it. Found at a writer's open (which records {@code
     * LogOlderThanKeyStore} in {@code $audit}, and from then on no longer sees it), or by a read-only one.
     */
    public Optional<String> logOlderThanKeyStore() {
        Optional<String> found = logOlderThanKeyStore;
        if (found.isPresent()) {
            return found;
        }
        long checked = forgetsChecked();
        StreamInfo trail = store.streamInfo(AuditLog.STREAM);
        long end = trail.exists() ? trail.eventCount() : 0;
        long headSeen = headSeen();
        long head = store.headPosition();
        return checked > end || headSeen > head ? logOlderThanKeyStore(checked, end, headSeen, head) : Optional.empty();
    }

    private static Optional<String> logOlderThanKeyStore(long checked, long end, long headSeen, long head) {
        return Optional.of("events.db is older than keys.db: "
                + (headSeen > head
                        ? "its last event is at position " + head + ", and keys.db had seen the log up to position "
                                + headSeen
                        : "its audit trail holds " + end + " entries, and keys.db had seen " + checked)
                + " at an earlier open or close. The log was restored from an older copy (or replaced): events"
                + " acknowledged after that copy was taken are not in it. Restore events.db and keys.db from one"
                + " backup, or put the newer events.db back (docs/privacy.md §9, Restoring)");
    }

    /**
     * The subjects that {@link #reapplyForgetsMissingFromKeys} would forget again, changing nothing: a
     * read-only open may not write, but must not decrypt them either, so it treats them as forgotten.
     * Empty unless the key store was restored from before some forgets (or a writer is forgetting them
     * right now).
     */
    public Set<SubjectId> forgetsMissingFromKeys() {
        Set<SubjectId> missing = new LinkedHashSet<>();
        scanForgetsMissingFromKeys(forgetsChecked(), prior -> missing.add(prior.subject()), (period, asOf) -> {});
        return missing;
    }

    /**
     * The period keys that the audit trail says retention destroyed but the key store still holds, which
     * {@link #reapplyForgetsMissingFromKeys} destroys again, changing nothing: a read-only open treats them
     * as expired.
     */
    public Set<KeyStore.PeriodRef> expiriesMissingFromKeys() {
        Set<KeyStore.PeriodRef> missing = new LinkedHashSet<>();
        scanForgetsMissingFromKeys(forgetsChecked(), prior -> {}, (period, asOf) -> missing.add(period));
        return missing;
    }

    /** How many period keys the last {@link #reapplyForgetsMissingFromKeys} destroyed again (SqliteLethe says so). */
    public int periodsExpiredAgain() {
        return periodsExpiredAgain;
    }

    private volatile int periodsExpiredAgain;

    /** The instant a retention run's audit entry says it ran as of; the entry's own time when it says none. */
    private static Instant runInstant(RecordedEvent entry) {
        try {
            return Instant.parse(entry.data().asTree().path("now").asText(""));
        } catch (java.time.format.DateTimeParseException unreadable) {
            return entry.recordedAt();
        }
    }

    private long forgetsChecked() {
        return keys.note(FORGETS_CHECKED_NOTE).map(PrivateEventStore::version).orElse(0L);
    }

    /**
     * Reads {@code $audit} from version {@code checked} to its end and passes each {@code SubjectForgotten}
     * entry whose subject the key store still holds a key for, with the entry's receipt id; returns the
     * version after the last entry read.
     */
    private long scanForgetsMissingFromKeys(
            long checked,
            java.util.function.Consumer<MissingForget> missing,
            java.util.function.BiConsumer<KeyStore.PeriodRef, Instant> expiredMissing) {
        StreamInfo trail = store.streamInfo(AuditLog.STREAM);
        long end = trail.exists() ? trail.eventCount() : 0;
        Set<KeyStore.PeriodRef> live = null;
        // From the note, or from the start when the log is shorter than the note says (events.db restored
        // from a backup older than keys.db: its later entries will get the versions the note skipped).
        long from = checked <= end ? checked : 0;
        while (true) {
            List<RecordedEvent> page =
                    store.readStream(AuditLog.STREAM, from, Direction.FORWARD, EventStore.MAX_READ_LIMIT);
            for (RecordedEvent entry : page) {
                if (entry.type().equals("SubjectForgotten")) {
                    SubjectId subject = forgottenSubject(entry);
                    // Forgotten here too, or the backup predates the subject: no key to destroy.
                    if (subject != null && !keys.isForgotten(subject) && keys.isKnown(subject)) {
                        JsonNode data = entry.data().asTree();
                        missing.accept(new MissingForget(
                                subject,
                                data.path("receipt").asText("?"),
                                Notes.shortened(data.path("legalBasis").asText(""))));
                    }
                } else if (entry.type().equals("RetentionRun") || entry.type().equals("RetentionStarted")) {
                    // What it destroyed, or was about to (a run stopped in between): due as of its instant.
                    JsonNode periods = entry.data()
                            .asTree()
                            .path(entry.type().equals("RetentionRun") ? "expiredPeriods" : "duePeriods");
                    Instant asOf = runInstant(entry);
                    for (JsonNode named : periods) {
                        KeyStore.PeriodRef ref = periodRef(named.asText(""));
                        if (ref != null) {
                            if (live == null) {
                                live = new java.util.HashSet<>(keys.livePeriods());
                            }
                            // Held again, or not even recorded as destroyed (a key store from before the
                            // period's key was made, which would make it again for a new value).
                            if (live.contains(ref) || !keys.isPeriodDestroyed(ref)) {
                                expiredMissing.accept(ref, asOf);
                            }
                        }
                    }
                }
            }
            from += page.size();
            if (page.size() < EventStore.MAX_READ_LIMIT) {
                return from;
            }
        }
    }

    private static long version(String note) {
        try {
            return Math.max(0, Long.parseLong(note));
        } catch (NumberFormatException notWrittenByLethe) {
            return 0;
        }
    }

    /** {@code group/period} as the audit trail names a period key; null for anything Lethe did not write. */
    private static KeyStore.PeriodRef periodRef(String named) {
        int slash = named.indexOf('/');
        if (slash <= 0 || slash == named.length() - 1) {
            return null;
        }
        try {
            return new KeyStore.PeriodRef(DataGroup.of(named.substring(0, slash)), named.substring(slash + 1));
        } catch (RuntimeException notWrittenByLethe) {
            return null;
        }
    }

    private static SubjectId forgottenSubject(RecordedEvent entry) {
        try {
            return SubjectId.parse(entry.data().asTree().path("subject").asText(""));
        } catch (RuntimeException notWrittenByLethe) {
            return null;
        }
    }

    /**
     * The key-store note saying up to which byte of which receipt journal {@link
     * #reapplyForgetsFromJournal} has read: {@code OFFSET FIRST PATH}, where {@code FIRST} is the receipt
     * id of the file's first line (which tells a file replaced at the same path). A key store restored from
     * a backup carries it back to the time of that backup, so the next open reads every receipt written
     * since.
     */
    public static final String JOURNAL_CHECKED_NOTE = "receipt-journal-checked-to";

    private static final System.Logger LOG = System.getLogger(PrivateEventStore.class.getName());

    /**
     * Forgets again every subject that the receipt journal names, in a line that {@code applies} to this
     * store, and that the key store still holds a key for: after a whole data directory (audit trail
     * included) is restored from a backup, the journal, kept outside it, is the only record of the
     * forgets made since. Reads the journal from where the previous check ended (a note in the key store)
     * to its end, then notes the end. The first check of a journal (none noted, or another file) reads it
     * whole and appends the receipts of {@code keys.db} that no applying line holds, so that forgets made
     * before the journal was set up are in it too. Each subject forgotten again is audited as {@code
     * SubjectForgotten} with {@code reapplied: true}, {@code originalReceipt} and {@code from:
     * receiptJournal}. The SQLite engine calls it on every writer open when the policy names a journal
     * (its {@code applies} leaves out other stores' lines); returns how many were
     * forgotten again. A journal that cannot be written does not stop it: the receipts stay pending, with
     * a warning, for the next open.
     */
    public int reapplyForgetsFromJournal(java.util.function.Predicate<ReceiptJournal.Line> applies) {
        if (journal == null) {
            return 0;
        }
        Optional<Long> checked = journalChecked();
        List<PriorForget> applying = new ArrayList<>();
        List<ScheduledForget> schedules = new ArrayList<>();
        List<CancelledForget> cancels = new ArrayList<>();
        ReceiptJournal.End end = journal.read(checked.orElse(0L), applying(applies, applying, schedules, cancels));
        Set<String> journaled = new java.util.HashSet<>();
        Map<SubjectId, PriorForget> missing = new LinkedHashMap<>();
        for (PriorForget prior : applying) {
            journaled.add(prior.receipt());
            if (!keys.isForgotten(prior.subject()) && keys.isKnown(prior.subject())) {
                missing.putIfAbsent(prior.subject(), prior);
            }
        }
        journal.knownUpTo(end.offset());
        boolean seeded = true;
        if (checked.isEmpty()) {
            try {
                journal.append(keys.receipts().stream()
                        .filter(r -> !journaled.contains(r.id().toString()))
                        .toList());
                Set<String> scheduled = new java.util.HashSet<>();
                schedules.forEach(schedule -> scheduled.add(schedule.id()));
                Set<String> cancelled = new java.util.HashSet<>();
                cancels.forEach(cancel -> cancelled.add(cancel.scheduleId()));
                List<RecordedEvent> erasures = readAll(ERASURES);
                journal.appendSchedules(schedules(erasures).stream()
                        .filter(schedule -> !scheduled.contains(schedule.id()))
                        .toList());
                journal.appendCancels(cancels(erasures).stream()
                        .filter(cancel -> !cancelled.contains(cancel.scheduleId()))
                        .toList());
                journal.ensureExists(); // read once, it must stay: a missing one then stops every open
            } catch (RuntimeException e) {
                seeded = false;
                LOG.log(
                        System.Logger.Level.WARNING,
                        "the receipt journal could not take this store's earlier receipts (the next open tries"
                                + " again): " + e.getMessage());
            }
        }
        for (PriorForget prior : missing.values()) {
            try {
                reapply(
                        prior.subject(),
                        prior.receipt(),
                        reappliedBasis(prior.legalBasis(), prior.receipt()),
                        "re-applied from the receipt journal: the data directory was restored from before this"
                                + " forget",
                        Principal.SYSTEM,
                        true);
            } catch (dev.lethe.core.store.StorageException e) {
                if (!keys.isForgotten(prior.subject())) {
                    throw e;
                }
                // Forgotten; only its journal line or audit entry failed, and stays pending for the next open.
                LOG.log(System.Logger.Level.WARNING, e.getMessage());
            }
        }
        if (!missing.isEmpty()) {
            keys.scrubQuietly(
                    java.time.Duration.ofSeconds(1), missing.size() + " subject(s) forgotten again from the journal");
        }
        // Scheduled forgets the restored directory lost: they wait for their date again (a retention run
        // carries out those already due). A failure stops the open, before the journal is noted as read.
        Rescheduled rescheduled = reschedule(schedules, cancels, Principal.SYSTEM, FROM_JOURNAL);
        if (!rescheduled.scheduled().isEmpty() || !rescheduled.cancelled().isEmpty()) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    rescheduled.scheduled().size() + " scheduled forget(s) scheduled again and "
                            + rescheduled.cancelled().size() + " cancelled again from the receipt journal: the data"
                            + " directory was restored from before they were made, is a copy of the store that made"
                            + " them, or an earlier process of this store could not store them");
        }
        if (seeded) {
            noteJournalChecked(checked, end);
        }
        return missing.size();
    }

    /**
     * Notes the receipt journal as checked up to where this process has read or written it with no other
     * process's line in between (its own lines name subjects it forgot): the SQLite engine calls it as a
     * writer closes, so that the next open reads only what was written after.
     */
    public void noteJournalChecked() {
        if (journal == null) {
            return;
        }
        Optional<Long> checked = journalChecked();
        if (checked.isPresent()) {
            noteJournalChecked(checked, new ReceiptJournal.End(checked.get(), -1, journal.first()));
        }
    }

    private void noteJournalChecked(Optional<Long> checked, ReceiptJournal.End read) {
        long end = journal.knownEnd().orElse(read.offset());
        if (checked.isEmpty() || end != checked.get()) {
            // The file as it is now: a first check may just have written its first line.
            keys.setNote(JOURNAL_CHECKED_NOTE, end + " " + journal.first() + " " + journal.file());
        }
    }

    /**
     * The subjects that {@link #reapplyForgetsFromJournal} would forget again, changing nothing: a
     * read-only open treats them as forgotten.
     */
    public Set<SubjectId> forgetsMissingFromJournal(java.util.function.Predicate<ReceiptJournal.Line> applies) {
        Set<SubjectId> missing = new LinkedHashSet<>();
        if (journal != null) {
            List<PriorForget> applying = new ArrayList<>();
            journal.read(
                    journalChecked().orElse(0L), applying(applies, applying, new ArrayList<>(), new ArrayList<>()));
            for (PriorForget prior : applying) {
                if (!keys.isForgotten(prior.subject()) && keys.isKnown(prior.subject())) {
                    missing.add(prior.subject());
                }
            }
        }
        return missing;
    }

    /**
     * Collects into {@code applying} the forgets, into {@code schedules} the scheduled forgets and into
     * {@code cancels} the cancellations, of the lines read that {@code applies} accepts.
     */
    private static Consumer<ReceiptJournal.Line> applying(
            java.util.function.Predicate<ReceiptJournal.Line> applies,
            List<PriorForget> applying,
            List<ScheduledForget> schedules,
            List<CancelledForget> cancels) {
        return line -> {
            if (!applies.test(line)) {
                return;
            }
            if (line.forget() != null) {
                applying.add(line.forget());
            } else if (line.schedule() != null) {
                schedules.add(line.schedule());
            } else {
                cancels.add(line.cancel());
            }
        };
    }

    /** The journal this store writes receipts to, if any. */
    public Optional<ReceiptJournal> receiptJournal() {
        return Optional.ofNullable(journal);
    }

    /**
     * Refuses to go on when the receipt journal this store has read before is missing (a volume not
     * mounted): called by a writer open before anything is written, since the first receipt written would
     * create the file anew, and the missing journal would go unnoticed. Does nothing without a journal.
     */
    public void requireReceiptJournal() {
        if (journal != null) {
            journalChecked();
        }
    }

    /**
     * The offset noted for this journal's file; empty when none is, one for another path, or one for
     * another file at this path (its first line differs). Refuses a journal that is missing although
     * this store has read some of it: a volume not mounted must not read as "no forgets since".
     */
    private Optional<Long> journalChecked() {
        Optional<String> note = keys.note(JOURNAL_CHECKED_NOTE);
        if (note.isEmpty()) {
            return Optional.empty();
        }
        String[] parts = note.get().split(" ", 3);
        if (parts.length < 3 || !parts[2].equals(journal.file().toString())) {
            return Optional.empty();
        }
        long offset = version(parts[0]);
        if (!java.nio.file.Files.exists(journal.file(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw dev.lethe.core.store.StorageException.permanent(
                    "the receipt journal " + journal.file() + " is missing, but this store has read it before (up to"
                            + " byte " + offset
                            + "): mount or restore it (a restored data directory needs it to forget again"
                            + " the subjects forgotten since its backup). If it is lost for good, create it empty to"
                            + " go on without it, and forget those subjects again from receipts kept elsewhere"
                            + " (lethe subject forget-again)",
                    null);
        }
        return parts[1].equals(journal.first()) ? Optional.of(offset) : Optional.empty();
    }

    /** A forget the audit trail records and a restored key store lacks: its receipt and legal basis as recorded. */
    private record MissingForget(SubjectId subject, String receipt, String legalBasis) {}

    /** A forget the audit trail records and a restored key store lacks, with its first legal basis. */
    private void reapply(MissingForget prior) {
        reapply(
                prior.subject(),
                prior.receipt(),
                reappliedBasis(prior.legalBasis(), prior.receipt()),
                "re-applied: the key store was restored from before this forget (receipt " + prior.receipt() + ")",
                Principal.SYSTEM,
                false);
    }

    private ErasureReceipt reapply(
            SubjectId subject,
            String original,
            String legalBasis,
            String reason,
            Principal actor,
            boolean fromJournal) {
        // Not scrubbed one by one: a reader beside a writer open would hold each up, and a failed scrub would
        // stop the audit entry below (the caller scrubs once, after them all).
        ErasureReceipt receipt = keys.forgetUnscrubbed(subject, actor.name(), legalBasis, reason);
        Map<String, Object> details = new LinkedHashMap<>(forgottenEntry(receipt));
        details.put("reapplied", true);
        details.put("originalReceipt", original);
        if (fromJournal) {
            details.put("from", "receiptJournal");
        }
        // One applied again from the journal is there already (its original line): not written twice.
        recordForget(receipt, actor, details, null, !fromJournal);
        return receipt;
    }

    /**
     * A forget that another copy of this store made: the subject, the id of the erasure receipt and its
     * legal basis (blank when not known), as {@link #receipts} or a {@code SubjectForgotten} entry of
     * {@code $audit} give them.
     */
    public record PriorForget(SubjectId subject, String receipt, String legalBasis) {
        public PriorForget {
            AppendRules.require(subject, "subject");
            if (receipt == null || receipt.isBlank()) {
                throw InvalidEventException.of("receipt", "is missing: name the forget being applied again");
            }
            try {
                receipt = UUID.fromString(receipt).toString();
            } catch (IllegalArgumentException e) {
                // Never quoted: whatever stood there lands nowhere.
                throw InvalidEventException.of(
                        "receipt", "is not a receipt id (a UUID; " + receipt.length() + " characters given)");
            }
            legalBasis = legalBasis == null ? "" : legalBasis;
            // Written before legal bases were bounded: kept, shortened, rather than refused.
            legalBasis = Notes.shortened(legalBasis);
        }
    }

    /**
     * A forget scheduled for a later date ({@link #scheduleForget}): its id (a UUID, also the id of its
     * {@code ForgetScheduled} entry in {@value #ERASURES_NAME}), the subject, when, the legal basis and who
     * scheduled it. It holds no personal data.
     */
    public record ScheduledForget(String id, SubjectId subject, Instant at, String legalBasis, String actor) {
        /** The {@code kind} of a receipt-journal line that holds one. */
        public static final String KIND = "schedule";

        public ScheduledForget {
            id = canonicalUuid(id, "schedule id");
            AppendRules.require(subject, "subject");
            AppendRules.require(at, "forget instant");
            if (legalBasis == null || legalBasis.isBlank()) {
                throw InvalidEventException.of("legal basis", "is required to forget a subject");
            }
            // Read back from what was stored before legal bases were bounded: shortened, not refused (new
            // ones are bounded where they come in, by scheduleForget).
            legalBasis = Notes.shortened(legalBasis);
            actor = actor == null || actor.isBlank() ? "?" : actor;
        }

        /** As a receipt-journal line holds it. */
        public Map<String, Object> asMap() {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("kind", KIND);
            map.put("id", id);
            map.put("subject", subject.toString());
            map.put("at", at.toString());
            map.put("legalBasis", legalBasis);
            map.put("actor", actor);
            return map;
        }

        /** Read back from {@link #asMap}'s form; refuses anything else. */
        public static ScheduledForget of(JsonNode line) {
            for (String field : List.of("id", "subject", "at", "legalBasis")) {
                if (!line.path(field).isTextual()) {
                    throw InvalidEventException.of("scheduled forget", "has no " + field + " (as text)");
                }
            }
            Instant at;
            try {
                at = Instant.parse(line.path("at").asText());
            } catch (java.time.format.DateTimeParseException e) {
                throw InvalidEventException.of("scheduled forget", "has an 'at' that is not an instant");
            }
            return new ScheduledForget(
                    line.path("id").asText(),
                    SubjectId.parse(line.path("subject").asText()),
                    at,
                    line.path("legalBasis").asText(),
                    line.path("actor").asText("?"));
        }
    }

    /** {@code text} as a UUID in its canonical form (36 characters); refuses anything else. */
    private static String canonicalUuid(String text, String what) {
        try {
            String id = UUID.fromString(text == null ? "" : text).toString();
            if (id.equalsIgnoreCase(text)) {
                return id;
            }
        } catch (IllegalArgumentException e) {
            // refused below
        }
        throw InvalidEventException.of(what, "is not a UUID (8-4-4-4-12 hexadecimal digits)");
    }

    /**
     * A scheduled forget cancelled ({@link #cancelScheduledForget}): the schedule's id, its subject, why,
     * and who cancelled it. It holds no personal data.
     */
    public record CancelledForget(String scheduleId, SubjectId subject, String reason, String actor) {
        /** The {@code kind} of a receipt-journal line that holds one. */
        public static final String KIND = "cancel";

        public CancelledForget {
            scheduleId = canonicalUuid(scheduleId, "schedule id");
            AppendRules.require(subject, "subject");
            if (reason == null || reason.isBlank()) {
                throw InvalidEventException.of("reason", "is required to cancel a scheduled forget");
            }
            reason = Notes.shortened(reason); // bounded where it comes in, by cancelScheduledForget
            actor = actor == null || actor.isBlank() ? "?" : actor;
        }

        /** As a receipt-journal line holds it ({@code id} is the schedule's). */
        public Map<String, Object> asMap() {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("kind", KIND);
            map.put("id", scheduleId);
            map.put("subject", subject.toString());
            map.put("reason", reason);
            map.put("actor", actor);
            return map;
        }

        /**
         * Read back from {@link #asMap}'s form, or from a {@code ForgetCancelled} entry's data ({@code
         * scheduleId} instead of {@code id}); refuses anything else.
         */
        public static CancelledForget of(JsonNode line) {
            JsonNode id = line.has("scheduleId") ? line.path("scheduleId") : line.path("id");
            if (!id.isTextual()
                    || !line.path("subject").isTextual()
                    || !line.path("reason").isTextual()) {
                throw InvalidEventException.of("cancelled forget", "needs id, subject and reason (as text)");
            }
            JsonNode actor = line.has("actor") ? line.path("actor") : line.path("principal");
            return new CancelledForget(
                    id.asText(),
                    SubjectId.parse(line.path("subject").asText()),
                    line.path("reason").asText(),
                    actor.asText("?"));
        }
    }

    /**
     * What {@link #forgetAgain} did: the receipts of the subjects it forgot again, the subjects this
     * store had already forgotten, and those it holds no key for (created after the copy was taken, or
     * their key is lost: {@link KeyService#checkKeys} tells).
     */
    public record ForgetsReapplied(
            List<ErasureReceipt> forgotten,
            List<SubjectId> alreadyForgotten,
            List<SubjectId> withoutKey,
            List<ScheduledForget> rescheduled,
            int schedulesLeft,
            List<CancelledForget> cancelledAgain) {
        public ForgetsReapplied {
            forgotten = List.copyOf(forgotten);
            alreadyForgotten = List.copyOf(alreadyForgotten);
            withoutKey = List.copyOf(withoutKey);
            rescheduled = List.copyOf(rescheduled);
            cancelledAgain = List.copyOf(cancelledAgain);
        }
    }

    /**
     * Forgets again, in this store, the subjects another copy of it forgot: after a whole data directory
     * is restored from a backup, its audit trail is as old as its keys, and every forget made since is
     * known only to the receipts or the {@code $audit} of the store it replaced. Each subject that still
     * has a key here is forgotten as by {@link #forget}, with the prior forget's legal basis, and audited
     * as {@code SubjectForgotten} with {@code reapplied: true} and the {@code originalReceipt}; subjects
     * already forgotten here, or without a key, are left as they are and reported. A subject named twice
     * counts once. Needs the forget permission.
     */
    public ForgetsReapplied forgetAgain(List<PriorForget> prior, Principal actor) {
        return forgetAgain(prior, List.of(), List.of(), actor);
    }

    /**
     * As {@link #forgetAgain(List, Principal)}, and schedules again the forgets the other copy scheduled
     * ({@code schedules}) that this store does not hold, for subjects that still have a key here (audited
     * as {@code ForgetScheduled} with {@code reapplied: true}); the others are counted in {@code
     * schedulesLeft}. The subjects are forgotten first, so a schedule for one of them is left.
     */
    public ForgetsReapplied forgetAgain(
            List<PriorForget> prior, List<ScheduledForget> schedules, List<CancelledForget> cancels, Principal actor) {
        require(actor, Permission.FORGET);
        checkForgetAllowed();
        AppendRules.require(prior, "prior forgets");
        AppendRules.require(schedules, "scheduled forgets");
        AppendRules.require(cancels, "cancelled forgets");
        schedules.forEach(schedule -> AppendRules.require(schedule, "scheduled forget"));
        cancels.forEach(cancel -> AppendRules.require(cancel, "cancelled forget"));
        List<ErasureReceipt> forgotten = new ArrayList<>();
        List<SubjectId> already = new ArrayList<>();
        List<SubjectId> withoutKey = new ArrayList<>();
        Set<SubjectId> seen = new java.util.HashSet<>();
        for (PriorForget forget : prior) {
            AppendRules.require(forget, "prior forget");
            SubjectId subject = forget.subject();
            if (!seen.add(subject)) {
                continue;
            }
            boolean known = keys.isKnown(subject); // first: a forget in between makes it forgotten, not keyless
            if (keys.isForgotten(subject)) {
                already.add(subject);
            } else if (!known) {
                withoutKey.add(subject);
            } else {
                String basis = reappliedBasis(forget.legalBasis(), forget.receipt());
                try {
                    forgotten.add(reapply(
                            subject,
                            forget.receipt(),
                            basis,
                            "re-applied: forgotten in another copy of this store (receipt " + forget.receipt() + ")",
                            actor,
                            false));
                } catch (AlreadyForgottenException e) {
                    already.add(subject); // forgotten by another process in the meantime
                }
            }
        }
        if (!forgotten.isEmpty()) {
            keys.scrubQuietly(java.time.Duration.ofSeconds(10), forgotten.size() + " subject(s) forgotten again");
        }
        Rescheduled rescheduled = reschedule(schedules, cancels, actor, "forgetAgain");
        return new ForgetsReapplied(
                forgotten,
                already,
                withoutKey,
                rescheduled.scheduled(),
                schedules.size() - rescheduled.scheduled().size(),
                rescheduled.cancelled());
    }

    /**
     * The stored erasure receipts, oldest first; only {@code subject}'s when it is not null. They hold no
     * personal data, but say who was forgotten and why: needs the forget permission.
     */
    public List<ErasureReceipt> receipts(SubjectId subject, Principal actor) {
        require(actor, Permission.FORGET, "forget (list erasure receipts)");
        if (subject == null) {
            return keys.receipts();
        }
        requireIssued(subject);
        return keys.receiptsOf(subject);
    }

    /**
     * Refuses a subject id this store never issued nor forgot: "no receipts", "nothing scheduled" or "no
     * data" would read as an answer about a person, when the id was mistyped.
     */
    private void requireIssued(SubjectId subject) {
        if (!keys.isKnown(subject) && !keys.isForgotten(subject)) {
            throw new UnknownSubjectException(
                    subject, "is unknown to the key service (never created here, nor forgotten)");
        }
    }

    private static List<String> personalPaths(SchemaRegistry.Registered registered) {
        return registered.schema().fields().stream()
                .filter(FieldRule::personal)
                .map(FieldRule::path)
                .sorted()
                .toList();
    }

    /**
     * A forget's audit entry as it is made: with the key fields that keep natural keys in plaintext, which
     * it does not reach ({@link SchemaRegistry#plaintextNaturalKeyFields}), when the schemas have any, so
     * that the trail records what was left as well as what was destroyed; and, for a scheduled forget a retention
     * run carried out, which schedule and the date it was set for ({@code schedule}, {@code scheduledFor}).
     */
    private Map<String, Object> forgottenEntryNow(ErasureReceipt receipt, Map<String, Object> schedule) {
        List<String> plaintext = schemas.plaintextNaturalKeyFields();
        if (plaintext.isEmpty() && schedule.isEmpty()) {
            return forgottenEntry(receipt);
        }
        Map<String, Object> details = new LinkedHashMap<>(forgottenEntry(receipt));
        details.putAll(schedule);
        if (!plaintext.isEmpty()) {
            details.put("plaintextKeyFields", plaintext);
        }
        return details;
    }

    private static Map<String, Object> forgottenEntry(ErasureReceipt receipt) {
        return Map.of(
                "subject", receipt.subject().toString(),
                "receipt", receipt.id().toString(),
                "legalBasis", receipt.legalBasis());
    }

    /**
     * Records a committed forget: its receipt in the journal (when there is one), then its audit entry
     * {@code details}. The receipt is marked audited once both are durable; until then, a crash or a
     * failure leaves it pending, and the next open writes what is missing ({@link
     * #auditInterruptedForgets}). A failure is added to {@code primary} when there is one, and thrown
     * otherwise, saying that the forget itself is done.
     */
    private void recordForget(
            ErasureReceipt receipt, Principal actor, Map<String, Object> details, RuntimeException primary) {
        recordForget(receipt, actor, details, primary, true);
    }

    private void recordForget(
            ErasureReceipt receipt,
            Principal actor,
            Map<String, Object> details,
            RuntimeException primary,
            boolean toJournal) {
        RuntimeException failure = null;
        boolean journaled = true;
        if (journal != null && toJournal) {
            try {
                journal.append(receipt);
            } catch (RuntimeException e) {
                journaled = false;
                receiptsPending = true;
                failure = dev.lethe.core.store.StorageException.transientFailure(
                        "subject " + receipt.subject() + " is forgotten (receipt " + receipt.id() + "), but "
                                + e.getMessage()
                                + " (the next forget, retention run or open of the store writes the receipt there; until then a data"
                                + " directory restored from a backup would not forget this subject again)",
                        e);
            }
        }
        try {
            audit.record("SubjectForgotten", actor, details);
            if (journaled) {
                keys.audited(receipt.id());
            }
        } catch (RuntimeException e) {
            // The forget is done whatever the trail says: a failure here must not read as "nothing changed".
            String why = "subject " + receipt.subject() + " is forgotten (receipt " + receipt.id() + "), but its"
                    + " SubjectForgotten audit entry was not written: " + e.getMessage()
                    + " (the next open of the store writes it)";
            RuntimeException unrecorded = e instanceof dev.lethe.core.store.LetheException lethe && !lethe.isTransient()
                    ? dev.lethe.core.store.StorageException.permanent(why, e)
                    : dev.lethe.core.store.StorageException.transientFailure(why, e);
            if (failure == null) {
                failure = unrecorded;
            } else {
                failure.addSuppressed(unrecorded);
            }
        }
        if (failure != null) {
            if (primary == null) {
                throw failure;
            }
            primary.addSuppressed(failure);
        }
    }

    /** Set when a receipt could not be written to the receipt journal: the next forget or retention run tries. */
    private volatile boolean receiptsPending;

    /**
     * Writes the receipts a receipt journal could not take (unmounted, full) when this process last tried:
     * called before each forget and each retention run (the hourly scheduler's too), so that a journal back
     * in place gets them without waiting for the next open; a journal still failing is said in the log.
     */
    private void writePendingReceipts() {
        if (!receiptsPending || journal == null) {
            return;
        }
        receiptsPending = false;
        try {
            auditInterruptedForgets(false);
        } catch (RuntimeException e) {
            receiptsPending = true;
            LOG.log(
                    System.Logger.Level.WARNING,
                    "receipts still to be written to the receipt journal: " + e.getMessage());
        }
    }

    /**
     * Writes the {@code SubjectForgotten} audit entry of every forget that a crash interrupted after the
     * key's deletion was committed and before its entry was written (the receipt, stored with the
     * deletion, says what happened); returns how many were missing. The SQLite engine calls it on
     * open. Reads the audit stream only when some receipt is not marked audited.
     */
    public int auditInterruptedForgets() {
        return auditInterruptedForgets(true);
    }

    /**
     * @param recover whether receipts without an audit entry get one ({@code recovered: true}): on open,
     *     where such a forget was cut short by a crash; not while this process runs, where a forget on another
     *     thread may have committed its key's deletion and not yet written its entry (it writes it itself)
     */
    private int auditInterruptedForgets(boolean recover) {
        List<ErasureReceipt> all = keys.unauditedReceipts();
        List<ErasureReceipt> pending = all;
        if (pending.isEmpty()) {
            return 0;
        }
        java.util.Set<String> missing = new java.util.HashSet<>();
        pending.forEach(r -> missing.add(r.id().toString()));
        for (long from = 0; !missing.isEmpty(); ) {
            List<RecordedEvent> page =
                    store.readStream(AuditLog.STREAM, from, Direction.FORWARD, EventStore.MAX_READ_LIMIT);
            for (RecordedEvent event : page) {
                if (event.type().equals("SubjectForgotten")) {
                    missing.remove(event.data().asTree().path("receipt").asText());
                }
            }
            if (page.size() < EventStore.MAX_READ_LIMIT) {
                break;
            }
            from += page.size();
        }
        if (!recover) {
            // Only those whose forget is over (audited, its journal line missing): the others are in flight.
            pending = all.stream()
                    .filter(r -> !missing.contains(r.id().toString()))
                    .toList();
            missing.clear();
            if (pending.isEmpty()) {
                return 0;
            }
        }
        boolean journaled = true;
        if (journal != null) {
            // Receipts whose journal line may be missing too (a line written twice is read as one forget).
            try {
                journal.append(pending);
            } catch (RuntimeException e) {
                journaled = false; // pending still, for the next try: the store stays usable meanwhile
                receiptsPending = true;
                LOG.log(
                        System.Logger.Level.WARNING,
                        pending.size() + " receipt(s) still to be written to the receipt journal: " + e.getMessage());
            }
        }
        for (ErasureReceipt receipt : pending) {
            if (missing.contains(receipt.id().toString())) {
                Map<String, Object> details = new LinkedHashMap<>(forgottenEntry(receipt));
                details.put("actor", receipt.actor());
                details.put("forgottenAt", receipt.at().toString());
                details.put("recovered", true);
                audit.record("SubjectForgotten", Principal.SYSTEM, details);
            }
            if (journaled) {
                keys.audited(receipt.id());
            }
        }
        return missing.size();
    }

    /**
     * Schedules a forget for a later date; {@link #runScheduledForgets} carries it out, unless {@link
     * #cancelScheduledForget} cancels it first. Returns the schedule, with its id.
     */
    public ScheduledForget scheduleForget(SubjectId subject, Instant at, String legalBasis, Principal actor) {
        require(actor, Permission.FORGET);
        checkForgetAllowed();
        AppendRules.require(subject, "subject");
        AppendRules.require(at, "forget instant");
        if (legalBasis == null || legalBasis.isBlank()) {
            throw InvalidEventException.of("legal basis", "is required to forget a subject");
        }
        requireNamedBasis(legalBasis);
        Notes.bounded("legal basis", legalBasis);
        // Known first, then forgotten (a forget in between makes it forgotten, not unknown).
        if (!keys.isKnown(subject)) {
            throw keys.isForgotten(subject)
                    ? new AlreadyForgottenException(subject, "was already forgotten")
                    : new UnknownSubjectException(subject, "is unknown to the key service");
        }
        if (keys.isForgotten(subject)) {
            throw new AlreadyForgottenException(subject, "was already forgotten");
        }
        requireNoNaturalKey("legal basis", legalBasis, "scheduleForget", subject, actor);
        if (at.isAfter(LAST_SCHEDULABLE)) {
            // Period ids have four-digit years: nothing runs then (a mistyped year, +10000 for 2026).
            throw InvalidEventException.of(
                    "forget instant",
                    dev.lethe.core.store.InstantText.of(at)
                            + " is after the year 9999: check the date; nothing was scheduled");
        }
        List<RecordedEvent> erasures = readAll(ERASURES);
        Set<String> cancelled = cancelledIds(erasures);
        for (ScheduledForget pending : schedules(erasures)) {
            if (pending.subject().equals(subject) && pending.at().equals(at) && !cancelled.contains(pending.id())) {
                throw InvalidEventException.of(
                        "forget instant",
                        "subject " + subject + " already has a forget scheduled at "
                                + dev.lethe.core.store.InstantText.of(at) + " (schedule " + pending.id()
                                + "): nothing was scheduled");
            }
        }
        ScheduledForget schedule =
                new ScheduledForget(UUID.randomUUID().toString(), subject, at, legalBasis, actor.name());
        if (journal != null) {
            // First: a data directory restored from before this schedule finds it there. A journal that
            // cannot take it leaves nothing scheduled, and says so.
            try {
                journal.appendSchedules(List.of(schedule));
            } catch (dev.lethe.core.store.StorageException e) {
                throw dev.lethe.core.store.StorageException.transientFailure(
                        "the forget of subject " + subject + " was not scheduled: " + e.getMessage(), e);
            }
        }
        // Stored and audited in one commit: a stop leaves neither a forget scheduled (and later carried out)
        // without its entry, nor an entry for a forget that will never run.
        storeInErasures(
                scheduledEvent(schedule, null),
                "ForgetScheduled",
                actor,
                scheduledEntry(schedule),
                "the forget of subject " + subject + " was not scheduled");
        return schedule;
    }

    /**
     * Appends an entry to {@value #ERASURES_NAME} and its audit entry, in one commit. When that fails
     * after its journal line was written, the journal is no longer known as read up to its end, so that
     * the next open applies the line (the caller is told that it failed, and may retry).
     */
    private void storeInErasures(
            EventData entry, String auditType, Principal actor, Map<String, ?> audited, String failed) {
        try {
            audit.recordWith(auditType, actor, audited, ERASURES, entry);
        } catch (RuntimeException e) {
            if (journal != null) {
                journal.forgetKnownEnd();
            }
            throw dev.lethe.core.store.StorageException.transientFailure(
                    failed + " in this store: " + e.getMessage()
                            + (journal != null ? " (the receipt journal has it: the next open applies it)" : ""),
                    e);
        }
    }

    /**
     * The forgets scheduled and still to be carried out, soonest due first (by {@code at}; for equal ones, the one
     * scheduled first): not cancelled, their subject not
     * yet forgotten; only {@code subject}'s when it is not null. Needs the forget permission.
     */
    public List<ScheduledForget> scheduledForgets(SubjectId subject, Principal actor) {
        require(actor, Permission.FORGET, "forget (list scheduled forgets)");
        if (subject != null) {
            requireIssued(subject);
        }
        List<RecordedEvent> erasures = readAll(ERASURES);
        Set<String> cancelled = cancelledIds(erasures);
        return schedules(erasures).stream()
                .filter(schedule -> !cancelled.contains(schedule.id()))
                .filter(schedule -> subject == null || schedule.subject().equals(subject))
                .filter(schedule -> !keys.isForgotten(schedule.subject()))
                .sorted(java.util.Comparator.comparing(ScheduledForget::at)) // soonest due first; stable
                .toList();
    }

    /** The last instant a forget may be scheduled at: the end of the year 9999 (period ids have four digits). */
    static final Instant LAST_SCHEDULABLE = Instant.parse("9999-12-31T23:59:59.999999999Z");

    /**
     * Cancels a scheduled forget before it is carried out (a contract extended, a date given wrong): it is
     * journaled first when there is a receipt journal (so that a restored directory does not schedule it
     * again), audited as {@code ForgetCancelled} and noted in {@value #ERASURES_NAME}. Needs the forget
     * permission, and is refused in a copy that may not forget ({@link ForgetRefusedException}).
     */
    public CancelledForget cancelScheduledForget(String scheduleId, String reason, Principal actor) {
        require(actor, Permission.FORGET);
        checkForgetAllowed();
        if (reason == null || dev.lethe.core.privacy.keys.KeyService.blank(reason)) {
            // Blank includes what shows nothing (a no-break space and a soft hyphen): the trail would say nothing.
            throw InvalidEventException.of("reason", "is required to cancel a scheduled forget");
        }
        Notes.bounded("reason", reason);
        requireNoPersonalData("reason", reason);
        AppendRules.require(scheduleId, "schedule id");
        String id = canonicalUuid(scheduleId.strip(), "schedule id");
        List<RecordedEvent> erasures = readAll(ERASURES);
        ScheduledForget schedule = schedules(erasures).stream()
                .filter(candidate -> candidate.id().equals(id))
                .findFirst()
                .orElseThrow(
                        () -> InvalidEventException.of("schedule " + id, "is not a forget scheduled in this store"));
        if (cancelledIds(erasures).contains(id)) {
            throw new AlreadyCancelledException(id);
        }
        if (keys.isForgotten(schedule.subject())) {
            throw new AlreadyForgottenException(
                    schedule.subject(), "is already forgotten: schedule " + id + " cannot be cancelled");
        }
        requireNoNaturalKey("reason", reason, "cancelScheduledForget", schedule.subject(), actor);
        CancelledForget cancel = new CancelledForget(id, schedule.subject(), reason, actor.name());
        if (journal != null) {
            try {
                journal.appendCancels(List.of(cancel));
            } catch (dev.lethe.core.store.StorageException e) {
                throw dev.lethe.core.store.StorageException.transientFailure(
                        "the scheduled forget " + id + " was not cancelled: " + e.getMessage(), e);
            }
        }
        // Stored and audited in one commit: the trail never says cancelled what scheduled runs would still do,
        // nor misses a cancel that was made.
        storeInErasures(
                cancelledEvent(cancel, null),
                "ForgetCancelled",
                actor,
                cancelledEntry(cancel),
                "the scheduled forget " + id + " was not cancelled");
        return cancel;
    }

    private static Map<String, Object> cancelledEntry(CancelledForget cancel) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("scheduleId", cancel.scheduleId());
        entry.put("subject", cancel.subject().toString());
        entry.put("reason", cancel.reason());
        return entry;
    }

    /** Its {@value #ERASURES_NAME} entry (its event id the store's, as for {@link #scheduledEvent}). */
    private static EventData cancelledEvent(CancelledForget cancel, String from) {
        ObjectNode data = JSON.createObjectNode();
        data.put("scheduleId", cancel.scheduleId())
                .put("subject", cancel.subject().toString())
                .put("reason", cancel.reason())
                .put("actor", cancel.actor());
        if (from != null) {
            data.put("from", from);
        }
        return EventData.of("ForgetCancelled", Json.of(data));
    }

    /** The ids of the scheduled forgets that {@code erasures} (the stream's events) says were cancelled. */
    private static Set<String> cancelledIds(List<RecordedEvent> erasures) {
        Set<String> ids = new java.util.HashSet<>();
        for (RecordedEvent event : erasures) {
            if (event.type().equals("ForgetCancelled")) {
                ids.add(event.data().asTree().path("scheduleId").asText(""));
            }
        }
        return ids;
    }

    /** The cancellations in {@code erasures}, as the journal holds them; entries Lethe could not have written are left out. */
    private static List<CancelledForget> cancels(List<RecordedEvent> erasures) {
        List<CancelledForget> out = new ArrayList<>();
        for (RecordedEvent event : erasures) {
            if (event.type().equals("ForgetCancelled")) {
                try {
                    out.add(CancelledForget.of(event.data().asTree()));
                } catch (RuntimeException notWrittenByLethe) {
                    // Its id still counts in cancelledIds; it is only not copied into a journal.
                }
            }
        }
        return out;
    }

    private static Map<String, Object> scheduledEntry(ScheduledForget schedule) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("subject", schedule.subject().toString());
        entry.put("forgetAt", schedule.at().toString());
        entry.put("legalBasis", schedule.legalBasis());
        entry.put("scheduleId", schedule.id());
        return entry;
    }

    /**
     * Its {@value #ERASURES_NAME} entry, with the schedule's id in {@code scheduleId}. Its event id is the
     * store's (random): no id a client could choose, or compute, for another event can clash with it.
     */
    private static EventData scheduledEvent(ScheduledForget schedule, String from) {
        ObjectNode data = JSON.createObjectNode();
        data.put("scheduleId", schedule.id())
                .put("subject", schedule.subject().toString())
                .put("at", schedule.at().toString())
                .put("legalBasis", schedule.legalBasis())
                .put("actor", schedule.actor());
        if (from != null) {
            data.put("from", from);
        }
        return EventData.of("ForgetScheduled", Json.of(data));
    }

    /**
     * A {@code ForgetScheduled} entry's schedule id: its {@code scheduleId}, or, for an entry written before
     * Lethe recorded one, its event id.
     */
    private static String scheduleIdOf(RecordedEvent event) {
        JsonNode id = event.data().asTree().path("scheduleId");
        return id.isTextual() ? id.asText() : event.id().toString();
    }

    /** The ids of the forgets scheduled in {@value #ERASURES_NAME} (its {@code ForgetScheduled} entries). */
    private static Set<String> scheduledIds(List<RecordedEvent> erasures) {
        Set<String> ids = new java.util.HashSet<>();
        for (RecordedEvent event : erasures) {
            if (event.type().equals("ForgetScheduled")) {
                ids.add(scheduleIdOf(event));
            }
        }
        return ids;
    }

    /**
     * The forgets scheduled in {@value #ERASURES_NAME}, as the journal holds them; entries Lethe could not
     * have written are left out.
     */
    private static List<ScheduledForget> schedules(List<RecordedEvent> erasures) {
        List<ScheduledForget> out = new ArrayList<>();
        for (RecordedEvent event : erasures) {
            if (!event.type().equals("ForgetScheduled")) {
                continue;
            }
            ObjectNode line = JSON.createObjectNode();
            event.data().asTree().fields().forEachRemaining(field -> line.set(field.getKey(), field.getValue()));
            line.put("id", scheduleIdOf(event));
            try {
                out.add(ScheduledForget.of(line));
            } catch (RuntimeException notWrittenByLethe) {
                // Skipped, as runScheduledForgets skips it.
            }
        }
        return out;
    }

    /** The {@code from} of what a writer open applies again from the receipt journal. */
    private static final String FROM_JOURNAL = "receiptJournal";

    /** What {@link #reschedule} did: the forgets scheduled again, and the cancellations applied again. */
    private record Rescheduled(List<ScheduledForget> scheduled, List<CancelledForget> cancelled) {}

    /**
     * Schedules again the forgets of {@code schedules} that this store does not hold (by id) and that
     * {@code cancels} does not cancel, for subjects that still have a key; then cancels the schedules held
     * here that {@code cancels} names and this store does not know as cancelled. Each is audited ({@code
     * ForgetScheduled}, {@code ForgetCancelled}) with {@code reapplied: true} and {@code from}; unless it
     * comes from the receipt journal, it is written to the journal first, as by {@link #scheduleForget}, so
     * that the next restore finds it there too.
     */
    private Rescheduled reschedule(
            List<ScheduledForget> schedules, List<CancelledForget> cancels, Principal actor, String from) {
        List<ScheduledForget> scheduled = new ArrayList<>();
        List<CancelledForget> cancelled = new ArrayList<>();
        if (schedules.isEmpty() && cancels.isEmpty()) {
            return new Rescheduled(scheduled, cancelled);
        }
        List<RecordedEvent> erasures = readAll(ERASURES);
        Set<String> present = scheduledIds(erasures);
        Set<String> cancelledHere = cancelledIds(erasures);
        Set<String> cancelling = new java.util.HashSet<>();
        cancels.forEach(cancel -> cancelling.add(cancel.scheduleId()));
        Map<String, SubjectId> held = new java.util.HashMap<>();
        schedules(erasures).forEach(schedule -> held.putIfAbsent(schedule.id(), schedule.subject()));
        for (ScheduledForget given : schedules) {
            // From a file anyone may have edited: what a new schedule's basis may not hold is not kept for good.
            ScheduledForget schedule = new ScheduledForget(
                    given.id(),
                    given.subject(),
                    given.at(),
                    reappliedNote(
                            given.legalBasis(), "as scheduled before (schedule " + given.id() + ")", "legal basis"),
                    reappliedActor(given.actor()));
            SubjectId subject = schedule.subject();
            SubjectId before = held.putIfAbsent(schedule.id(), subject);
            if (before != null && !before.equals(subject)) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "two scheduled forgets have the id " + schedule.id() + " but different subjects: the one"
                                + " for subject " + subject + " is not scheduled again");
                continue;
            }
            if (cancelling.contains(schedule.id())
                    || cancelledHere.contains(schedule.id())
                    || !present.add(schedule.id())
                    || keys.isForgotten(subject)
                    || !keys.isKnown(subject)) {
                continue;
            }
            if (journal != null && !from.equals(FROM_JOURNAL)) {
                journal.appendSchedules(List.of(schedule));
            }
            Map<String, Object> entry = new LinkedHashMap<>(scheduledEntry(schedule));
            entry.put("reapplied", true);
            entry.put("from", from);
            // In one commit, as scheduleForget writes them.
            audit.recordWith("ForgetScheduled", actor, entry, ERASURES, scheduledEvent(schedule, from));
            scheduled.add(schedule);
        }
        for (CancelledForget given : cancels) {
            if (cancelledHere.contains(given.scheduleId())) {
                continue;
            }
            CancelledForget cancel = new CancelledForget(
                    given.scheduleId(),
                    given.subject(),
                    reappliedNote(
                            given.reason(), "as cancelled before (schedule " + given.scheduleId() + ")", "reason"),
                    reappliedActor(given.actor()));
            SubjectId subject = held.get(cancel.scheduleId());
            if (subject != null && !subject.equals(cancel.subject())) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "a cancellation of schedule " + cancel.scheduleId() + " names another subject than the"
                                + " schedule: not applied");
                continue;
            }
            // Recorded even for a schedule not held here, so that no older copy of it (a dump given to
            // forget-again later) can schedule it again.
            if (journal != null && !from.equals(FROM_JOURNAL)) {
                journal.appendCancels(List.of(cancel));
            }
            Map<String, Object> entry = new LinkedHashMap<>(cancelledEntry(cancel));
            entry.put("reapplied", true);
            entry.put("from", from);
            audit.recordWith("ForgetCancelled", actor, entry, ERASURES, cancelledEvent(cancel, from));
            cancelledHere.add(cancel.scheduleId());
            cancelled.add(cancel);
        }
        return new Rescheduled(scheduled, cancelled);
    }

    /**
     * Carries out every scheduled forget due at {@code now}; returns the receipts. The {@code forget}
     * permission was checked when each forget was scheduled; running them takes the permission to run
     * retention (see {@link #retention}). An entry of {@value #ERASURES_NAME} that Lethe could not have
     * written (a bad instant or subject id) is skipped, so that it cannot stop every later run.
     */
    public List<ErasureReceipt> runScheduledForgets(Instant now, Principal actor) {
        requireRetention(actor, now);
        return scheduledForgets(now, actor, new ArrayList<>(), (done, due) -> {});
    }

    /**
     * @param progress hears (forgets carried out, forgets due) after each one: a run with thousands due takes
     *     a while (each forget is a durable write), and an operator is told how far it got
     */
    private List<ErasureReceipt> scheduledForgets(
            Instant now, Principal actor, List<Long> malformed, java.util.function.BiConsumer<Long, Long> progress) {
        List<ErasureReceipt> done = new ArrayList<>();
        List<RecordedEvent> erasures = readAll(ERASURES);
        Set<String> cancelled = cancelledIds(erasures);
        record Due(RecordedEvent event, SubjectId subject, JsonNode data) {}
        List<Due> due = new ArrayList<>();
        Set<SubjectId> dueSubjects = new java.util.HashSet<>();
        for (RecordedEvent event : erasures) {
            if (!event.type().equals("ForgetScheduled") || cancelled.contains(scheduleIdOf(event))) {
                continue;
            }
            JsonNode data = event.data().asTree();
            Instant at;
            SubjectId subject;
            try {
                at = Instant.parse(data.path("at").asText(""));
                subject = SubjectId.parse(data.path("subject").asText(""));
                if (!data.path("legalBasis").isTextual()) {
                    throw new IllegalArgumentException("no legal basis");
                }
            } catch (RuntimeException notWrittenByLethe) {
                malformed.add(event.version());
                continue;
            }
            // A subject scheduled twice is forgotten once, by its first schedule.
            if (!at.isAfter(now) && keys.isKnown(subject) && !keys.isForgotten(subject) && dueSubjects.add(subject)) {
                due.add(new Due(event, subject, data));
            }
        }
        for (Due one : due) {
            synchronized (forgetsInFlight) {
                if (closingForgets) {
                    // Said as such, not as the key store's "closed" on the check below (review T).
                    throw dev.lethe.core.store.StorageException.permanent(
                            "the store is closing: the retention run stopped after " + done.size() + " of " + due.size()
                                    + " scheduled forget(s); the next run carries out the rest",
                            null);
                }
            }
            if (keys.isForgotten(one.subject())) {
                continue; // forgotten meanwhile, by another thread
            }
            try {
                done.add(forgetAuthorized(
                        one.subject(),
                        // Stored before legal bases were bounded: shortened, so that it cannot stop the run.
                        Notes.shortened(one.data().get("legalBasis").asText()),
                        // Who decided, when, and which schedule: the receipt's actor is whoever ran it.
                        "scheduled by " + one.data().path("actor").asText("?") + " (schedule "
                                + scheduleIdOf(one.event()) + ", made "
                                + one.event().recordedAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + ")",
                        actor,
                        Map.of(
                                "schedule",
                                scheduleIdOf(one.event()),
                                "scheduledFor",
                                one.data().get("at").asText())));
            } catch (AlreadyForgottenException meanwhile) {
                // Forgotten by another thread between the check above and this forget (a DPO's forget, another
                // run): what the schedule asked for is done; the run goes on (expiries, the other schedules).
                continue;
            }
            progress.accept((long) done.size(), (long) due.size());
        }
        return done;
    }

    /**
     * Running retention destroys keys: it takes the {@code rotate-keys} permission, except for the
     * in-process {@link RetentionScheduler#SCHEDULER}, which runs it as of its clock.
     */
    private void requireRetention(Principal actor, Instant now) {
        if (now == null) {
            throw InvalidEventException.of("retention instant", "is missing");
        }
        if (actor != RetentionScheduler.SCHEDULER) { // the instance itself, not any principal so named
            require(actor, Permission.ROTATE_KEYS, "rotate-keys (run retention)");
        }
    }

    /**
     * Exports use {@code index} from now on: {@link #export} brings it up to the head first ({@link
     * SubjectIndexer#catchUp}), then reads the subject's events from it, so that its cost grows with the
     * subject's events (and with what the index had not yet seen), not with the log. Without one (or
     * with {@code null}), an export scans the whole log.
     */
    public void useSubjectIndex(SubjectIndex index) {
        this.subjectIndex = index;
    }

    /**
     * Exports (Art. 15/20) every event that names the subject, personal data decrypted, as JSON, in log
     * order. With a {@link #useSubjectIndex subject index}, reads the subject's events from it; else scans
     * the log, whose cost grows with the log, not with the subject.
     *
     * @throws AccessDeniedException the actor's role lacks {@code export}
     * @throws UnknownSubjectException this store never issued the subject id
     * @throws dev.lethe.core.privacy.keys.KeyUnavailableException the master key could not be used; transient
     */
    public Json export(SubjectId subject, Principal actor) {
        return export(subject, actor, (reached, end) -> {});
    }

    /**
     * As {@link #export(SubjectId, Principal)}; {@code indexing} hears (position reached, head + 1) while
     * the subject index is brought up to date (the first export of a large log indexes all of it).
     */
    public Json export(SubjectId subject, Principal actor, java.util.function.BiConsumer<Long, Long> indexing) {
        ExportPlan plan = planExport(subject, actor, indexing);
        long failures = keys.masterFailureCount();
        ObjectNode out = exportHeader(subject);
        ArrayNode events = out.putArray("events");
        Exported.Counter counter = new Exported.Counter();
        plan.forEach(event -> events.add(exported(event, subject, failures, counter)));
        // Built first: an export that fails (out of memory, say) is not audited as handed over.
        Json export = Json.of(out);
        audit.record("SubjectExported", actor, exportedAudit(subject, counter.result()));
        return export;
    }

    private static Map<String, Object> exportedAudit(SubjectId subject, Exported exported) {
        Map<String, Object> data = new java.util.LinkedHashMap<>();
        data.put("subject", subject.toString());
        data.put("events", exported.events());
        if (exported.tamperedFields() > 0) {
            data.put("tamperedFields", exported.tamperedFields());
        }
        return data;
    }

    /**
     * What an export handed over: how many events, and the personal fields that failed authentication —
     * altered, or copied from elsewhere — which it wrote as {@code null}, listed under {@code redacted} with
     * reason {@code tampered} (a read refuses them: {@link TamperedDataException}). An export goes on past
     * them so that the subject still gets the rest of their data; the caller should say that part of it is
     * damaged, and restore it from a backup where it can.
     *
     * @param tampered the first {@value #LISTED} of them
     */
    public record Exported(long events, long tamperedFields, List<TamperedField> tampered) {
        /** How many tampered fields {@link #tampered()} lists at most. */
        public static final int LISTED = 100;

        public Exported {
            tampered = List.copyOf(tampered);
        }

        /** A personal field of an exported event that failed authentication. */
        public record TamperedField(UUID event, long position, String path, String detail) {}

        static final class Counter {
            private long events;
            private long tamperedFields;
            private final List<TamperedField> tampered = new ArrayList<>();

            void count(RecordedEvent event, List<Redaction> redactions) {
                events++;
                for (Redaction redaction : redactions) {
                    if (redaction.reason() == Redaction.Reason.TAMPERED) {
                        tamperedFields++;
                        if (tampered.size() < LISTED) {
                            tampered.add(new TamperedField(
                                    event.id(), event.position(), redaction.path(), redaction.detail()));
                        }
                    }
                }
            }

            Exported result() {
                return new Exported(events, tamperedFields, tampered);
            }
        }
    }

    /**
     * As {@link #export(SubjectId, Principal, java.util.function.BiConsumer)}, written to {@code out} as it
     * is read, one event at a time (a subject with a million events needs no more memory than one with
     * ten); returns the number of events written. Every check (permission, subject, the subject index) is
     * made before the first byte. Audited as {@code SubjectExportStarted} before the first byte and {@code
     * SubjectExported} (with the number of events, and of tampered fields if any) once the last is written
     * and flushed: a hand-over stopped half-way leaves the first without the second. {@code out} is flushed,
     * not closed.
     *
     * @return the number of events written, and the fields that failed authentication ({@link Exported})
     * @throws java.io.UncheckedIOException when {@code out} cannot be written (a client gone away)
     */
    public Exported exportTo(
            SubjectId subject,
            Principal actor,
            java.util.function.BiConsumer<Long, Long> indexing,
            java.io.Writer out,
            boolean pretty) {
        ExportPlan plan = planExport(subject, actor, indexing);
        long failures = keys.masterFailureCount();
        audit.record("SubjectExportStarted", actor, Map.of("subject", subject.toString()));
        Exported.Counter counter = new Exported.Counter();
        long[] written = {0};
        com.fasterxml.jackson.core.JsonGenerator json;
        try {
            // Never closed on a failure: closing would write the missing brackets (and flush them), and an
            // export cut short would read as a whole one. It holds no resource but its buffer.
            json = JSON.createGenerator(out)
                    .disable(com.fasterxml.jackson.core.JsonGenerator.Feature.AUTO_CLOSE_TARGET)
                    .disable(com.fasterxml.jackson.core.JsonGenerator.Feature.AUTO_CLOSE_JSON_CONTENT);
            if (pretty) {
                json.useDefaultPrettyPrinter();
            }
            json.writeStartObject();
            for (var field : (Iterable<Map.Entry<String, JsonNode>>)
                    () -> exportHeader(subject).fields()) {
                json.writeFieldName(field.getKey());
                json.writeTree(field.getValue());
            }
            json.writeArrayFieldStart("events");
            plan.forEach(event -> {
                try {
                    json.writeTree(exported(event, subject, failures, counter));
                    written[0]++;
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            json.writeEndArray();
            json.writeEndObject();
            json.close(); // flushes, without closing out
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            java.io.IOException cause = e instanceof java.io.UncheckedIOException unchecked
                    ? unchecked.getCause()
                    : (java.io.IOException) e;
            throw new java.io.UncheckedIOException(
                    "the export of subject " + subject + " could not be written (after " + written[0] + " events): "
                            + cause.getMessage(),
                    cause);
        }
        Exported exported = counter.result();
        audit.record("SubjectExported", actor, exportedAudit(subject, exported));
        return exported;
    }

    private ObjectNode exportHeader(SubjectId subject) {
        ObjectNode out = JSON.createObjectNode();
        out.put("subject", subject.toString());
        out.put("exportedAt", dev.lethe.core.store.InstantText.of(clock.instant()));
        boolean forgotten = keys.isForgotten(subject);
        out.put("forgotten", forgotten);
        if (forgotten) {
            // Which erasure, and when: the person (or the DPO answering them) can cite it; the receipt itself, with
            // who forgot and why, stays with the forget permission.
            List<ErasureReceipt> receipts = keys.receiptsOf(subject);
            if (!receipts.isEmpty()) {
                ErasureReceipt last = receipts.get(receipts.size() - 1);
                out.putObject("erasure")
                        .put("receipt", last.id().toString())
                        .put("at", dev.lethe.core.store.InstantText.of(last.at()));
            }
        }
        // How long each group's personal data is kept (Art. 15(1)(d)): a value of a group is readable until
        // its retention has run from the end of the day, month or year it was recorded in.
        ObjectNode retention = out.putObject("retention");
        keys.policy().groups().entrySet().stream()
                .sorted(Map.Entry.comparingByKey(java.util.Comparator.comparing(DataGroup::name)))
                .forEach(group -> retention
                        .putObject(group.getKey().name())
                        .put("keptFor", group.getValue().retention().toString())
                        .put(
                                "from",
                                "the end of the "
                                        + group.getValue().periods().name().toLowerCase(java.util.Locale.ROOT)
                                        + " the value was recorded in"));
        return out;
    }

    /**
     * Where an export reads a subject's events: checked (permission, subject), the subject index brought up
     * to date, its positions found, before anything is handed over.
     */
    private ExportPlan planExport(
            SubjectId subject, Principal actor, java.util.function.BiConsumer<Long, Long> indexing) {
        require(actor, Permission.EXPORT);
        AppendRules.require(subject, "subject");
        boolean lost = !keys.isKnown(subject) && !keys.isForgotten(subject);
        if (lost && subjectIndex == null) {
            requireIssued(subject);
        }
        if (!keys.isForgotten(subject)) { // a forgotten subject's export needs no key
            requireMasterKey();
        }
        long from = 0;
        List<Long> indexed = List.of();
        SubjectIndex index = subjectIndex;
        if (index != null) {
            from = SubjectIndexer.catchUp(store, index, indexing);
            long upTo = from;
            indexed = index.subjectPositions(subject).stream()
                    .filter(position -> position < upTo)
                    .toList();
        }
        if (lost) {
            if (indexed.isEmpty()) {
                throw new UnknownSubjectException(
                        subject,
                        "is unknown to the key service (never created here, nor forgotten) and the log names it in no"
                                + " event");
            }
            // The log names it, keys.db has neither its key nor its fence (older, or damaged): its events are still
            // its data. Exported, personal fields as unavailable, rather than answered "no such person".
            LOG.log(
                    System.Logger.Level.WARNING,
                    "subject " + subject + " has neither a key nor an erasure fence in keys.db, though the log names"
                            + " it in " + indexed.size() + " event(s) (keys.db older than events.db, or damaged):"
                            + " exported with its personal fields unavailable; lethe keys check, and restore both from"
                            + " one backup");
        }
        return new ExportPlan(subject, indexed, from);
    }

    /** The subject's events from the index's positions, then from {@code from} on in the log. */
    private final class ExportPlan {
        private final java.util.function.Predicate<Json> naming;
        private final List<Long> indexed;
        private final long from;

        ExportPlan(SubjectId subject, List<Long> indexed, long from) {
            this.naming = PrivacyCodec.naming(subject);
            this.indexed = indexed;
            this.from = from;
        }

        void forEach(Consumer<RecordedEvent> each) {
            Consumer<RecordedEvent> ofSubject = event -> {
                if (naming.test(event.metadata())) {
                    each.accept(event);
                }
            };
            for (long position : indexed) {
                // Checked again: what the index says is only where to look.
                store.readAll(position, 1).stream()
                        .filter(event -> event.position() == position)
                        .forEach(ofSubject);
            }
            // Without an index, the whole log; with one, what was appended since it was brought up to date.
            for (long next = from; ; ) {
                List<RecordedEvent> page = store.readAll(next, EventStore.MAX_READ_LIMIT, EventStore.PAGE_BYTES);
                page.forEach(ofSubject);
                if (!EventStore.mayContinue(page, EventStore.MAX_READ_LIMIT, EventStore.PAGE_BYTES)) {
                    break;
                }
                next = page.get(page.size() - 1).position() + 1;
            }
        }
    }

    /**
     * Refuses an export while the master key cannot be used (its HSM failing, a key store it does not
     * open): every personal field would read as unavailable, and the export be audited as handed over.
     */
    private void requireMasterKey() {
        keys.masterProblem().ifPresent(why -> {
            throw new KeyUnavailableException("cannot export now: " + why, null, true);
        });
    }

    private ObjectNode exported(
            RecordedEvent event, SubjectId subject, long masterFailuresBefore, Exported.Counter counter) {
        List<PrivacyCodec.SealedField> sealed = new ArrayList<>(2);
        RevealedEvent revealed = codec.revealForExport(event, subject, sealed::add);
        if (keys.masterFailureCount() != masterFailuresBefore) {
            // The device failed during the export, even if it answers again now: it stops, rather than hand
            // over unavailable fields and be audited as done.
            throw new KeyUnavailableException(
                    "cannot export now: the master key's device failed during the export; try again", null, true);
        }
        ObjectNode entry = JSON.createObjectNode();
        // The event's id and position too: a downstream tool deduplicates repeated exports, and joins them to
        // other copies of the log, by them.
        entry.put("id", event.id().toString())
                .put("position", event.position())
                .put("stream", event.streamId().value())
                .put("version", event.version())
                .put("type", event.type());
        entry.put("recordedAt", dev.lethe.core.store.InstantText.of(event.recordedAt()));
        JsonNode schemaVersion =
                event.metadata().asTree().path(PrivacyCodec.METADATA_KEY).path("schemaVersion");
        if (schemaVersion.isIntegralNumber()) {
            entry.put("schemaVersion", schemaVersion.asInt());
        }
        entry.set("data", revealed.data().asTree());
        // Metadata is never sealed and may hold what a client put there (an IP address, a user agent):
        // the data held about this event, so part of the export. Without Lethe's own section: it names
        // the other subjects of the event (their pseudonyms are their personal data, not this subject's).
        JsonNode metadata = event.metadata().asTree().deepCopy();
        if (metadata instanceof ObjectNode object) {
            object.remove(PrivacyCodec.METADATA_KEY);
        }
        entry.set("metadata", metadata);
        ArrayNode redacted = entry.putArray("redacted");
        revealed.redactions().forEach(r -> {
            ObjectNode one = redacted.addObject()
                    .put("path", r.path())
                    .put("reason", r.reason().label());
            if (r.detail() != null) {
                one.put("detail", r.detail());
            }
        });
        // How long each of the subject's personal values is kept (Art. 15(1)(d)): until its period's retention
        // ends, when retention destroys its key; absent for a group the policy does not declare, and for a value
        // no longer kept (forgotten or expired: its key is destroyed).
        Set<String> gone = new java.util.HashSet<>();
        revealed.redactions().stream()
                .filter(r -> r.reason() == Redaction.Reason.FORGOTTEN || r.reason() == Redaction.Reason.EXPIRED)
                .forEach(r -> gone.add(r.path()));
        ObjectNode until = null;
        for (PrivacyCodec.SealedField field : sealed) {
            if (gone.contains(field.path())
                    || keys.isPeriodDestroyed(new KeyStore.PeriodRef(field.group(), field.period()))) {
                continue; // an expired period's, even when a missing subject key reads it "unavailable" first
            }
            Optional<Instant> end = keys.policy().knows(field.group())
                    ? keys.policy().expiresAt(field.group(), field.period())
                    : Optional.empty();
            if (end.isPresent()) {
                if (until == null) {
                    until = entry.putObject("retainedUntil");
                }
                String text = dev.lethe.core.store.InstantText.of(end.get());
                JsonNode earlier = until.get(field.path());
                if (earlier == null || earlier.asText().compareTo(text) > 0) {
                    until.put(field.path(), text); // a path in a list: its earliest
                }
            }
        }
        counter.count(event, revealed.redactions());
        return entry;
    }

    /**
     * What {@link #subjectsWithoutKeys} found: how many events were read, how many distinct subjects they
     * name, and those that have neither a key nor an erasure fence (their personal data cannot be read,
     * yet nobody forgot them: a key store restored from before they were created, or lost), with up to
     * {@code examples} of them.
     */
    public record LostSubjects(
            long events,
            int subjects,
            int lost,
            List<SubjectId> examples,
            int periods,
            List<String> lostPeriods,
            int lostWithReceipt,
            long unreadable) {
        public LostSubjects {
            examples = List.copyOf(examples);
            lostPeriods = List.copyOf(lostPeriods);
        }

        public LostSubjects(long events, int subjects, int lost, List<SubjectId> examples) {
            this(events, subjects, lost, examples, 0, List.of(), 0, 0);
        }
    }

    /**
     * Reads the whole log and checks every subject its events name against the key store, reporting the
     * number of events read to {@code progress} after each page. Changes nothing.
     */
    public LostSubjects subjectsWithoutKeys(int examples, java.util.function.LongConsumer progress) {
        Set<SubjectId> named = new java.util.HashSet<>();
        Set<dev.lethe.core.privacy.keys.KeyStore.PeriodRef> periods = new java.util.HashSet<>();
        long events = 0;
        long unreadable = 0;
        for (long from = 0; ; ) {
            List<RecordedEvent> page = store.readAll(from, EventStore.MAX_READ_LIMIT, EventStore.PAGE_BYTES);
            for (RecordedEvent event : page) {
                try {
                    if (PrivacyCodec.hasRecord(event.metadata())) {
                        // Taken only when the whole event reads: one counted as unreadable adds nothing.
                        java.util.Collection<SubjectId> its =
                                PrivacyCodec.subjectsOf(event.metadata()).values();
                        List<dev.lethe.core.privacy.keys.KeyStore.PeriodRef> itsPeriods = new ArrayList<>();
                        PrivacyCodec.envelopeHeaders(
                                event,
                                (group, period) -> itsPeriods.add(
                                        new dev.lethe.core.privacy.keys.KeyStore.PeriodRef(group, period)));
                        named.addAll(its);
                        for (var ref : itsPeriods) {
                            if (periods.size() < MAX_CHECKED_PERIODS) {
                                periods.add(ref);
                            }
                        }
                    }
                } catch (RuntimeException altered) {
                    unreadable++; // metadata altered on disk: a read reports the event as tampered
                }
            }
            events += page.size();
            progress.accept(events);
            if (!EventStore.mayContinue(page, EventStore.MAX_READ_LIMIT, EventStore.PAGE_BYTES)) {
                break;
            }
            from = page.get(page.size() - 1).position() + 1;
        }
        int lost = 0;
        int withReceipt = 0;
        List<SubjectId> some = new ArrayList<>();
        for (SubjectId subject : named) {
            if (!keys.isKnown(subject) && !keys.isForgotten(subject)) {
                lost++;
                if (!keys.receiptsOf(subject).isEmpty()) {
                    withReceipt++; // forgotten, and the fence lost since: keys.db damaged
                }
                if (some.size() < examples) {
                    some.add(subject);
                }
            }
        }
        // A period key neither live nor destroyed by retention: lost with an older or damaged keys.db. Its fields
        // read as unavailable, and a new value of that period would create a key they do not open under.
        Set<dev.lethe.core.privacy.keys.KeyStore.PeriodRef> live = new java.util.HashSet<>(keys.livePeriods());
        List<String> lostPeriods = periods.stream()
                .filter(ref -> !live.contains(ref) && !keys.isPeriodDestroyed(ref))
                .map(ref -> ref.group().name() + "/" + ref.period())
                .sorted()
                .toList();
        return new LostSubjects(events, named.size(), lost, some, periods.size(), lostPeriods, withReceipt, unreadable);
    }

    /** Distinct (group, period) pairs {@link #subjectsWithoutKeys} checks, at most (a period a day for 27 years). */
    static final int MAX_CHECKED_PERIODS = 10_000;

    /** How many of the newest events {@link #keysOlderThanLog} reads. */
    static final int RECENT_EVENTS_CHECKED = 256;

    /**
     * Whether {@code keys.db} looks older than {@code events.db}, from the newest {@value
     * #RECENT_EVENTS_CHECKED} events alone (cheap enough for every open): subjects they name that have
     * neither a key nor an erasure fence were created after the key store's copy was taken (a {@code keys.db}
     * restored alone from an older backup), or lost with it. Their personal data reads as unavailable. An
     * older {@code keys.db} whose missing subjects are all further back is not seen here: {@code lethe keys
     * check} reads the whole log ({@link #subjectsWithoutKeys}).
     */
    public Optional<String> keysOlderThanLog() {
        long head = store.headPosition();
        if (head < 0) {
            return Optional.empty();
        }
        Set<SubjectId> named = new java.util.HashSet<>();
        Set<KeyStore.PeriodRef> periods = new java.util.HashSet<>();
        List<RecordedEvent> recent = store.readAll(
                Math.max(0, head - RECENT_EVENTS_CHECKED + 1), RECENT_EVENTS_CHECKED, EventStore.PAGE_BYTES);
        for (RecordedEvent event : recent) {
            try {
                if (PrivacyCodec.hasRecord(event.metadata())) {
                    named.addAll(PrivacyCodec.subjectsOf(event.metadata()).values());
                    PrivacyCodec.envelopeHeaders(
                            event, (group, period) -> periods.add(new KeyStore.PeriodRef(group, period)));
                }
            } catch (RuntimeException altered) {
                // metadata altered on disk: a read reports the event as tampered, lethe keys check counts it; an
                // open must not fail on it
            }
        }
        long lost = named.stream()
                .filter(subject -> !keys.isKnown(subject) && !keys.isForgotten(subject))
                .count();
        Set<KeyStore.PeriodRef> live = periods.isEmpty() ? Set.of() : new java.util.HashSet<>(keys.livePeriods());
        Set<KeyStore.PeriodRef> lostPeriods = new java.util.TreeSet<>(java.util.Comparator.comparing(
                        (KeyStore.PeriodRef ref) -> ref.group().name())
                .thenComparing(KeyStore.PeriodRef::period));
        periods.stream()
                .filter(ref -> !live.contains(ref) && !keys.isPeriodDestroyed(ref))
                .forEach(lostPeriods::add);
        // No new key for those periods: new values would be sealed under a key the stored ones do not open under.
        keys.refuseNewKeysFor(lostPeriods);
        if (lost == 0 && lostPeriods.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of("keys.db is older than events.db: "
                + (lost == 0
                        ? ""
                        : lost + " of the " + named.size() + " subjects the newest " + recent.size()
                                + " events name have neither a key nor an erasure fence in keys.db")
                + (lost == 0 || lostPeriods.isEmpty() ? "" : ", and ")
                + (lostPeriods.isEmpty()
                        ? ""
                        : "key periods their fields are sealed in have neither a key nor a record of their expiry ("
                                + lostPeriods.stream()
                                        .limit(10)
                                        .map(ref -> ref.group().name() + "/" + ref.period())
                                        .collect(java.util.stream.Collectors.joining(", "))
                                + "; appends that need them are refused)")
                + " (restored alone from an older backup, or replaced, or damaged). Their personal data reads as"
                + " unavailable, and new personal data cannot be sealed under their old keys. Restore keys.db and"
                + " events.db from one backup (docs/privacy.md §9, Restoring); lethe keys check reads the whole log");
    }

    /** Destroys every period key whose retention has ended at {@code now}, and runs scheduled forgets. */
    public List<KeyStore.PeriodRef> runRetention(Instant now, Principal actor) {
        return retention(now, actor).expired();
    }

    /**
     * What a retention run did: the period keys it destroyed, the scheduled forgets it carried out, and the
     * live period keys of groups the policy does not declare ({@code undeclared}), which no run destroys
     * (a group removed from the policy by hand): a DPO must hear of them.
     */
    public record RetentionReport(
            List<KeyStore.PeriodRef> expired, List<ErasureReceipt> forgotten, List<KeyStore.PeriodRef> undeclared) {}

    /**
     * Runs retention as of {@code now}: first the scheduled forgets that are due (erasure deadlines,
     * which a failing period key must not hold up), then the expiry of every period key whose retention
     * has ended. Audited as {@code RetentionRun}, a failed expiry included. Needs {@code rotate-keys}
     * (the in-process {@link RetentionScheduler} excepted): a {@code now} ahead of the clock destroys
     * keys early.
     *
     * @throws AccessDeniedException the actor's role lacks {@code rotate-keys}
     * @throws dev.lethe.core.store.StorageException the storage failed, or the log refuses writes for good
     */
    public RetentionReport retention(Instant now, Principal actor) {
        return retention(now, actor, false);
    }

    /**
     * How far a retention run's {@code now} may be past the last run's (or, before any, the log's last
     * {@code recordedAt}) before it needs confirming: a clock set years ahead (a wrong date, a test's fake
     * time) would destroy period keys whose retention has not ended, and carry out scheduled forgets early,
     * for good. 100 days: a run each hour, day, month or quarter (92 days at most between two, plus its
     * jitter) passes; a store left stopped longer waits for someone to confirm the clock.
     */
    public static final java.time.Duration RETENTION_LEAP = java.time.Duration.ofDays(100);

    /**
     * {@link #RETENTION_LEAP} after {@code reference}, or the end of time when that is past it (a run as of
     * {@code Instant.MAX}, "for ever", must not make every later run fail on the sum).
     */
    private static Instant leapFrom(Instant reference) {
        return reference.isAfter(Instant.MAX.minus(RETENTION_LEAP)) ? Instant.MAX : reference.plus(RETENTION_LEAP);
    }

    static final String RETENTION_NOTE = "retention:last-run";

    /**
     * Runs retention as {@link #retention(Instant, Principal)} does (which takes {@code now} as meant: a test
     * of time, an operator's {@code --now}); with {@code nowFromClock}, {@code now} is the clock's, and a
     * {@code now} more than {@link #RETENTION_LEAP} past the last run is refused, destroying nothing
     * ({@link RetentionClockException}): the {@link RetentionScheduler} and {@code lethe retention run}
     * without {@code --now} or {@code --yes} run so.
     */
    public RetentionReport retention(Instant now, Principal actor, boolean nowFromClock) {
        return retention(now, actor, nowFromClock, (done, due) -> {});
    }

    /**
     * As {@link #retention(Instant, Principal, boolean)}; {@code progress} hears (scheduled forgets carried
     * out, scheduled forgets due) after each one.
     */
    public RetentionReport retention(
            Instant now, Principal actor, boolean nowFromClock, java.util.function.BiConsumer<Long, Long> progress) {
        requireRetention(actor, now);
        requireWritable();
        if (nowFromClock) {
            Optional<Instant> noted = keys.note(RETENTION_NOTE).map(Instant::parse);
            Optional<Instant> reference = noted.or(this::lastRecordedAt);
            if (reference.isPresent() && now.isAfter(leapFrom(reference.get()))) {
                if (noted.isEmpty()) {
                    // Kept: events appended meanwhile under the same clock must not make it look right.
                    keys.setNote(RETENTION_NOTE, reference.get().toString());
                }
                throw new RetentionClockException(now, reference.get(), noted.isPresent());
            }
        }
        writePendingReceipts();
        List<Long> malformed = new ArrayList<>();
        // In a copy that may not forget (refuseForgets), the due forgets wait; expiry runs all the same.
        List<ErasureReceipt> forgotten =
                forgetRefused == null ? scheduledForgets(now, actor, malformed, progress) : List.of();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("now", now.toString());
        details.put("scheduledForgets", forgotten.size());
        if (forgetRefused != null) {
            details.put("scheduledForgetsSkipped", "this copy may not forget: " + forgetRefused);
            LOG.log(System.Logger.Level.WARNING, "retention: scheduled forgets not run here: " + forgetRefused);
        }
        if (!malformed.isEmpty()) {
            // Versions in $erasures of entries that were skipped: a DPO should look at them.
            details.put("malformedSchedules", malformed);
        }
        List<KeyStore.PeriodRef> expired;
        List<KeyStore.PeriodRef> due = List.of();
        try {
            due = keys.duePeriods(now);
            if (!due.isEmpty()) {
                // Intent first: a run stopped after destroying keys must still have named them.
                audit.record(
                        "RetentionStarted",
                        actor,
                        Map.of(
                                "now",
                                now.toString(),
                                "duePeriods",
                                due.stream()
                                        .map(p -> p.group() + "/" + p.period())
                                        .toList()));
            }
            expired = keys.expire(now);
        } catch (RuntimeException e) {
            // Those destroyed before the failure (or all of them, when only the scrub after failed) are named;
            // a key store that cannot say leaves them out rather than hide the first error.
            try {
                details.put(
                        "expiredPeriods",
                        due.stream()
                                .filter(keys::isPeriodDestroyed)
                                .map(p -> p.group() + "/" + p.period())
                                .toList());
            } catch (RuntimeException unknown) {
                e.addSuppressed(unknown);
            }
            details.put("expiryFailed", e.getMessage());
            audit.record("RetentionRun", actor, details);
            throw e;
        }
        details.put(
                "expiredPeriods",
                expired.stream().map(p -> p.group() + "/" + p.period()).toList());
        List<KeyStore.PeriodRef> undeclared = keys.periodExpiries().stream()
                .filter(key -> !key.declared())
                .map(KeyService.PeriodExpiry::key)
                .toList();
        if (!undeclared.isEmpty()) {
            List<String> names =
                    undeclared.stream().map(p -> p.group() + "/" + p.period()).toList();
            details.put("undeclaredPeriods", names);
        }
        audit.record("RetentionRun", actor, details);
        // What the next run as of the clock is compared with. A run as of an instant past the clock (destroying
        // early on purpose: --now T --yes, a test of time) is no reading of the clock: the clock's instant is noted
        // instead, so that a clock set years ahead later is still refused (a run "as of for ever" noted would
        // have let every later leap through).
        Instant clockNow = clock.instant();
        Instant reached = now.isAfter(clockNow) ? clockNow : now;
        if (keys.note(RETENTION_NOTE)
                .map(Instant::parse)
                .map(last -> last.isBefore(reached))
                .orElse(true)) {
            keys.setNote(RETENTION_NOTE, reached.toString());
        }
        return new RetentionReport(expired, forgotten, undeclared);
    }

    /**
     * Moves what a run as of the clock is compared with ({@link #RETENTION_LEAP}) up to the log's last
     * {@code recordedAt}, when that is later but not by more than the leap itself: called as a writer opens,
     * before this process appends under its clock — so that a store appended to for months without a retention
     * run is not refused (each open moves it a little), while events appended under a clock set years ahead
     * do not count, in this process or after a restart under the same clock (a jump is never taken). Does
     * nothing when the store may not be written.
     */
    public void noteRetentionReference() {
        if (store.writeRefusal().isPresent()) {
            return;
        }
        Optional<Instant> noted = keys.note(RETENTION_NOTE).map(Instant::parse);
        lastRecordedAt()
                .filter(last -> noted.map(reference -> last.isAfter(reference) && !last.isAfter(leapFrom(reference)))
                        .orElse(true))
                .ifPresent(last -> keys.setNote(RETENTION_NOTE, last.toString()));
    }

    /** The {@code recordedAt} of the log's last event, if any. */
    private Optional<Instant> lastRecordedAt() {
        long head = store.headPosition();
        return head < 0
                ? Optional.empty()
                : store.readAll(head, 1).stream().findFirst().map(RecordedEvent::recordedAt);
    }

    /**
     * A retention run refused because its {@code now} is far past the last run: the clock may be wrong, and
     * what a run destroys cannot be undone. Nothing was destroyed.
     */
    public static final class RetentionClockException extends dev.lethe.core.store.LetheException {
        RetentionClockException(Instant now, Instant reference, boolean fromLastRun) {
            super("retention run as of " + now + " refused: it is more than " + RETENTION_LEAP.toDays()
                    + " days after "
                    + (fromLastRun
                            ? "the last instant this store's retention knows (its last run, or the log's last"
                                    + " event when a writer opened it: "
                            : "the last event the store recorded (")
                    + reference + "), and a clock set ahead would destroy period keys whose retention has not"
                    + " ended, for good; scheduled forgets wait too. Check the clock; if it is right, confirm"
                    + " with lethe retention run --yes (stop the process that writes the data directory first,"
                    + " a lethe serve, and start it again after), or in Java run retention(now, actor) with that"
                    + " instant given on purpose");
        }

        @Override
        public boolean isTransient() {
            return false;
        }
    }

    private volatile String rotationRefused;

    /**
     * Refuses every later {@link #rotateMasterKey} and {@link #moveMasterKey} with {@code why}: the engine
     * found that changing this master key would cut off another store that shares it (a copy of this one).
     */
    public void refuseRotation(String why) {
        this.rotationRefused = why;
    }

    private volatile String forgetRefused;

    /**
     * Refuses every later forget ({@link #forget}, scheduled forgets when they run, {@link #forgetAgain})
     * with {@code why}: the engine found this directory to be a copy of a store that still exists and
     * writes the same receipt journal, which would carry the copy's forgets into that store. Forgets
     * applied again from the trail or the journal as the store opens are not refused.
     */
    public void refuseForgets(String why) {
        this.forgetRefused = why;
    }

    /** Why forgets are refused in this store ({@link #refuseForgets}), if they are. */
    public Optional<String> forgetRefusal() {
        return Optional.ofNullable(forgetRefused);
    }

    /**
     * The legal basis a forget applied again records: the one recorded before, unless it is blank, or holds
     * what a new forget's basis may not (an e-mail address, an IBAN: a receipts file or journal is text anyone
     * may have edited, and the audit trail keeps it for good), or is too long; then a reference to its receipt.
     */
    static String reappliedBasis(String recorded, String receipt) {
        return reappliedNote(recorded, "as forgotten before (receipt " + receipt + ")", "legal basis");
    }

    /**
     * The name of who scheduled or cancelled, applied again: as recorded if a principal could have it (an
     * e-mail address can be a principal's name: JWT subjects often are), else "unknown".
     */
    static String reappliedActor(String recorded) {
        if (recorded == null || recorded.isBlank() || recorded.equals("?")) {
            return "?";
        }
        try {
            new Principal(recorded, "any");
            return recorded;
        } catch (InvalidEventException notAName) {
            // A name an earlier release took ("ops" and a variation selector, "ops "): escaped, so that who it was
            // stays told apart.
            try {
                return new Principal(Invisible.escaped(recorded), "any").name();
            } catch (InvalidEventException stillNot) {
                return "unknown (the name recorded is not repeated: it held control or invisible characters, or was"
                        + " too long)";
            }
        }
    }

    /**
     * A note (a legal basis, a reason) of something applied again from text anyone may have
     * edited: as recorded if a new one would pass; else {@code instead}, saying the {@code what} is not
     * repeated.
     */
    static String reappliedNote(String recorded, String instead, String what) {
        if (recorded == null || recorded.isBlank()) {
            return instead;
        }
        if (recorded.length() > Notes.MAX_CHARS
                || Notes.hasHiddenCharacters(recorded)
                || dev.lethe.core.privacy.policy.PolicyLinter.personalDataInNote(recorded)
                        .isPresent()) {
            return instead + "; its " + what + " is not repeated: it looked like personal data, held control"
                    + " characters, or was too long";
        }
        return recorded;
    }

    /**
     * Refuses a note that holds an e-mail address or an IBAN: a legal basis or reason is kept for good
     * (the receipt, {@code $audit}, which every role reads and no forget reaches), and the person forgotten
     * is the one most likely to be named in it. Phone numbers are not looked for: dates and ticket numbers
     * would read as ones.
     */
    private static void requireNoPersonalData(String what, String note) {
        if (note == null) {
            return;
        }
        Notes.requirePlain(what, note);
        dev.lethe.core.privacy.policy.PolicyLinter.personalDataInNote(note).ifPresent(found -> {
            throw InvalidEventException.of(
                    what,
                    "holds " + found + ": it is kept for good (the erasure receipt, the audit trail every role"
                            + " reads, which no forget reaches); refer to the request by a ticket number instead");
        });
    }

    /** Words of a note looked up as natural keys by {@link #requireNoNaturalKey}, at most. */
    static final int NOTE_WORDS_LOOKED_UP = 64;

    /**
     * Refuses a legal basis or reason that holds a natural key some subject has (a customer number, as the
     * blind index knows it): kept for good in the receipt, the journal and the audit trail every role reads,
     * it would tie the pseudonym to the person again once the forget has deleted the index entry. The whole
     * text and each of its words are looked up — split at anything but letters, digits and {@code @ . _ + -},
     * those trimmed from both ends; four characters or more, six for a number (a ticket number beside short
     * customer numbers); as written, lower- and upper-cased; subject ids left out; the first {@value
     * #NOTE_WORDS_LOOKED_UP} — without creating a subject. Called only once the subject (or schedule) is known
     * to be one the operation applies to; a refusal is audited ({@code NoteRefused}: operation, field,
     * subject, actor, never the text), so that the check is no unaudited lookup. Never shows the key. A guard
     * against a key written in by habit, not against one disguised on purpose.
     */
    private void requireNoNaturalKey(String what, String note, String operation, SubjectId subject, Principal actor) {
        if (note == null || note.isBlank()) {
            return;
        }
        java.util.Set<String> words = new java.util.LinkedHashSet<>();
        words.add(note.strip());
        java.util.Set<String> looked = new java.util.HashSet<>();
        for (String word : note.split("[^\\p{L}\\p{N}@._+\\-]+")) {
            if (looked.size() >= NOTE_WORDS_LOOKED_UP) {
                break;
            }
            // As written (a phone number's '+', a key ending in '-'), and trimmed of those marks at both ends.
            String trimmed = word.replaceAll("^[@._+\\-]+|[@._+\\-]+$", "");
            boolean number = trimmed.chars().allMatch(Character::isDigit);
            if (trimmed.length() >= (number ? 6 : 4) && !SubjectId.looksLikeOne(trimmed) && looked.add(word)) {
                for (String form : List.of(word, trimmed)) {
                    words.add(form);
                    words.add(form.toLowerCase(java.util.Locale.ROOT));
                    words.add(form.toUpperCase(java.util.Locale.ROOT));
                }
            }
        }
        for (String word : words) {
            if (!SubjectId.looksLikeOne(word) && keys.lookup(word).isPresent()) {
                Map<String, Object> refused = new LinkedHashMap<>();
                refused.put("operation", operation);
                refused.put("field", what);
                refused.put("subject", subject.toString());
                refused.put("because", "holds a natural key of a data subject");
                audit.record("NoteRefused", actor, refused);
                throw InvalidEventException.of(
                        what,
                        "holds a natural key of a data subject (not shown: a word of it, as written or in lower or"
                                + " upper case, is one): it is kept for good (the erasure"
                                + " receipt, the audit trail every role reads, which no forget reaches) and would"
                                + " tie the pseudonym to the person again; refer to the request by a ticket number"
                                + " instead (one that equals a customer number: prefix it, T-1001). Nothing was done");
            }
        }
    }

    /**
     * A new forget's legal basis names something: at least two letters or digits ("." or "x" is no basis,
     * and the receipt is the evidence). Receipts stored before, and forgets applied again from them, are not
     * checked. Blank is refused where the forget is made, with its own message.
     */
    private static void requireNamedBasis(String legalBasis) {
        requireNoPersonalData("legal basis", legalBasis);
        if (legalBasis != null
                && !legalBasis.isBlank()
                && legalBasis.codePoints().filter(Character::isLetterOrDigit).count() < 2) {
            throw InvalidEventException.of(
                    "legal basis",
                    "names no legal basis: write the article and ground relied on, e.g. 'GDPR Art. 17(1)(a)'");
        }
    }

    private void checkForgetAllowed() {
        if (forgetRefused != null) {
            throw new ForgetRefusedException(forgetRefused);
        }
        requireWritable();
    }

    /**
     * Refuses a change of keys (a forget, a retention run, a rotation) while the log refuses appends for good:
     * its key-store half would be done and its audit entry refused, and another writer may hold the directory.
     */
    private void requireWritable() {
        Optional<String> refused = store.writeRefusal();
        if (refused.isPresent()) {
            throw StorageException.permanent(refused.get() + " (nothing was changed)", null);
        }
    }

    /** Why a change of the master key is refused in this store ({@link #refuseRotation}), if it is. */
    public Optional<String> masterKeyChangeRefusal() {
        return Optional.ofNullable(rotationRefused);
    }

    /**
     * Refuses {@code actor} a change of the master key (a rotation or a move) without the
     * {@code rotate-keys} permission, or in a store where the engine refused it ({@link #refuseRotation}).
     */
    public void checkMasterKeyChange(Principal actor) {
        require(actor, Permission.ROTATE_KEYS);
        if (rotationRefused != null) {
            throw InvalidEventException.of("master key change", rotationRefused);
        }
    }

    /** Re-wraps every live key under a new master epoch and destroys the old master. */
    public KeyService.Rotation rotateMasterKey(Principal actor) {
        return rotateMasterKey(actor, (done, total) -> {});
    }

    /** As {@link #rotateMasterKey(Principal)}; {@code progress} hears (keys re-wrapped, keys in all). */
    public KeyService.Rotation rotateMasterKey(Principal actor, java.util.function.BiConsumer<Long, Long> progress) {
        checkMasterKeyChange(actor);
        // Noted before it starts, so that a rotation a stop interrupts gets its closing entry at the next open
        // (auditInterruptedRotation): the epochs it began from, and who ran it.
        ObjectNode pending = JSON.createObjectNode();
        pending.put("principal", actor.name());
        pending.put("role", actor.role());
        ArrayNode from = pending.putArray("fromEpochs");
        keys.masterEpochs().forEach(epoch -> from.add(Integer.toUnsignedLong(epoch)));
        keys.setNote(ROTATION_UNAUDITED_NOTE, pending.toString());
        // Intent first: a rotation stopped half-way has destroyed nothing yet, or has, and is audited.
        audit.record("MasterKeyRotationStarted", actor, Map.of());
        KeyService.Rotation rotation = keys.rotateMaster(progress);
        try {
            audit.record(
                    "MasterKeyRotated",
                    actor,
                    Map.of(
                            "epoch",
                            Integer.toUnsignedLong(rotation.newEpoch()),
                            "rewrapped",
                            rotation.rewrapped(),
                            "destroyedEpochs",
                            rotation.destroyedEpochs().stream()
                                    .map(Integer::toUnsignedLong)
                                    .toList()));
        } catch (RuntimeException e) {
            // The rotation is done whatever the trail says (a close under way, a full disk): a failure here must not
            // read as "nothing changed", or the new keyset would not be copied away before the old one stops working.
            String why = "the master key was rotated (new epoch " + Integer.toUnsignedString(rotation.newEpoch())
                    + ", " + rotation.rewrapped() + " key(s) re-wrapped, the old epochs destroyed), but its"
                    + " MasterKeyRotated audit entry was not written: " + e.getMessage()
                    + " (the next open of the store writes it); copy the new keyset now wherever you keep one";
            throw e instanceof dev.lethe.core.store.LetheException lethe && lethe.isTransient()
                    ? dev.lethe.core.store.StorageException.transientFailure(why, e)
                    : dev.lethe.core.store.StorageException.permanent(why, e);
        }
        keys.setNote(ROTATION_UNAUDITED_NOTE, "");
        return rotation;
    }

    /**
     * The key-store note of a master key rotation under way: set before its {@code MasterKeyRotationStarted}
     * entry, cleared after its {@code MasterKeyRotated} one.
     */
    public static final String ROTATION_UNAUDITED_NOTE = "master-key-rotation-unaudited";

    /**
     * Closes in the audit trail a master key rotation that a stop interrupted, once the master key shows
     * nothing left to do (one live epoch): {@code MasterKeyRotated} {@code {epoch, rotatedBy, rotatedByRole,
     * recovered: true}} if it had changed the epoch, {@code MasterKeyRotationAbandoned} {@code {epoch,
     * rotatedBy, rotatedByRole, recovered: true}} if it was stopped before it changed anything. Without them
     * a backup would warn of a rotation under way for good. With more than one live epoch it is left open:
     * {@code lethe keys rotate} finishes it, and writes its own entries. The SQLite engine calls it on
     * every writer open; returns the entry written, if any.
     */
    public Optional<String> auditInterruptedRotation() {
        Optional<String> note = keys.note(ROTATION_UNAUDITED_NOTE).filter(n -> !n.isEmpty());
        List<Integer> live = keys.masterEpochs();
        // Not with a master key that does not open this key store (a keyset from before the rotation put
        // back, another token): its one epoch says nothing about what the rotation did. Left for a later open.
        if (note.isEmpty() || live.size() != 1 || keys.masterProblem().isPresent()) {
            return Optional.empty();
        }
        String latest =
                latestEntryOf(Set.of("MasterKeyRotationStarted", "MasterKeyRotated", "MasterKeyRotationAbandoned"));
        if (!"MasterKeyRotationStarted".equals(latest)) {
            // Stopped after its closing entry, or before its opening one: nothing is left open in the trail.
            keys.setNote(ROTATION_UNAUDITED_NOTE, "");
            return Optional.empty();
        }
        JsonNode pending;
        try {
            pending = JSON.readTree(note.get());
        } catch (java.io.IOException | RuntimeException notWrittenByLethe) {
            pending = JSON.createObjectNode();
        }
        long epoch = Integer.toUnsignedLong(live.get(0));
        boolean unchanged = false;
        for (JsonNode from : pending.path("fromEpochs")) {
            unchanged |= from.asLong() == epoch;
        }
        String type = unchanged ? "MasterKeyRotationAbandoned" : "MasterKeyRotated";
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("epoch", epoch);
        details.put("rotatedBy", pending.path("principal").asText("?"));
        details.put("rotatedByRole", pending.path("role").asText("?"));
        details.put("recovered", true);
        audit.record(type, Principal.SYSTEM, details);
        keys.setNote(ROTATION_UNAUDITED_NOTE, "");
        return Optional.of(type);
    }

    /**
     * Moves the master key: re-wraps every live key under {@code target} and sets {@code notes} in the
     * same key-store transaction (see {@link KeyService#rewrapUnder}); needs the {@code rotate-keys}
     * permission. Audited as {@code MasterKeyMoveStarted}, then {@code MasterKeyMoved} with where from,
     * where to and how many keys. Close this store afterwards: its own master key unwraps nothing.
     */
    public int moveMasterKey(MasterKey target, Map<String, String> notes, Principal actor) {
        return moveMasterKey(target, notes, actor, (done, total) -> {});
    }

    /** As {@link #moveMasterKey(MasterKey, Map, Principal)}; {@code progress} hears (keys re-wrapped, in all). */
    public int moveMasterKey(
            MasterKey target,
            Map<String, String> notes,
            Principal actor,
            java.util.function.BiConsumer<Long, Long> progress) {
        checkMasterKeyChange(actor);
        String from = keys.master().describe();
        String to = target.describe();
        audit.record("MasterKeyMoveStarted", actor, Map.of("from", from, "to", to));
        // Committed with the keys: a stop before MasterKeyMoved is written leaves it for the next open.
        Map<String, String> withPending = new LinkedHashMap<>(notes);
        ObjectNode pending = JSON.createObjectNode()
                .put("principal", actor.name())
                .put("role", actor.role())
                .put("from", from)
                .put("to", to);
        withPending.put(MOVE_UNAUDITED_NOTE, pending.toString());
        int moved = keys.rewrapUnder(target, withPending, progress);
        try {
            audit.record("MasterKeyMoved", actor, Map.of("from", from, "to", to, "rewrapped", moved));
            keys.setNote(MOVE_UNAUDITED_NOTE, "");
        } catch (RuntimeException e) {
            // The move is committed: report it as done. The note stays, and the next writer open writes the
            // entry (auditInterruptedMove), unless this one was written.
            System.getLogger(PrivateEventStore.class.getName())
                    .log(
                            System.Logger.Level.WARNING,
                            "master key moved, but its MasterKeyMoved audit entry was not confirmed (" + e.getMessage()
                                    + "); the next writer open writes it");
        }
        return moved;
    }

    /** The key-store note of a committed master-key move whose {@code MasterKeyMoved} entry is not written. */
    public static final String MOVE_UNAUDITED_NOTE = "master-key-move-unaudited";

    /**
     * Writes the {@code MasterKeyMoved} entry of a move that a stop interrupted after its keys were
     * committed and before its entry was written, with {@code recovered: true} and without the count of
     * keys (not known any more); returns whether there was one. The SQLite engine calls it on every
     * writer open.
     */
    public boolean auditInterruptedMove() {
        Optional<String> note = keys.note(MOVE_UNAUDITED_NOTE).filter(n -> !n.isEmpty());
        if (note.isEmpty()) {
            return false;
        }
        JsonNode pending;
        try {
            pending = JSON.readTree(note.get());
        } catch (java.io.IOException | RuntimeException notWrittenByLethe) {
            pending = JSON.createObjectNode();
        }
        if (moveAudited()) {
            keys.setNote(MOVE_UNAUDITED_NOTE, ""); // stopped after the entry, before the note was cleared
            return false;
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("from", pending.path("from").asText("?"));
        details.put("to", pending.path("to").asText("?"));
        details.put("movedBy", pending.path("principal").asText("?"));
        details.put("movedByRole", pending.path("role").asText("?"));
        details.put("recovered", true);
        audit.record("MasterKeyMoved", Principal.SYSTEM, details);
        keys.setNote(MOVE_UNAUDITED_NOTE, "");
        return true;
    }

    /** Whether the audit trail's latest move entry is a {@code MasterKeyMoved} (read from its end). */
    private boolean moveAudited() {
        return "MasterKeyMoved".equals(latestEntryOf(Set.of("MasterKeyMoved", "MasterKeyMoveStarted")));
    }

    /** The type of the audit trail's latest entry of one of {@code types} (read from its end), or null. */
    private String latestEntryOf(Set<String> types) {
        StreamInfo trail = store.streamInfo(AuditLog.STREAM);
        if (!trail.exists()) {
            return null;
        }
        for (long before = trail.eventCount() - 1; before >= 0; ) {
            List<RecordedEvent> page =
                    store.readStream(AuditLog.STREAM, before, Direction.BACKWARD, EventStore.MAX_READ_LIMIT);
            for (RecordedEvent entry : page) {
                if (types.contains(entry.type())) {
                    return entry.type();
                }
            }
            if (page.isEmpty()) {
                return null;
            }
            before = page.get(page.size() - 1).version() - 1;
        }
        return null;
    }

    private List<RecordedEvent> readAll(StreamId stream) {
        List<RecordedEvent> out = new ArrayList<>();
        for (long from = 0; ; ) {
            List<RecordedEvent> page = store.readStream(stream, from, Direction.FORWARD, EventStore.MAX_READ_LIMIT);
            out.addAll(page);
            if (page.size() < EventStore.MAX_READ_LIMIT) {
                return out;
            }
            from += page.size();
        }
    }

    private void require(Principal actor, Permission permission) {
        require(actor, permission, permission.label());
    }

    private void require(Principal actor, Permission permission, String what) {
        if (actor == null) {
            throw InvalidEventException.of("actor", "is missing: every governed call names its principal");
        }
        if (!keys.policy().may(actor, permission)) {
            throw new AccessDeniedException(actor, what);
        }
    }

    /**
     * Notes the audit trail's end as checked, without reading it: every {@code SubjectForgotten} entry
     * this process wrote follows a forget committed in this key store. The SQLite engine calls it as a
     * writer closes, so that the next open reads only what was written after.
     */
    public void noteForgetsChecked() {
        StreamInfo trail = store.streamInfo(AuditLog.STREAM);
        if (trail.exists()) {
            keys.setNote(FORGETS_CHECKED_NOTE, Long.toString(trail.eventCount()));
        }
        // And how far the log went: a copy put back later is older when its head is below this.
        noteHead(headSeen());
    }

    /** Waits for forgets in progress first ({@link #stopForgets}, {@link #FORGETS_CLOSE_WAIT} at most). */
    @Override
    public void close() {
        if (!gaveUpOnForgets) {
            stopForgets(FORGETS_CLOSE_WAIT);
        }
        replay.close();
        // The store first: it drains appends in flight, whose completions may still use the key store.
        store.close();
        keys.close();
    }
}
