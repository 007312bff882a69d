package dev.lethe.protobuf;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor.JavaType;
import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.FieldRule;
import dev.lethe.core.privacy.PrivacySchema;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.protobuf.GdprOptions.Gdpr;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads the privacy model from Protobuf custom field options, the third notation beside
 * {@link dev.lethe.core.privacy.schema.AnnotationNotation} and
 * {@link dev.lethe.core.privacy.schema.JsonSchemaNotation}:
 *
 * <pre>{@code
 * extend google.protobuf.FieldOptions { GDPRCompliance gdpr = 51234; }
 * message GDPRCompliance { bool key = 1; bool pii = 2; string dataGrouping = 3; }
 * message MyMessage {
 *   string email = 1 [(gdpr) = {pii: true, key: true}];
 *   string name = 2 [(gdpr) = {pii: true, dataGrouping: "clientaggregate"}];
 * }
 * }</pre>
 *
 * <p>Guaranteed:
 *
 * <ul>
 *   <li>The option is the extension numbered 51234 of {@code google.protobuf.FieldOptions} that the
 *       message's file or its imports declare, whatever its package and name; it must be a message
 *       with {@code bool key}, {@code bool pii} and {@code string dataGrouping}. No generated class
 *       is needed.
 *   <li>A field with the option gets a rule: personal if {@code pii}, the subject's key if
 *       {@code key}, of group {@code dataGrouping}; a personal field without one is of
 *       {@link DataGroup#DEFAULT}. A field without the option is not personal.
 *   <li>Paths use the proto field names as written ({@code purchase_value}), at every depth, joined by
 *       {@code .} through singular message fields ({@code customer.shipping_address.city}), as
 *       {@link dev.lethe.core.privacy.schema.JsonSchemaNotation} joins nested properties. Events must be
 *       stored as JSON with those names, e.g. by {@code JsonFormat.printer().preservingProtoFieldNames()},
 *       not JSON names (an append naming a classified field by its JSON name, lowerCamelCase or a
 *       {@code json_name} option, is refused, strict mode or not, when the registration's source is
 *       {@link #source}). The reader goes into a message field only if its type, at some
 *       depth, gives a field the option; a type used by several fields is read once for each.
 *   <li>A message, list or map field whose option says {@code pii} is one rule: its whole JSON value is
 *       sealed, and the rules its type declares do not apply inside it (the field's option governs, and
 *       the event's own key field owns it). An option without {@code pii} on a message field is only a
 *       label, and the reader still goes inside.
 *   <li>A {@code key} must be a string or number in JSON: a scalar field, or a well-known type that
 *       prints as one ({@code google.protobuf.StringValue}, {@code Timestamp}, …); a key on a message,
 *       list or map field is refused. A key nested in a message field is a path like any other
 *       ({@code customer.customer_id}).
 *   <li>Bad input is an {@link InvalidEventException} naming the problem: bytes that are not a
 *       descriptor set, an unknown message, a file whose imports the set lacks, a malformed option, a key
 *       that is not a scalar, and classified fields inside a repeated or map field, which no path can
 *       name. A message type that contains itself (directly or through others) is not entered when
 *       nothing in it is classified; when something is, its paths would have no end, so it is refused
 *       (rather than cut at an arbitrary depth) naming the field that closes the cycle. Classifying
 *       that field {@code pii} seals it whole and breaks the cycle.
 * </ul>
 *
 * <p>Deliberately not: the seed's option has no {@code subject}; with several key fields a personal
 * field's owner is taken from the structure ({@link #read(String, Descriptor)}), and a field the
 * structure cannot tell is refused (the other notations name it). Nothing checks event
 * data against the message. {@code .proto} text is not read: protobuf-java cannot parse it at run time,
 * so compile it to a descriptor set first.
 */
public final class ProtobufNotation {
    private ProtobufNotation() {}

    /**
     * Reads a message of a descriptor set written by {@code protoc --descriptor_set_out=FILE
     * --include_imports}; its files are registered at run time.
     *
     * @param messageFullName the message's full name, package included ({@code lethe.example.MyMessage})
     */
    public static PrivacySchema read(String eventType, byte[] fileDescriptorSet, String messageFullName) {
        return readFound(
                eventType,
                DescriptorSets.findMessageToRegister(subject(eventType), fileDescriptorSet, messageFullName));
    }

    /**
     * Reads a message whose descriptor is at hand, e.g. {@code MyMessage.getDescriptor()} of a generated class.
     * An extension of it that carries the gdpr option is refused when its file, or one that file imports,
     * declares it (extensions declared in files importing the message's cannot be seen from its descriptor).
     */
    public static PrivacySchema read(String eventType, Descriptor message) {
        if (message == null) {
            throw InvalidEventException.of(subject(eventType), "no message descriptor given");
        }
        com.google.protobuf.DescriptorProtos.FileDescriptorSet.Builder set =
                com.google.protobuf.DescriptorProtos.FileDescriptorSet.newBuilder();
        addWithImports(message.getFile(), new HashSet<>(), set);
        DescriptorSets.findMessageToRegister(
                subject(eventType), set.build().toByteArray(), message.getFullName()); // its refusals only
        return readFound(eventType, message);
    }

    private static PrivacySchema readFound(String eventType, Descriptor message) {
        Reader reader = new Reader(eventType, GdprOptions.declaredFor(subject(eventType), message));
        reader.collect(message, "");
        return new PrivacySchema(eventType, owned(eventType, reader.rules));
    }

    /**
     * The messages {@code bytes} declares when they read as a Protobuf descriptor set ({@code protoc
     * --descriptor_set_out}); empty when they do not: for a caller that expected another notation to say what
     * was given instead.
     */
    public static List<String> messagesIfDescriptorSet(byte[] bytes) {
        return DescriptorSets.messagesIfDescriptorSet(bytes);
    }

    /**
     * Every field path of a message in a descriptor set, classified or not, nested messages included
     * (not lists, maps or recursive messages, nor well-known types such as {@code Timestamp}, whose JSON
     * is not an object of their fields): the fields the policy linter looks at.
     */
    public static List<String> allPaths(String eventType, byte[] fileDescriptorSet, String messageFullName) {
        return allPaths(DescriptorSets.findMessage(subject(eventType), fileDescriptorSet, messageFullName));
    }

    /**
     * The path of every field a message declares, as {@link #allPaths(String, byte[], String)}, from a
     * descriptor at hand (the companion of {@link #read(String, Descriptor)}).
     */
    public static List<String> allPaths(Descriptor message) {
        if (message == null) {
            throw InvalidEventException.of("Protobuf message", "no message descriptor given");
        }
        List<String> out = new ArrayList<>();
        paths(message, "", new HashSet<>(), out);
        return out;
    }

    /**
     * The fields of a registered message where Lethe reads no classification: those of the messages in a
     * repeated field's elements ({@code contacts[].email}) or a map's values ({@code byId.*.email}), nested
     * ones included. A classification there makes the registration fail; without one they are stored in
     * plaintext whatever their names say. Each as {path, where it is}, for the policy linter; none for a
     * source that is not a Protobuf registration's.
     */
    public static List<String[]> unreadMembers(Json source) {
        com.fasterxml.jackson.databind.JsonNode tree = source.asTree();
        if (!tree.path("descriptorSet").isTextual() || !tree.path("message").isTextual()) {
            return List.of();
        }
        byte[] set = Base64.getDecoder().decode(tree.path("descriptorSet").asText());
        String subject = "Protobuf message " + tree.path("message").asText();
        Descriptor message =
                DescriptorSets.findMessage(subject, set, tree.path("message").asText());
        List<String[]> out = new ArrayList<>();
        try {
            // Registered by an earlier release, which took what a registration now refuses (an extension
            // marked personal, the message declared by two files): said, so that it is registered again.
            DescriptorSets.findMessageToRegister(
                    subject, set, tree.path("message").asText());
        } catch (InvalidEventException refusedNow) {
            out.add(new String[] {refusedNow.getMessage(), REFUSED_NOW});
        }
        unreadMembers(message, new Bounds(message.getFullName()), out);
        return out;
    }

    /**
     * The {@code where} of an {@link #unreadMembers} entry whose first element is the refusal a registration of
     * the stored source would meet now (it was registered by an earlier release).
     */
    public static final String REFUSED_NOW = "a registration this release refuses";

    /**
     * The {@code where} of an {@link #unreadMembers} entry for a list or map whose messages hold more fields
     * than {@link #MAX_PATHS} or nest deeper than {@link #MAX_DEPTH} (registration does not walk them): not
     * looked into, which the linter reports whatever the list's name.
     */
    public static final String TOO_LARGE = "a list or map too large to look into";

    /** The most members {@link #unreadMembers} lists for one message, all its lists together. */
    static final int MAX_UNREAD_MEMBERS = 50_000;

    /** The most characters of paths {@link #unreadMembers} walks for one message, kept or not. */
    static final long MAX_UNREAD_CHARS = 4_000_000;

    /** The walk into a message's lists has spent its budget. */
    private static final class BudgetSpent extends RuntimeException {
        BudgetSpent() {
            super(null, null, false, false);
        }
    }

    private static void unreadMembers(Descriptor message, Bounds bounds, List<String[]> out) {
        boolean[] exhausted = {false};
        long[] spent = {0};
        walk(
                message,
                "",
                new HashSet<>(),
                (path, field) -> {
                    if (field.getJavaType() != JavaType.MESSAGE || !field.isRepeated()) {
                        return;
                    }
                    Descriptor element = field.getMessageType();
                    String where = "a list's items";
                    String prefix = path + "[].";
                    if (field.isMapField()) {
                        FieldDescriptor value = element.findFieldByName("value");
                        if (value.getJavaType() != JavaType.MESSAGE) {
                            return; // map<string, string>: its own name is all there is to read
                        }
                        element = value.getMessageType();
                        where = "a map's values";
                        prefix = path + ".*.";
                    }
                    if (WellKnownTypes.hasOwnJson(element)) {
                        return;
                    }
                    String in = where;
                    if (exhausted[0]) {
                        return; // past the budget of the whole message: said once, at the first list left out
                    }
                    // Everything inside, lists in lists too: none of it can be classified. Each list counted on
                    // its own, so that one too large to walk does not hide the others, within a budget for the
                    // whole message (a type used in many lists of many fields multiplies them).
                    List<String[]> inside = new ArrayList<>();
                    try {
                        walk(
                                true,
                                element,
                                prefix,
                                new HashSet<>(),
                                (inner, innerField) -> {
                                    // Every path walked counts, kept or not: long names nested deep make long paths.
                                    spent[0] += inner.length();
                                    if (spent[0] > MAX_UNREAD_CHARS) {
                                        throw new BudgetSpent();
                                    }
                                    inside.add(new String[] {inner, in});
                                },
                                new Bounds(message.getFullName()));
                    } catch (BudgetSpent spentAll) {
                        out.add(new String[] {path + " (and the lists after it)", TOO_LARGE});
                        exhausted[0] = true;
                        return;
                    } catch (InvalidEventException tooLarge) {
                        out.add(new String[] {path, TOO_LARGE});
                        return;
                    }
                    if (out.size() + inside.size() > MAX_UNREAD_MEMBERS) {
                        out.add(new String[] {path + " (and the lists after it)", TOO_LARGE});
                        exhausted[0] = true;
                        return;
                    }
                    out.addAll(inside);
                },
                bounds);
    }

    /**
     * What a Protobuf registration stores as its source: the message's name, the files of the descriptor set
     * it needs (its own and those it imports; base64) and the JSON names that differ from protoc's default lowerCamelCase (custom {@code json_name}
     * options), by proto path. {@link dev.lethe.core.privacy.SchemaRegistry} refuses an append that
     * names a classified field by its JSON name, default or custom, and needs the custom ones from here.
     */
    public static Json source(String eventType, byte[] fileDescriptorSet, String messageFullName) {
        Descriptor message = DescriptorSets.findMessage(subject(eventType), fileDescriptorSet, messageFullName);
        Map<String, Object> source = new LinkedHashMap<>();
        source.put("message", messageFullName);
        // Only the files the message needs: a set written for a whole proto tree may be many times larger.
        source.put(
                "descriptorSet",
                Base64.getEncoder()
                        .encodeToString(
                                DescriptorSets.filesOf(subject(eventType), fileDescriptorSet, messageFullName)));
        source.put("jsonNames", customJsonNames(message));
        source.put("shapes", shapes(message));
        return Json.of(source);
    }

    /**
     * The JSON shape of each field at the paths {@link #allPaths(Descriptor)} walks, by kind: {@code scalar}, never
     * an object nor a list (singular scalars, enums, and the well-known types written as a string or a number, such
     * as {@code Timestamp}); {@code object} (singular messages whose JSON is the object of their fields, and maps);
     * {@code list} (repeated fields). Strict mode refuses a value of another shape
     * ({@link dev.lethe.core.privacy.SchemaRegistry}): it is not Protobuf JSON for the field, and what it held
     * would be stored as written, its names never checked. {@code Struct}, {@code Value}, {@code ListValue},
     * {@code Any} and {@code Empty} are in none.
     */
    static Map<String, List<String>> shapes(Descriptor message) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        out.put("scalar", new ArrayList<>());
        out.put("object", new ArrayList<>());
        out.put("list", new ArrayList<>());
        walk(message, "", new HashSet<>(), (path, field) -> {
            if (WellKnownTypes.isJsonScalar(field)) {
                out.get("scalar").add(path);
            } else if (field.isMapField()
                    || (!field.isRepeated() && !WellKnownTypes.hasOwnJson(field.getMessageType()))) {
                out.get("object").add(path);
            } else if (field.isRepeated()) {
                out.get("list").add(path);
            }
        });
        return out;
    }

    /**
     * {@code source}, or {@code earlier} (the type's latest registered source) where that one — stored by an
     * earlier release, with the whole descriptor set — says the same: the same message, the same files it needs,
     * the same custom JSON names. So that registering an unchanged type again after an upgrade records no new
     * version.
     */
    public static Json sameAsEarlier(Json source, Optional<Json> earlier) {
        if (earlier.isEmpty()) {
            return source;
        }
        try {
            com.fasterxml.jackson.databind.JsonNode now = source.asTree();
            com.fasterxml.jackson.databind.JsonNode before = earlier.get().asTree();
            String message = now.path("message").asText();
            // An earlier release's source has no shapes (taken from the same files, they add nothing new): an
            // unchanged type keeps its version, and its events go without that check, as before.
            if (!message.equals(before.path("message").asText(null))
                    || !now.path("jsonNames").equals(before.path("jsonNames"))
                    || !before.path("descriptorSet").isTextual()) {
                return source;
            }
            byte[] needed = DescriptorSets.filesOf(
                    "schema",
                    Base64.getDecoder().decode(before.path("descriptorSet").asText()),
                    message);
            return java.util.Arrays.equals(
                            needed,
                            Base64.getDecoder().decode(now.path("descriptorSet").asText()))
                    ? earlier.get()
                    : source;
        } catch (RuntimeException unreadable) {
            return source; // an earlier source that does not read: the new one is registered
        }
    }

    /**
     * {@link #source(String, byte[], String)} from a descriptor at hand ({@code MyMessage.getDescriptor()}
     * of a generated class): the descriptor set holds its file and every file it imports.
     */
    public static Json source(String eventType, Descriptor message) {
        if (message == null) {
            throw InvalidEventException.of(subject(eventType), "no message descriptor given");
        }
        com.google.protobuf.DescriptorProtos.FileDescriptorSet.Builder set =
                com.google.protobuf.DescriptorProtos.FileDescriptorSet.newBuilder();
        addWithImports(message.getFile(), new HashSet<>(), set);
        return source(eventType, set.build().toByteArray(), message.getFullName());
    }

    /** Imports first, each file once, as protoc --include_imports writes them. */
    private static void addWithImports(
            com.google.protobuf.Descriptors.FileDescriptor file,
            Set<String> added,
            com.google.protobuf.DescriptorProtos.FileDescriptorSet.Builder set) {
        if (!added.add(file.getName())) {
            return;
        }
        for (com.google.protobuf.Descriptors.FileDescriptor dependency : file.getDependencies()) {
            addWithImports(dependency, added, set);
        }
        set.addFile(file.toProto());
    }

    /**
     * The fields, at the paths of {@link #allPaths(Descriptor)}, whose JSON name is not protoc's default
     * lowerCamelCase of their name: proto path to JSON name ({@code "contact.email_address"} to
     * {@code "mail"} for {@code string email_address = 1 [json_name = "mail"]}).
     */
    public static Map<String, String> customJsonNames(Descriptor message) {
        Map<String, String> out = new TreeMap<>();
        walk(message, "", new HashSet<>(), (path, field) -> {
            if (!field.getJsonName().equals(SchemaRegistry.jsonName(field.getName()))) {
                out.put(path, field.getJsonName());
            }
        });
        return out;
    }

    private static void paths(Descriptor message, String prefix, Set<Descriptor> enclosing, List<String> out) {
        walk(message, prefix, enclosing, (path, field) -> out.add(path));
    }

    /**
     * How many field paths, and how deep, a message may have: a type used twice in each of a chain of
     * messages doubles its paths at every link (24 links, 16 million paths, in a 15 KB descriptor set).
     */
    static final int MAX_PATHS = 10_000;

    static final int MAX_DEPTH = 32;

    /** Visits every field at the paths {@link #allPaths(Descriptor)} describes. */
    private static void walk(
            Descriptor message,
            String prefix,
            Set<Descriptor> enclosing,
            java.util.function.BiConsumer<String, FieldDescriptor> visitor) {
        walk(message, prefix, enclosing, visitor, new Bounds(message.getFullName()));
    }

    private static void walk(
            Descriptor message,
            String prefix,
            Set<Descriptor> enclosing,
            java.util.function.BiConsumer<String, FieldDescriptor> visitor,
            Bounds bounds) {
        walk(false, message, prefix, enclosing, visitor, bounds);
    }

    /**
     * Visits every field under a message, nested messages included; with {@code intoLists}, through repeated
     * fields ({@code list[].member}) and maps' message values ({@code map.*.member}) too.
     */
    private static void walk(
            boolean intoLists,
            Descriptor message,
            String prefix,
            Set<Descriptor> enclosing,
            java.util.function.BiConsumer<String, FieldDescriptor> visitor,
            Bounds bounds) {
        enclosing.add(message);
        for (FieldDescriptor field : message.getFields()) {
            String path = prefix + field.getName();
            bounds.count(path);
            visitor.accept(path, field);
            if (field.getJavaType() != JavaType.MESSAGE || (field.isRepeated() && !intoLists)) {
                continue;
            }
            Descriptor inner = field.getMessageType();
            String next = path + (field.isRepeated() ? "[]." : ".");
            if (field.isMapField()) {
                FieldDescriptor value = inner.findFieldByName("value");
                if (value.getJavaType() != JavaType.MESSAGE) {
                    continue;
                }
                inner = value.getMessageType();
                next = path + ".*.";
            }
            if (!WellKnownTypes.hasOwnJson(inner) && !enclosing.contains(inner)) {
                walk(intoLists, inner, next, enclosing, visitor, bounds);
            }
        }
        enclosing.remove(message);
    }

    /** Counts the paths of one message as they are walked, and refuses past {@link #MAX_PATHS} or {@link #MAX_DEPTH}. */
    private static final class Bounds {
        private final String message;
        private int paths;

        Bounds(String message) {
            this.message = message;
        }

        void count(String path) {
            if (++paths > MAX_PATHS) {
                throw InvalidEventException.of(
                        "Protobuf message " + message,
                        "has more than " + MAX_PATHS + " field paths (message types used in several fields of"
                                + " several nested messages multiply them); Lethe does not register it");
            }
            if (path.chars().filter(c -> c == '.').count() >= MAX_DEPTH) {
                throw InvalidEventException.of(
                        "Protobuf message " + message,
                        "nests messages more than " + MAX_DEPTH + " deep (at "
                                + path.substring(0, Math.min(path.length(), 200)) + "…); Lethe does not register it");
            }
        }
    }

    /**
     * The rules with each personal field's owner made explicit when the message has several key fields.
     * The seed's option cannot name a field's subject, so it is taken from the structure: the key field of
     * the field's own message, else of the nearest enclosing one ({@code seller.full_name} is
     * {@code seller.customer_id}'s). A field with two key fields at that level, or none on its way to the
     * root, has no owner the message can tell: refused, rather than sealed under the first key field (a
     * forget of the other subject would leave it readable).
     */
    private static List<FieldRule> owned(String eventType, List<FieldRule> rules) {
        List<String> keys = rules.stream()
                .filter(FieldRule::subjectKey)
                .map(FieldRule::path)
                .toList();
        if (keys.size() < 2) {
            return rules; // one key owns everything, as in every notation
        }
        List<FieldRule> out = new ArrayList<>(rules.size());
        for (FieldRule rule : rules) {
            if (!rule.personal() || rule.subjectKey()) {
                out.add(rule);
                continue;
            }
            String owner = null;
            String scope = parentOf(rule.path());
            while (owner == null) {
                String level = scope;
                List<String> here =
                        keys.stream().filter(key -> parentOf(key).equals(level)).toList();
                if (here.size() > 1) {
                    throw ambiguous(eventType, rule.path(), here);
                }
                if (here.size() == 1) {
                    owner = here.get(0);
                } else if (scope.isEmpty()) {
                    throw ambiguous(eventType, rule.path(), keys);
                } else {
                    scope = parentOf(scope);
                }
            }
            out.add(new FieldRule(rule.path(), true, false, rule.group(), Optional.of(owner)));
        }
        return out;
    }

    private static String parentOf(String path) {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? "" : path.substring(0, dot);
    }

    private static InvalidEventException ambiguous(String eventType, String path, List<String> keys) {
        return InvalidEventException.of(
                subject(eventType) + " field " + path,
                "is personal, but the message has several key fields (" + String.join(", ", keys) + ") and the"
                        + " gdpr option cannot say whose it is: a forget of the other subjects would leave it"
                        + " readable. Give each data subject a message of its own holding its key and its personal"
                        + " fields (Party buyer; Party seller), or register the type from JSON Schema or a record,"
                        + " which name a field's subject");
    }

    private static String subject(String eventType) {
        return "schema " + eventType;
    }

    private static final class Reader {
        private final String eventType;
        private final GdprOptions options;
        private final List<FieldRule> rules = new ArrayList<>();
        private final Set<Descriptor> enclosing = new HashSet<>();
        private Bounds bounds;

        Reader(String eventType, GdprOptions options) {
            this.eventType = eventType;
            this.options = options;
        }

        void collect(Descriptor message, String prefix) {
            if (bounds == null) {
                bounds = new Bounds(message.getFullName());
            }
            enclosing.add(message);
            for (FieldDescriptor field : message.getFields()) {
                String path = prefix + field.getName();
                bounds.count(path);
                Optional<Gdpr> gdpr = options.of(field);
                gdpr.ifPresent(g -> rules.add(rule(field, path, g)));
                // A personal field is sealed whole, so its type's own rules cannot apply inside it;
                // an option that only labels the field leaves them in force.
                boolean sealedWhole = gdpr.map(Gdpr::pii).orElse(false);
                if (sealedWhole && field.getJavaType() == JavaType.MESSAGE) {
                    // Its key would be sealed with it, naming no subject: the whole value would go to another
                    // party's key (or to none), and a forget of its own subject would never reach it.
                    options.keyInside(field.getMessageType()).ifPresent(key -> {
                        throw InvalidEventException.of(
                                subject(eventType) + " field " + path,
                                "is personal and sealed whole, but its message holds a key field (" + key
                                        + "), which sealed with it names no subject: "
                                        + (field.isRepeated()
                                                ? "a list's elements cannot be classified one by one, so drop the"
                                                        + " key marking in its message (or give the list a message"
                                                        + " type of its own without one)"
                                                : "classify the fields inside " + path
                                                        + " instead (its key, its personal fields)"));
                    });
                }
                if (!sealedWhole
                        && field.getJavaType() == JavaType.MESSAGE
                        && options.classifiesAnything(field.getMessageType())) {
                    descend(field, path);
                }
            }
            enclosing.remove(message);
        }

        private void descend(FieldDescriptor field, String path) {
            Descriptor inner = field.getMessageType();
            if (field.isRepeated()) {
                // A map is a list of generated entry messages; name the value type the user wrote.
                Descriptor element =
                        field.isMapField() ? inner.findFieldByName("value").getMessageType() : inner;
                throw InvalidEventException.of(
                        subject(eventType),
                        "field " + path + " is a " + (field.isMapField() ? "map" : "list") + " of "
                                + element.getFullName() + ", whose classified fields no path can name; classify "
                                + path + " itself");
            }
            if (enclosing.contains(inner)) {
                throw InvalidEventException.of(
                        subject(eventType),
                        "field " + path + " nests "
                                + inner.getFullName()
                                + " in itself, so its classified fields have no last path; classify "
                                + path + " itself");
            }
            collect(inner, path + ".");
        }

        private FieldRule rule(FieldDescriptor field, String path, Gdpr gdpr) {
            if (gdpr.key() && !WellKnownTypes.isJsonScalar(field)) {
                throw InvalidEventException.of(
                        subject(eventType) + " field " + path,
                        "is a key but its JSON is "
                                + (field.isRepeated()
                                        ? "an array, which cannot name one subject"
                                        : "an object; mark a field inside it as the key")
                                + " (a data subject key must be a string or number)");
            }
            if (gdpr.key()
                    && !field.isRepeated()
                    && (field.getJavaType() == JavaType.BOOLEAN
                            || (field.getJavaType() == JavaType.MESSAGE
                                    && field.getMessageType().getFullName().equals("google.protobuf.BoolValue")))) {
                // true and false would each be one natural key: every event saying so, one person.
                throw InvalidEventException.of(
                        subject(eventType) + " field " + path,
                        "is a key but a bool, whose two values cannot each name one subject (a data subject key must"
                                + " be a string or number)");
            }
            if (gdpr.key() && !field.isRepeated() && field.getJavaType() == JavaType.ENUM) {
                // Each value would be one natural key: every customer of a tier, one person.
                throw InvalidEventException.of(
                        subject(eventType) + " field " + path,
                        "is a key but an enum (" + field.getEnumType().getFullName() + "), whose few values cannot"
                                + " each name one subject (a data subject key must be a string or number)");
            }
            try {
                return new FieldRule(
                        path, gdpr.pii(), gdpr.key(), gdpr.dataGrouping().map(DataGroup::of), Optional.empty());
            } catch (InvalidEventException e) {
                throw e.at(subject(eventType) + " field " + path);
            }
        }
    }
}
