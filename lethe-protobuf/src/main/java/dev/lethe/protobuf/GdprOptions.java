package dev.lethe.protobuf;

import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FieldOptions;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor.JavaType;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import dev.lethe.core.store.InvalidEventException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The {@code gdpr} option as the message's own imports declare it: the extension number 51234 of
 * {@code google.protobuf.FieldOptions}, in whatever package and under whatever name.
 *
 * <p>A field's option is read from the serialized {@code FieldOptions}: there it is field 51234
 * whether protobuf-java knew the extension (generated classes) or kept it as an unknown field (a
 * descriptor set registered at run time), and it is decoded as a {@code DynamicMessage} of the
 * extension's own message type.
 */
final class GdprOptions {
    static final int FIELD_NUMBER = 51234;

    private static final String FIELD_OPTIONS = FieldOptions.getDescriptor().getFullName();
    private static final Map<String, JavaType> MEMBERS =
            Map.of("key", JavaType.BOOLEAN, "pii", JavaType.BOOLEAN, "dataGrouping", JavaType.STRING);

    /** One field's option; an empty {@code dataGrouping} is proto3's "not set". */
    record Gdpr(boolean key, boolean pii, Optional<String> dataGrouping) {}

    private final String subject;
    private final Optional<Descriptor> complianceType;

    private GdprOptions(String subject, Optional<Descriptor> complianceType) {
        this.subject = subject;
        this.complianceType = complianceType;
    }

    static GdprOptions declaredFor(String subject, Descriptor message) {
        Optional<FieldDescriptor> extension = importsOf(message.getFile())
                .flatMap(GdprOptions::extensionsOf)
                .filter(e -> e.getNumber() == FIELD_NUMBER
                        && e.getContainingType().getFullName().equals(FIELD_OPTIONS))
                .findFirst();
        extension.ifPresent(e -> checkShape(subject, e));
        if (extension.isEmpty()) {
            // The option declared under another number: every field would read as unclassified and be
            // stored in plaintext, without a word.
            importsOf(message.getFile())
                    .flatMap(GdprOptions::extensionsOf)
                    .filter(e -> e.getContainingType().getFullName().equals(FIELD_OPTIONS) && hasShape(e))
                    .findFirst()
                    .ifPresent(e -> {
                        throw InvalidEventException.of(
                                subject,
                                "option " + e.getFullName() + " has the gdpr option's shape but the number "
                                        + e.getNumber() + "; Lethe reads the seed's number " + FIELD_NUMBER
                                        + " (extend google.protobuf.FieldOptions { GDPRCompliance gdpr = "
                                        + FIELD_NUMBER + "; }), so none of its marks would be read");
                    });
        }
        return new GdprOptions(subject, extension.map(FieldDescriptor::getMessageType));
    }

    Optional<Gdpr> of(FieldDescriptor field) {
        List<ByteString> values = raw(field);
        if (values.isEmpty()) {
            return Optional.empty();
        }
        Descriptor type = complianceType.orElseThrow(() -> InvalidEventException.of(
                subject,
                "field " + field.getFullName() + " carries option " + FIELD_NUMBER
                        + ", but no file it imports declares it"));
        try {
            // Repeated occurrences of a message option merge, as concatenated encodings do.
            DynamicMessage gdpr = DynamicMessage.parseFrom(type, ByteString.copyFrom(values));
            String group = (String) gdpr.getField(type.findFieldByName("dataGrouping"));
            // A member Lethe does not read (a "subject", say) would be ignored without a word.
            gdpr.getAllFields().keySet().stream()
                    .filter(member -> !MEMBERS.containsKey(member.getName()))
                    .findFirst()
                    .ifPresent(member -> {
                        throw InvalidEventException.of(
                                subject + " field " + field.getFullName(),
                                "sets the gdpr option's member '" + member.getName() + "', which Lethe does not read"
                                        + " (it reads key, pii and dataGrouping)");
                    });
            FieldDescriptor pii = type.findFieldByName("pii");
            boolean key = (Boolean) gdpr.getField(type.findFieldByName("key"));
            if (pii.hasPresence() && !gdpr.hasField(pii) && (!group.isEmpty() || !key)) {
                // As JSON Schema refuses it: a group without pii reads as personal, and would be stored in
                // plaintext. (Where pii has no presence, as in the seed's proto3, false and unset are one.)
                throw InvalidEventException.of(
                        subject + " field " + field.getFullName(),
                        "has a gdpr option that "
                                + (group.isEmpty() ? "is empty" : "names a data group but not pii")
                                + ": say pii: true (personal, encrypted) or pii: false (stored in plaintext)");
            }
            return Optional.of(new Gdpr(
                    key, (Boolean) gdpr.getField(pii), group.isEmpty() ? Optional.empty() : Optional.of(group)));
        } catch (InvalidProtocolBufferException e) {
            throw InvalidEventException.of(
                    subject,
                    "the gdpr option of " + field.getFullName() + " is not a valid " + type.getFullName() + ": "
                            + e.getMessage());
        }
    }

