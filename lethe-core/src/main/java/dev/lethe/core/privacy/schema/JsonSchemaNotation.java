package dev.lethe.core.privacy.schema;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.FieldRule;
import dev.lethe.core.privacy.PrivacySchema;
import dev.lethe.core.store.InvalidEventException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads the privacy model from a JSON Schema: on a property, {@code "x-gdpr": {"pii": true,
 * "key": false, "dataGroup": "contact", "subject": "ownerEmail"}}; and {@code "contentMediaType":
 * "aes256gcm"} (the HashiCorp Vault convention) marks a property as personal data of the default group.
 * Nested {@code "type": "object"} properties are read too, their fields named {@code outer.inner}.
 */
public final class JsonSchemaNotation {
    public static final String KEYWORD = "x-gdpr";
    public static final String ENCRYPTED_MEDIA_TYPE = "aes256gcm";

    /**
     * Whether a property's {@code contentMediaType} is {@value #ENCRYPTED_MEDIA_TYPE}: media types are
     * case-insensitive, so {@code AES256GCM} (or one with spaces around it) marks it too, rather than
     * leaving a field its author meant encrypted in plaintext.
     */
    static boolean marksEncrypted(com.fasterxml.jackson.databind.JsonNode property) {
        String mediaType = property.path("contentMediaType").asText(null);
        return mediaType != null && mediaType.strip().equalsIgnoreCase(ENCRYPTED_MEDIA_TYPE);
    }

    private JsonSchemaNotation() {}

