package dev.lethe.core.privacy.schema;

import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.FieldRule;
import dev.lethe.core.privacy.PrivacySchema;
import dev.lethe.core.store.InvalidEventException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads the privacy model from a record's annotations: {@link DataSubject} and {@link PersonalData}
 * on its components. Nested records are read too, their fields named {@code outer.inner}.
 */
public final class AnnotationNotation {
    private AnnotationNotation() {}

    public static PrivacySchema read(String eventType, Class<? extends Record> type) {
        List<FieldRule> rules = new ArrayList<>();
        collect(type, "", rules);
        return new PrivacySchema(eventType, rules);
    }

    /** Every component path of the record, nested records included: the fields the linter looks at. */
    public static List<String> allPaths(Class<? extends Record> type) {
        List<String> out = new ArrayList<>();
        paths(type, "", out);
        return out;
    }

    private static void paths(Class<?> type, String prefix, List<String> out) {
        for (RecordComponent component : type.getRecordComponents()) {
            out.add(prefix + component.getName());
            if (component.getType().isRecord()) {
                paths(component.getType(), prefix + component.getName() + ".", out);
            }
        }
    }

    private static void collect(Class<?> type, String prefix, List<FieldRule> rules) {
        if (!type.isRecord()) {
            throw InvalidEventException.of("schema", type.getName() + " is not a record");
        }
        for (RecordComponent component : type.getRecordComponents()) {
            String path = prefix + component.getName();
            DataSubject subject = component.getAnnotation(DataSubject.class);
            PersonalData personal = component.getAnnotation(PersonalData.class);
            if (subject != null || personal != null) {
                Optional<DataGroup> group =
                        personal == null ? Optional.empty() : Optional.of(DataGroup.of(personal.group()));
                Optional<String> owner = personal == null || personal.subject().isEmpty()
                        ? Optional.empty()
                        : Optional.of(prefix + personal.subject());
                rules.add(new FieldRule(path, personal != null, subject != null, group, owner));
            } else if (component.getType().isRecord()) {
                collect(component.getType(), path + ".", rules);
            }
        }
    }
}