    /** A field of the message, or of one nested in it at any depth, that the option marks as a key. */
    Optional<String> keyInside(Descriptor message) {
        return fieldInside(message, field -> of(field).map(Gdpr::key).orElse(false))
                .map(FieldDescriptor::getFullName);
    }

    /** Whether the message, or one nested in it at any depth, gives any field the option. */
    boolean classifiesAnything(Descriptor message) {
        return fieldInside(message, field -> !raw(field).isEmpty()).isPresent();
    }

    /** The first field, in the message or one nested in it at any depth (each type once), that {@code test} accepts. */
    private static Optional<FieldDescriptor> fieldInside(
            Descriptor message, java.util.function.Predicate<FieldDescriptor> test) {
        Set<Descriptor> seen = new HashSet<>();
        Deque<Descriptor> pending = new ArrayDeque<>(List.of(message));
        while (!pending.isEmpty()) {
            Descriptor next = pending.pop();
            if (seen.add(next)) {
                for (FieldDescriptor field : next.getFields()) {
                    if (test.test(field)) {
                        return Optional.of(field);
                    }
                    if (field.getJavaType() == JavaType.MESSAGE) {
                        pending.push(field.getMessageType());
                    }
                }
            }
        }
        return Optional.empty();
    }

    private List<ByteString> raw(FieldDescriptor field) {
        try {
            UnknownFieldSet options =
                    UnknownFieldSet.parseFrom(field.getOptions().toByteString());
            if (!options.hasField(FIELD_NUMBER)) {
                return List.of();
            }
            List<ByteString> values = options.getField(FIELD_NUMBER).getLengthDelimitedList();
            if (values.isEmpty()) {
                throw InvalidEventException.of(
                        subject,
                        "option " + FIELD_NUMBER + " of " + field.getFullName()
                                + " is not a message; the gdpr option is a GDPRCompliance message");
            }
            return values;
        } catch (InvalidProtocolBufferException e) {
            throw InvalidEventException.of(
                    subject, "the options of " + field.getFullName() + " do not parse: " + e.getMessage());
        }
    }

    private static boolean hasShape(FieldDescriptor extension) {
        return extension.getJavaType() == JavaType.MESSAGE
                && !extension.isRepeated()
                && MEMBERS.entrySet().stream().allMatch(member -> {
                    FieldDescriptor field = extension.getMessageType().findFieldByName(member.getKey());
                    return field != null && !field.isRepeated() && field.getJavaType() == member.getValue();
                });
    }

    private static void checkShape(String subject, FieldDescriptor extension) {
        if (!hasShape(extension)) {
            throw InvalidEventException.of(
                    subject,
                    "option " + extension.getFullName() + " (" + FIELD_NUMBER + " on " + FIELD_OPTIONS
                            + ") must be a message {bool key; bool pii; string dataGrouping}");
        }
    }

    private static Stream<FileDescriptor> importsOf(FileDescriptor file) {
        Set<FileDescriptor> seen = new HashSet<>();
        Deque<FileDescriptor> pending = new ArrayDeque<>(List.of(file));
        while (!pending.isEmpty()) {
            FileDescriptor next = pending.pop();
            if (seen.add(next)) {
                pending.addAll(next.getDependencies());
            }
        }
        return seen.stream();
    }

    private static Stream<FieldDescriptor> extensionsOf(FileDescriptor file) {
        return Stream.concat(
                file.getExtensions().stream(), file.getMessageTypes().stream().flatMap(GdprOptions::extensionsOf));
    }

    private static Stream<FieldDescriptor> extensionsOf(Descriptor message) {
        return Stream.concat(
                message.getExtensions().stream(),
                message.getNestedTypes().stream().flatMap(GdprOptions::extensionsOf));
    }
}