    /**
     * Whether a keyword (lower case) is within two edits of {@code x-gdpr}, or is it with '_' or ' ' for '-': a
     * misspelling, not another vendor's extension ({@code x-nullable}, {@code x-order} are further away).
     */
    static boolean misspelt(String name) {
        if (name.equals(KEYWORD) || Math.abs(name.length() - KEYWORD.length()) > 2) {
            return false;
        }
        if (name.replace('_', '-').replace(' ', '-').equals(KEYWORD)) {
            return true;
        }
        // Edit distance, a swap of two neighbouring letters ("gpdr") counting as one edit.
        int[][] d = new int[name.length() + 1][KEYWORD.length() + 1];
        for (int i = 0; i <= name.length(); i++) {
            for (int j = 0; j <= KEYWORD.length(); j++) {
                if (i == 0 || j == 0) {
                    d[i][j] = i + j;
                    continue;
                }
                int cost = name.charAt(i - 1) == KEYWORD.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(d[i - 1][j - 1] + cost, Math.min(d[i - 1][j], d[i][j - 1]) + 1);
                if (i > 1
                        && j > 1
                        && name.charAt(i - 1) == KEYWORD.charAt(j - 2)
                        && name.charAt(i - 2) == KEYWORD.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[name.length()][KEYWORD.length()] <= 2;
    }

    public static PrivacySchema read(String eventType, JsonNode schema) {
        if (schema == null || !schema.isObject()) {
            throw InvalidEventException.of("schema " + eventType, "a JSON Schema must be a JSON object");
        }
        if (pointerChars(schema, 0, new long[] {0}) > MAX_POINTER_CHARS) {
            // Before any walk: each builds the pointers (or paths) of what it visits, and a schema of 900 KB (450
            // levels of 2,000-character names) had them come to 200 million characters and stop the server.
            throw InvalidEventException.of(
                    "schema " + eventType,
                    "nests too deep with names too long: the JSON Pointers to its parts come to more than "
                            + MAX_POINTER_CHARS + " characters in all (each repeats its parents' names); nest less"
                            + " deep, or use shorter names");
        }
        List<FieldRule> rules = new ArrayList<>();
        Set<JsonNode> read = identitySet();
        Set<JsonNode> sealedWhole = identitySet();
        collect(eventType, schema, "", rules, read, sealedWhole);
        refuseUnreadMarkings(eventType, new Refs(schema), schema, "", false, read, sealedWhole);
        return new PrivacySchema(eventType, rules);
    }

    /**
     * At most this many characters of JSON Pointers to a schema's parts, all added up: a registration event holds at
     * most 1 MiB, so no schema near this can be registered, and the checks below build each part's pointer.
     */
    static final long MAX_POINTER_CHARS = 4_000_000;

    /** The characters of the pointers to {@code node}'s parts, added to {@code sum}; stops once past the limit. */
    private static long pointerChars(JsonNode node, long prefix, long[] sum) {
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields();
                    it.hasNext() && sum[0] <= MAX_POINTER_CHARS; ) {
                Map.Entry<String, JsonNode> member = it.next();
                long child = prefix + 1 + member.getKey().length();
                sum[0] += child;
                pointerChars(member.getValue(), child, sum);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size() && sum[0] <= MAX_POINTER_CHARS; i++) {
                long child = prefix + 1 + Integer.toString(i).length();
                sum[0] += child;
                pointerChars(node.get(i), child, sum);
            }
        }
        return sum[0];
    }

    /** Keywords whose values are data, not schemas: a marking inside them is not one. */
    private static final Set<String> DATA_KEYWORDS = Set.of(KEYWORD, "default", "const", "enum", "examples", "example");

    /**
     * Refuses a marking ({@code x-gdpr}, or {@code contentMediaType: aes256gcm}) that {@link #collect}
     * did not read: under {@code items}, {@code $defs} reached by {@code $ref}, {@code allOf},
     * {@code additionalProperties}… No path names such a value, so it would be stored unencrypted.
     */
    private static void refuseUnreadMarkings(
            String eventType,
            Refs refs,
            JsonNode node,
            String pointer,
            boolean nameMap,
            Set<JsonNode> read,
            Set<JsonNode> sealedWhole) {
        if (node.isObject() && !nameMap) {
            // First, on a value sealed whole too: its own owner ("subject") misspelt would seal it for another.
            refuseNearMisses(eventType, node, pointer);
        }
        if (sealedWhole.contains(node)) {
            // A personal value is sealed whole: whatever its schema says inside it is covered — but a key inside
            // it, sealed with it, would name no subject: that person's data would be sealed under another's key.
            if (hasKeyMarkingInside(node, refs.root, identitySet())) {
                throw keyInsideWhole(eventType, pointer);
            }
            return;
        }
        if (node.isObject() && !nameMap) {
            boolean marked = node.has(KEYWORD) || marksEncrypted(node);
            if (marked && !read.contains(node)) {
                throw unread(eventType, pointer);
            }
            for (String keyword : REFERENCES) {
                JsonNode ref = node.get(keyword);
                if (ref == null) {
                    continue;
                }
                // A property that refers to a marked schema gets no rule of its own: its value would be plain.
                // A reference Lethe cannot follow (another document, an $anchor) is refused while the schema
                // marks anything, since it might lead to a marking.
                JsonNode target = resolve(refs.root, ref);
                if (target == null ? refs.anywhere() : refs.leadsToMarking(target)) {
                    throw InvalidEventException.of(
                            "schema " + eventType,
                            "the " + keyword + " at " + (pointer.isEmpty() ? "the root" : pointer)
                                    + (target == null
                                            ? " cannot be followed by Lethe (only local '#/…' pointers can)"
                                            : " leads to a marked schema")
                                    + ", so a value it describes could be stored unencrypted; inline the schema and"
                                    + " classify the property itself");
                }
            }
        }
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> member = it.next();
                // In a schema, some keywords hold data, not schemas; in a map of names to schemas
                // ('properties', '$defs'…), every member is a schema, whatever its name.
                if (nameMap || !DATA_KEYWORDS.contains(member.getKey())) {
                    refuseUnreadMarkings(
                            eventType,
                            refs,
                            member.getValue(),
                            pointer + "/" + escape(member.getKey()),
                            !nameMap && NAME_MAPS.contains(member.getKey()),
                            read,
                            sealedWhole);
                }
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                refuseUnreadMarkings(eventType, refs, node.get(i), pointer + "/" + i, false, read, sealedWhole);
            }
        }
    }

    /**
     * Refuses a marking spelt so that JSON Schema reads it as an unknown keyword, leaving its value in plaintext
     * (anywhere in the schema: where a marking is refused, a misspelt one would pass): a keyword within two edits
     * of {@code x-gdpr} ({@code x-gpdr}, {@code x_gdpr}, {@code gdpr}) holding what a marking holds, and a
     * {@code contentMediaType} that is {@code aes256gcm} spelt otherwise ({@code aes-256-gcm},
     * {@code application/aes256gcm}).
     */
    private static void refuseNearMisses(String eventType, JsonNode schema, String pointer) {
        String where = pointer.isEmpty() ? "the root" : pointer;
        for (Map.Entry<String, JsonNode> member : (Iterable<Map.Entry<String, JsonNode>>) schema::fields) {
            String name = member.getKey();
            JsonNode value = member.getValue();
            if (!name.equals(KEYWORD)
                    && (name.equalsIgnoreCase(KEYWORD) || misspelt(name.toLowerCase(java.util.Locale.ROOT)))
                    && value.isObject()
                    && MARKING_KEYS.stream().anyMatch(value::has)) {
                throw InvalidEventException.of(
                        "schema " + eventType,
                        "'" + name + "' at " + where + " looks like a misspelt '" + KEYWORD + "', which would leave"
                                + " the value unclassified (stored in plaintext); spell it '" + KEYWORD + "'");
            }
        }
        if (!marksEncrypted(schema)
                && namesAesGcm(schema.path("contentMediaType").asText(""))) {
            throw InvalidEventException.of(
                    "schema " + eventType,
                    "'contentMediaType' at " + where + " names AES-256-GCM but is not '" + ENCRYPTED_MEDIA_TYPE
                            + "', the only spelling Lethe takes as personal: the value would be stored in plaintext;"
                            + " write '" + ENCRYPTED_MEDIA_TYPE + "' (or \"" + KEYWORD + "\": {\"pii\": true})");
        }
    }

    /**
     * Whether a media type is {@code aes256gcm} written otherwise: with parameters ({@code ; v=1}), a structured
     * suffix, an {@code x-} prefix, under {@code application/}, with other punctuation ({@code AES-256-GCM}) — not a
     * vendor's own type ({@code application/vnd.acme.aes-256-gcm}, a blob the application encrypts itself).
     */
    private static boolean namesAesGcm(String mediaType) {
        String type = mediaType.strip().toLowerCase(java.util.Locale.ROOT);
        int parameters = type.indexOf(';');
        if (parameters >= 0) {
            type = type.substring(0, parameters).strip();
        }
        String top = "";
        int slash = type.indexOf('/');
        if (slash >= 0) {
            top = type.substring(0, slash).strip();
            type = type.substring(slash + 1).strip();
        }
        if (type.startsWith("x-")) {
            type = type.substring(2);
        }
        int suffix = type.indexOf('+');
        if (suffix >= 0) {
            type = type.substring(0, suffix);
        }
        return (top.isEmpty() || top.equals("application"))
                && !type.startsWith("vnd.")
                && type.replaceAll("[^a-z0-9]", "").equals("aes256gcm");
    }

    private static InvalidEventException keyInsideWhole(String eventType, String pointer) {
        return InvalidEventException.of(
                "schema " + eventType,
                "the property at " + pointer + " is personal and sealed whole, but its schema marks a key inside it"
                        + " (\"key\": true), which sealed with it names no subject: that person's data would be kept"
                        + " under the enclosing subject's key and could not be forgotten apart; classify its fields one"
                        + " by one instead of the whole, or drop that key marking");
    }

    /**
     * Whether a schema marks a key ({@code "key": true}) anywhere below {@code node} (not on it: a key field may be
     * personal itself), following local references.
     */
    private static boolean hasKeyMarkingInside(JsonNode node, JsonNode root, Set<JsonNode> seen) {
        if (!seen.add(node)) {
            return false;
        }
        if (node.isObject()) {
            for (String keyword : REFERENCES) {
                JsonNode target = node.has(keyword) ? resolve(root, node.get(keyword)) : null;
                if (target != null && (marksKey(target) || hasKeyMarkingInside(target, root, seen))) {
                    return true;
                }
            }
        }
        for (Map.Entry<String, JsonNode> member : (Iterable<Map.Entry<String, JsonNode>>) node::fields) {
            if (DATA_KEYWORDS.contains(member.getKey())) {
                continue;
            }
            JsonNode child = member.getValue();
            if (marksKey(child) || hasKeyMarkingInside(child, root, seen)) {
                return true;
            }
        }
        if (node.isArray()) {
            for (JsonNode element : node) {
                if (marksKey(element) || hasKeyMarkingInside(element, root, seen)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Whether a schema marks itself a key: {@code "x-gdpr": {"key": …}} with anything but {@code false}. */
    private static boolean marksKey(JsonNode schema) {
        JsonNode key = schema.path(KEYWORD).get("key");
        return key != null && !(key.isBoolean() && !key.booleanValue());
    }

    /** Keywords whose value maps names to schemas. */
    private static final Set<String> NAME_MAPS =
            Set.of("properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies");

    private static InvalidEventException unread(String eventType, String pointer) {
        return InvalidEventException.of(
                "schema " + eventType,
                "the marking at " + (pointer.isEmpty() ? "the root" : pointer)
                        + " is not on a property Lethe can name by a path (it reads 'properties', nested"
                        + " through objects; not items, $ref/$defs, allOf/anyOf/oneOf, additionalProperties"
                        + " or patternProperties), so its value would be stored unencrypted; classify the"
                        + " enclosing property itself");
    }

    /** Keywords that refer to another schema. */
    private static final List<String> REFERENCES = List.of("$ref", "$dynamicRef", "$recursiveRef");

    /**
     * The schema a reference names, if it is a local JSON Pointer ({@code #/…}, percent-encoding allowed,
     * or the same after the root's own {@code $id}); null for anything else.
     */
    private static JsonNode resolve(JsonNode root, JsonNode ref) {
        if (!ref.isTextual()) {
            return null;
        }
        String text = ref.asText();
        String id = root.path("$id").asText("");
        if (!id.isEmpty() && text.startsWith(id.replaceFirst("#.*$", "") + "#")) {
            text = text.substring(text.indexOf('#'));
        }
        if (!text.startsWith("#")) {
            return null;
        }
        String fragment = java.net.URLDecoder.decode(
                text.substring(1).replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
        if (fragment.isEmpty()) {
            return root;
        }
        if (!fragment.startsWith("/")) {
            return null; // an $anchor
        }
        try {
            JsonNode target = root.at(com.fasterxml.jackson.core.JsonPointer.compile(fragment));
            return target.isMissingNode() ? null : target;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * What the references of one schema lead to, each worked out once: with one walk per reference, 20,000
     * references (480 KB) took 55 s to register.
     */
    private static final class Refs {
        final JsonNode root;
        private Boolean anywhere;
        private final Map<JsonNode, Boolean> leads = new IdentityHashMap<>();

        Refs(JsonNode root) {
            this.root = root;
        }

        /** Whether any marking occurs in the schema, references not followed. */
        boolean anywhere() {
            if (anywhere == null) {
                anywhere = hasMarkingAnywhere(root);
            }
            return anywhere;
        }

        /** Whether {@code target} holds a marking, following its references. */
        boolean leadsToMarking(JsonNode target) {
            Boolean known = leads.get(target);
            if (known == null) {
                known = hasMarking(target, this, identitySet());
                leads.put(target, known);
            }
            return known;
        }
    }

    /** Whether a schema holds a marking anywhere inside it, following references ({@code seen}: no loops). */
    private static boolean hasMarking(JsonNode node, Refs refs, Set<JsonNode> seen) {
        if (!seen.add(node)) {
            return false;
        }
        if (node.isObject()) {
            if (node.has(KEYWORD) || marksEncrypted(node)) {
                return true;
            }
            for (String keyword : REFERENCES) {
                JsonNode ref = node.get(keyword);
                if (ref != null) {
                    JsonNode target = resolve(refs.root, ref);
                    // Unfollowable: it might lead anywhere in the schema.
                    if (target == null ? refs.anywhere() : hasMarking(target, refs, seen)) {
                        return true;
                    }
                }
            }
            for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
                if (hasMarking(it.next(), refs, seen)) {
                    return true;
                }
            }
        } else if (node.isArray()) {
            for (JsonNode element : node) {
                if (hasMarking(element, refs, seen)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Whether any marking occurs in the schema, references not followed. */
    private static boolean hasMarkingAnywhere(JsonNode node) {
        if (node.isObject()) {
            if (node.has(KEYWORD) || marksEncrypted(node)) {
                return true;
            }
        }
        for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
            if (hasMarkingAnywhere(it.next())) {
                return true;
            }
        }
        return false;
    }

    private static Set<JsonNode> identitySet() {
        return Collections.newSetFromMap(new IdentityHashMap<>());
    }

    /** A JSON Pointer reference token (RFC 6901). */
    private static String escape(String name) {
        return name.replace("~", "~0").replace("/", "~1");
    }

    private static void collect(
            String eventType,
            JsonNode schema,
            String prefix,
            List<FieldRule> rules,
            Set<JsonNode> read,
            Set<JsonNode> sealedWhole) {
        JsonNode properties = schema.get("properties");
        if (properties == null) {
            return;
        }
        if (!properties.isObject()) {
            throw InvalidEventException.of("schema " + eventType, "'properties' at '" + prefix + "' must be an object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> property = it.next();
            String path = prefix + property.getKey();
            JsonNode definition = property.getValue();
            Optional<FieldRule> rule = ruleOf(eventType, path, definition);
            read.add(definition);
            if (rule.isPresent() && rule.get().personal()) {
                sealedWhole.add(definition);
            }
            if (property.getKey().indexOf('.') >= 0 && (rule.isPresent() || hasRules(definition))) {
                // Lethe reads a '.' in a path as nesting: "contact.email" would be looked for inside
                // "contact", never found, and stored unencrypted.
                throw InvalidEventException.of(
                        "schema " + eventType,
                        "property '" + path + "' holds a '.', which Lethe reads as nesting; name it without one"
                                + " (nest an object instead)");
            }
            rule.ifPresent(rules::add);
            if (definition.has("properties")) {
                if (rule.isPresent() && rule.get().personal()) {
                    // A personal object is sealed whole: rules inside it would never apply (a key inside it would
                    // name no subject, a group no reader).
                    List<FieldRule> inside = new ArrayList<>();
                    collect(eventType, definition, path + ".", inside, read, sealedWhole);
                    if (!inside.isEmpty()) {
                        throw InvalidEventException.of(
                                "schema " + eventType,
                                "field " + inside.get(0).path()
                                        + " is classified inside " + path + ", which is personal and sealed whole;"
                                        + " classify either " + path + " or its fields");
                    }
                } else {
                    collect(eventType, definition, path + ".", rules, read, sealedWhole);
                }
            }
            boolean whole = rule.isPresent() && rule.get().personal();
            if (!whole && definition.path("items").has("properties") && hasRules(definition.path("items"))) {
                throw InvalidEventException.of(
                        "schema " + eventType,
                        "the items of array " + path + " classify fields, which no path can name; classify " + path
                                + " itself");
            }
        }
    }

    private static boolean hasRules(JsonNode schema) {
        List<FieldRule> inside = new ArrayList<>();
        collect("items", schema, "", inside, identitySet(), identitySet());
        return !inside.isEmpty();
    }

    private static Optional<FieldRule> ruleOf(String eventType, String path, JsonNode definition) {
        for (Iterator<String> names = definition.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (name.equalsIgnoreCase(KEYWORD) && !name.equals(KEYWORD)) {
                // "x-GDPR" would be read as an unknown keyword: the field left unclassified, in plaintext.
                throw InvalidEventException.of(
                        "schema " + eventType, "'" + name + "' of " + path + " is spelt '" + KEYWORD + "' here");
            }
        }
        JsonNode gdpr = definition.get(KEYWORD);
        boolean encryptedMediaType = marksEncrypted(definition);
        if (gdpr == null && !encryptedMediaType) {
            return Optional.empty();
        }
        if (gdpr != null && !gdpr.isObject()) {
            throw InvalidEventException.of(
                    "schema " + eventType, "'" + KEYWORD + "' of " + path + " must be an object");
        }
        if (gdpr != null) {
            // A misspelt "PII" or "datagroup" would silently leave a field unsealed or in the wrong group.
            for (String name : (Iterable<String>) gdpr::fieldNames) {
                if (!MARKING_KEYS.contains(name)) {
                    throw InvalidEventException.of(
                            "schema " + eventType,
                            "'" + KEYWORD + "' of " + path + " has the unknown key '" + name + "'; its keys are "
                                    + String.join(", ", MARKING_KEYS));
                }
            }
        }
        if (gdpr != null && !encryptedMediaType && !gdpr.has("pii") && (gdpr.isEmpty() || gdpr.has("dataGroup"))) {
            // {"dataGroup": "contact"} alone reads as "personal, in contact", but would be stored in plaintext.
            throw InvalidEventException.of(
                    "schema " + eventType,
                    "'" + KEYWORD + "' of " + path
                            + (gdpr.isEmpty() ? " is empty" : " names a data group but not 'pii'")
                            + ": say \"pii\": true to encrypt it as personal data, or \"pii\": false to keep it in"
                            + " plaintext");
        }
        if (encryptedMediaType && gdpr != null && gdpr.has("pii") && !bool(eventType, path, gdpr, "pii")) {
            // The two say opposite things: the field is encrypted either way, and the schema reads wrong.
            throw InvalidEventException.of(
                    "schema " + eventType,
                    path + " says \"contentMediaType\": \"aes256gcm\" (personal, encrypted) and \"pii\": false in '"
                            + KEYWORD + "': keep one of them");
        }
        boolean pii = encryptedMediaType || bool(eventType, path, gdpr, "pii");
        boolean key = bool(eventType, path, gdpr, "key");
        String type = definition.path("type").asText("");
        if (key && List.of("object", "array", "boolean").contains(type)) {
            // Refused here, not at the first append: a data subject key must print as a string or number.
            throw InvalidEventException.of(
                    "schema " + eventType,
                    path + " is a key but of type " + type + "; a data subject key must be a string or number"
                            + (type.equals("object") ? " (mark a property inside it as the key)" : ""));
        }
        String group = text(eventType, path, gdpr, "dataGroup");
        String subject = text(eventType, path, gdpr, "subject");
        return Optional.of(new FieldRule(
                path, pii, key, Optional.ofNullable(group).map(DataGroup::of), Optional.ofNullable(subject)));
    }

    /** The keys an {@code x-gdpr} object may have. */
    private static final List<String> MARKING_KEYS = List.of("pii", "key", "dataGroup", "subject");

    private static String text(String eventType, String path, JsonNode gdpr, String name) {
        if (gdpr == null || !gdpr.has(name)) {
            return null;
        }
        if (!gdpr.get(name).isTextual()) {
            throw InvalidEventException.of(
                    "schema " + eventType, "'" + KEYWORD + "." + name + "' of " + path + " must be a string");
        }
        return gdpr.get(name).asText();
    }

    private static boolean bool(String eventType, String path, JsonNode gdpr, String name) {
        if (gdpr == null || !gdpr.has(name)) {
            return false;
        }
        if (!gdpr.get(name).isBoolean()) {
            throw InvalidEventException.of(
                    "schema " + eventType, "'" + KEYWORD + "." + name + "' of " + path + " must be true or false");
        }
        return gdpr.get(name).asBoolean();
    }
}
