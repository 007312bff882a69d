package dev.lethe.core.privacy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.google.crypto.tink.Aead;
import dev.lethe.core.privacy.keys.KeyService;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Encrypts an event's personal fields before it is stored, and decrypts them for a principal on the
 * way out. Non-personal fields are never touched: they stay plain JSON, in place.
 *
 * <p>What the codec records in the event's metadata, under {@value #METADATA_KEY} (no personal data):
 * {@code {"subjects": {"<key field>": "<subject id>"}, "sealed": ["<path>", …]}}.
 */
public final class PrivacyCodec {
    public static final String METADATA_KEY = "lethe";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final KeyService keys;

    public PrivacyCodec(KeyService keys) {
        this.keys = keys;
    }

    /** An event's data with personal fields sealed, and what to record in its metadata. */
    public record Sealed(Json data, ObjectNode privacyMetadata, Map<String, SubjectId> subjects) {}

    /**
     * Seals the personal fields of {@code data} (a JSON object) for the event {@code eventId}, written at
     * {@code at} (which picks each group's key period).
     *
     * @throws ErasureFenceException if a personal field belongs to a forgotten subject
     */
    public Sealed seal(UUID eventId, PrivacySchema schema, Json data, Instant at) {
        ObjectNode root = objectOf(schema.eventType(), data);
        Map<String, SubjectId> subjects = new LinkedHashMap<>();
        for (FieldRule key : schema.keyFields()) {
            JsonNode value = at(root, key.path());
            if (value != null && !value.isNull()) {
                if (!value.isValueNode()) {
                    throw InvalidEventException.of(
                            schema.eventType() + "." + key.path(), "a data subject key must be a string or number");
                }
                subjects.put(key.path(), keys.resolve(value.asText()));
            }
        }
        List<String> sealed = new ArrayList<>();
        for (FieldRule field : schema.personalFields()) {
            JsonNode value = at(root, field.path());
            if (value == null || value.isNull()) {
                continue;
            }
            SubjectId subject = subjects.get(schema.ownerOf(field).path());
            if (subject == null) {
                throw InvalidEventException.of(
                        schema.eventType() + "." + field.path(),
                        "is personal data but the event names no data subject in "
                                + schema.ownerOf(field).path());
            }
            DataGroup group = field.group().orElseThrow();
            String period = keys.policy().periodOf(group, at);
            Aead dek = keys.sealer(subject, group, period);
            byte[] plaintext = value.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            replace(
                    root,
                    field.path(),
                    TextNode.valueOf(Envelope.seal(dek, eventId, field.path(), subject, group, period, plaintext)));
            sealed.add(field.path());
        }
        ObjectNode metadata = JSON.createObjectNode();
        ObjectNode subjectNode = metadata.putObject("subjects");
        subjects.forEach((path, subject) -> subjectNode.put(path, subject.toString()));
        sealed.forEach(metadata.putArray("sealed")::add);
        return new Sealed(Json.of(root), metadata, subjects);
    }

    /** The event as {@code principal} may see it. */
    public RevealedEvent reveal(RecordedEvent event, Principal principal) {
        return reveal(event, principal, null);
    }

    /**
     * The event with every group decrypted whatever the role: for an export, where the permission to
     * export is the permission to read it all.
     */
    public RevealedEvent revealForExport(RecordedEvent event, SubjectId subject) {
        return reveal(event, Principal.SYSTEM, subject);
    }

    /**
     * @param exportOf when given, every group is opened (an export) but only this subject's fields;
     *     other subjects' fields of the same event read as restricted
     */
    private RevealedEvent reveal(RecordedEvent event, Principal principal, SubjectId exportOf) {
        List<String> sealedPaths = sealedPaths(event.metadata());
        if (sealedPaths.isEmpty()) {
            return new RevealedEvent(event, event.data(), List.of());
        }
        ObjectNode root = (ObjectNode) event.data().asTree();
        List<Redaction> redactions = new ArrayList<>();
        java.util.Set<DataGroup> opened = new java.util.HashSet<>();
        for (String path : sealedPaths) {
            JsonNode value = at(root, path);
            if (value == null || !value.isTextual() || !Envelope.isEnvelope(value.asText())) {
                continue;
            }
            Envelope.Header header;
            try {
                header = Envelope.parse(value.asText());
            } catch (IllegalArgumentException e) {
                throw new TamperedDataException(event.id(), path, e.getMessage());
            }
            boolean allowed = exportOf != null
                    ? header.subject().equals(exportOf)
                    : keys.policy().mayRead(principal, header.group());
            if (!allowed) {
                redact(root, path, Redaction.Reason.RESTRICTED, redactions);
                continue;
            }
            KeyService.Lookup lookup = keys.opener(header.subject(), header.group(), header.period());
            if (lookup instanceof KeyService.Missing missing) {
                redact(root, path, missing.reason(), redactions);
                continue;
            }
            try {
                byte[] plaintext = Envelope.open(((KeyService.Found) lookup).aead(), event.id(), path, header);
                replace(root, path, JSON.readTree(plaintext));
                opened.add(header.group());
            } catch (GeneralSecurityException e) {
                throw new TamperedDataException(event.id(), path, "AES-GCM tag mismatch");
            } catch (IOException e) {
                throw new TamperedDataException(event.id(), path, "plaintext is not JSON");
            }
        }
        return new RevealedEvent(event, Json.of(root), redactions, opened);
    }

