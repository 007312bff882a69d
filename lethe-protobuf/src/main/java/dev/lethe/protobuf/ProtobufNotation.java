package dev.lethe.protobuf;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor.JavaType;
import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.FieldRule;
import dev.lethe.core.privacy.PrivacySchema;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.protobuf.GdprOptions.Gdpr;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

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
 *   <li>Paths use the proto field names as written ({@code purchase_value}), joined by {@code .}
 *       through singular message fields without the option ({@code customer.shipping_address.city}).
 *       Events must be stored as JSON with those names, e.g. by
 *       {@code JsonFormat.printer().preservingProtoFieldNames()}, not the default lowerCamelCase.
 *   <li>Bad input is an {@link InvalidEventException} naming the problem: bytes that are not a
 *       descriptor set, an unknown message, a file whose imports the set lacks, a malformed option, and
 *       classified fields inside a repeated or map field or a recursive message, which no path can name.
 * </ul>
 *
 * <p>Deliberately not: the seed's option has no {@code subject}, so an event naming several data
 * subjects cannot say which owns a personal field here (the other notations can). Nothing checks event
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
        return read(eventType, DescriptorSets.findMessage(subject(eventType), fileDescriptorSet, messageFullName));
    }

    /** Reads a message whose descriptor is at hand, e.g. {@code MyMessage.getDescriptor()} of a generated class. */
    public static PrivacySchema read(String eventType, Descriptor message) {
        if (message == null) {
            throw InvalidEventException.of(subject(eventType), "no message descriptor given");
        }
        Reader reader = new Reader(eventType, GdprOptions.declaredFor(subject(eventType), message));
        reader.collect(message, "");
        return new PrivacySchema(eventType, reader.rules);
    }

    /**
     * Every field path of a message in a descriptor set, classified or not, nested messages included
     * (not lists, maps or recursive messages): the fields the policy linter looks at.
     */
    public static List<String> allPaths(String eventType, byte[] fileDescriptorSet, String messageFullName) {
        List<String> out = new ArrayList<>();
        paths(
                DescriptorSets.findMessage(subject(eventType), fileDescriptorSet, messageFullName),
                "",
                new HashSet<>(),
                out);
        return out;
    }

    private static void paths(Descriptor message, String prefix, Set<Descriptor> enclosing, List<String> out) {
        enclosing.add(message);
        for (FieldDescriptor field : message.getFields()) {
            out.add(prefix + field.getName());
            if (field.getJavaType() == JavaType.MESSAGE
                    && !field.isRepeated()
                    && !enclosing.contains(field.getMessageType())) {
                paths(field.getMessageType(), prefix + field.getName() + ".", enclosing, out);
            }
        }
        enclosing.remove(message);
    }

    private static String subject(String eventType) {
        return "schema " + eventType;
    }

    private static final class Reader {
        private final String eventType;
        private final GdprOptions options;
        private final List<FieldRule> rules = new ArrayList<>();
        private final Set<Descriptor> enclosing = new HashSet<>();

        Reader(String eventType, GdprOptions options) {
            this.eventType = eventType;
            this.options = options;
        }

        void collect(Descriptor message, String prefix) {
            enclosing.add(message);
            for (FieldDescriptor field : message.getFields()) {
                String path = prefix + field.getName();
                Optional<Gdpr> gdpr = options.of(field);
                if (gdpr.isPresent()) {
                    rules.add(rule(path, gdpr.get()));
                } else if (field.getJavaType() == JavaType.MESSAGE
                        && options.classifiesAnything(field.getMessageType())) {
                    descend(field, path);
                }
            }
            enclosing.remove(message);
        }

        private void descend(FieldDescriptor field, String path) {
            Descriptor inner = field.getMessageType();
            if (field.isRepeated()) {
                throw InvalidEventException.of(
                        subject(eventType),
                        "field " + path + " is a list or map of "
                                + inner.getFullName() + ", whose classified fields no path can name; classify "
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

        private FieldRule rule(String path, Gdpr gdpr) {
            try {
                return new FieldRule(
                        path, gdpr.pii(), gdpr.key(), gdpr.dataGrouping().map(DataGroup::of), Optional.empty());
            } catch (InvalidEventException e) {
                throw e.at(subject(eventType) + " field " + path);
            }
        }
    }
}
