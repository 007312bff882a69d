package dev.lethe.core.privacy;

import dev.lethe.core.store.InvalidEventException;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The privacy model of one event type: the rule of each classified field. Fields without a rule are
 * not personal and are stored in plain JSON. The same model is read from Java annotations, Protobuf
 * options and JSON Schema ({@code dev.lethe.core.privacy.schema}); two notations describing the same
 * fields give equal models.
 */
public record PrivacySchema(String eventType, List<FieldRule> fields) {
    public PrivacySchema {
        fields = List.copyOf(fields);
        Set<String> paths = new HashSet<>();
        for (FieldRule field : fields) {
            if (!paths.add(field.path())) {
                throw InvalidEventException.of("schema " + eventType, "classifies field " + field.path() + " twice");
            }
        }
        List<FieldRule> keys = fields.stream().filter(FieldRule::subjectKey).toList();
        for (FieldRule field : fields) {
            field.subjectField().ifPresent(owner -> {
                if (keys.stream().noneMatch(k -> k.path().equals(owner))) {
                    throw InvalidEventException.of(
                            "schema " + eventType,
                            "field " + field.path() + " is owned by " + owner + ", which is not a key field");
                }
            });
        }
        if (fields.stream().anyMatch(FieldRule::personal) && keys.isEmpty()) {
            throw InvalidEventException.of(
                    "schema " + eventType, "has personal fields but no key field naming the data subject");
        }
    }

    public List<FieldRule> keyFields() {
        return fields.stream().filter(FieldRule::subjectKey).toList();
    }

    public List<FieldRule> personalFields() {
        return fields.stream().filter(FieldRule::personal).toList();
    }

    public Optional<FieldRule> field(String path) {
        return fields.stream().filter(f -> f.path().equals(path)).findFirst();
    }

    /** The key field whose subject owns {@code field}. */
    public FieldRule ownerOf(FieldRule field) {
        if (field.subjectKey()) {
            return field;
        }
        String owner = field.subjectField().orElse(keyFields().get(0).path());
        return field(owner).orElseThrow();
    }

    /** The rules sorted by path: a canonical form, so notations can be compared. */
    public PrivacySchema canonical() {
        return new PrivacySchema(
                eventType,
                fields.stream()
                        .sorted(java.util.Comparator.comparing(FieldRule::path))
                        .toList());
    }
}