    /**
     * A read model's state with every {@link PersonalValue} opened for {@code principal}: replaced by
     * its plaintext value, or by {@code null} with a redaction whose path is the value's place in the
     * state.
     */
    public RevealedState revealState(Json state, Principal principal) {
        JsonNode root = state.asTree();
        List<Redaction> redactions = new ArrayList<>();
        JsonNode revealed = revealNode(root, "", principal, redactions);
        return new RevealedState(Json.of(revealed), redactions);
    }

    /** A revealed read-model state. */
    public record RevealedState(Json state, List<Redaction> redactions) {}

    private JsonNode revealNode(JsonNode node, String where, Principal principal, List<Redaction> redactions) {
        if (PersonalValue.looksLikeOne(node)) {
            return openValue(node, where, principal, redactions);
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
                                    redactions)));
            return copy;
        }
        if (node.isArray()) {
            com.fasterxml.jackson.databind.node.ArrayNode copy = JSON.createArrayNode();
            for (int i = 0; i < node.size(); i++) {
                copy.add(revealNode(node.get(i), where + "[" + i + "]", principal, redactions));
            }
            return copy;
        }
        return node;
    }

    private JsonNode openValue(JsonNode node, String where, Principal principal, List<Redaction> redactions) {
        String sealed = node.get("sealed").asText();
        if (!Envelope.isEnvelope(sealed)) {
            try {
                return JSON.readTree(sealed);
            } catch (IOException e) {
                return TextNode.valueOf(sealed);
            }
        }
        UUID event = UUID.fromString(node.get("event").asText());
        String path = node.get("path").asText();
        Envelope.Header header;
        try {
            header = Envelope.parse(sealed);
        } catch (IllegalArgumentException e) {
            throw new TamperedDataException(event, path, "in a read model at " + where + ": " + e.getMessage());
        }
        if (!keys.policy().mayRead(principal, header.group())) {
            redactions.add(new Redaction(where, Redaction.Reason.RESTRICTED));
            return NullNode.getInstance();
        }
        KeyService.Lookup lookup = keys.opener(header.subject(), header.group(), header.period());
        if (lookup instanceof KeyService.Missing missing) {
            redactions.add(new Redaction(where, missing.reason()));
            return NullNode.getInstance();
        }
        try {
            return JSON.readTree(Envelope.open(((KeyService.Found) lookup).aead(), event, path, header));
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

    private static List<String> sealedPaths(Json metadata) {
        List<String> out = new ArrayList<>();
        byte[] bytes = metadata.unsafeBytes();
        if (bytes.length < 10) {
            return out;
        }
        metadata.asTree().path(METADATA_KEY).path("sealed").forEach(p -> out.add(p.asText()));
        return out;
    }

    private static void redact(ObjectNode root, String path, Redaction.Reason reason, List<Redaction> redactions) {
        replace(root, path, NullNode.getInstance());
        redactions.add(new Redaction(path, reason));
    }

    private static ObjectNode objectOf(String type, Json data) {
        JsonNode tree = data.asTree();
        if (!tree.isObject()) {
            throw InvalidEventException.of(type + " data", "must be a JSON object for its schema to apply");
        }
        return (ObjectNode) tree;
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

    private static void replace(ObjectNode root, String path, JsonNode value) {
        int dot = path.lastIndexOf('.');
        JsonNode parent = dot < 0 ? root : at(root, path.substring(0, dot));
        ((ObjectNode) parent).set(path.substring(dot + 1), value);
    }
}
