package dev.lethe.protobuf;

import com.google.protobuf.DescriptorProtos;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.lethe.core.store.InvalidEventException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Registers the files of a descriptor set ({@code protoc --descriptor_set_out --include_imports}) at
 * run time and finds one message in them. Only the file declaring the message and its imports are
 * built, so unrelated files of the set may be incomplete.
 */
final class DescriptorSets {
    /**
     * Always the generated copy (DEPENDENCIES.md): every field's options are parsed as the generated
     * {@code FieldOptions}, so the gdpr extension must extend that very type; against a copy rebuilt
     * from the set, it extends a type no option has and the options read as empty.
     */
    private static final String DESCRIPTOR_PROTO = "google/protobuf/descriptor.proto";

    private static final int NAMES_SHOWN = 10;

    private final String subject;
    private final Map<String, FileDescriptorProto> files = new LinkedHashMap<>();
    private final Map<String, FileDescriptor> built = new HashMap<>();
    private final Set<String> building = new HashSet<>();

    private DescriptorSets(String subject, FileDescriptorSet set) {
        this.subject = subject;
        for (FileDescriptorProto file : set.getFileList()) {
            FileDescriptorProto first = files.putIfAbsent(file.getName(), file);
            if (first != null && !first.equals(file)) {
                // Concatenated sets (cat old.desc new.desc) merge this way: which copy is meant?
                throw InvalidEventException.of(
                        subject,
                        "the descriptor set holds two different copies of " + file.getName()
                                + " (sets concatenated from builds of different versions?); compile one set again");
            }
        }
    }

    static Descriptor findMessage(String subject, byte[] fileDescriptorSet, String messageFullName) {
        if (messageFullName == null || messageFullName.isBlank()) {
            throw InvalidEventException.of(subject, "no message name given");
        }
        String name = messageFullName.startsWith(".") ? messageFullName.substring(1) : messageFullName;
        return new DescriptorSets(subject, parse(subject, fileDescriptorSet)).find(name);
    }

    /**
     * {@link #findMessage}, for a registration: refuses as well what would leave a personal field unread —
     * the message declared by two files of the set (the first would be taken, which may lack the options),
     * and an extension of it, or of a message inside it, that carries the gdpr option (extensions are not
     * read: its value would be stored in plaintext).
     */
    static Descriptor findMessageToRegister(String subject, byte[] fileDescriptorSet, String messageFullName) {
        if (messageFullName == null || messageFullName.isBlank()) {
            throw InvalidEventException.of(subject, "no message name given");
        }
        String name = messageFullName.startsWith(".") ? messageFullName.substring(1) : messageFullName;
        DescriptorSets sets = new DescriptorSets(subject, parse(subject, fileDescriptorSet));
        List<String> declaring = sets.files.values().stream()
                .filter(file -> messageNames(file).contains(name))
                .map(FileDescriptorProto::getName)
                .toList();
        if (declaring.size() > 1) {
            throw InvalidEventException.of(
                    subject,
                    "message " + name + " is declared by " + declaring.size() + " files of the descriptor set ("
                            + String.join(", ", declaring.subList(0, Math.min(NAMES_SHOWN, declaring.size())))
                            + "): sets concatenated from builds of different versions? Compile one set again");
        }
        Descriptor message = sets.find(name);
        sets.refuseClassifiedExtensions(message);
        return message;
    }

    /**
     * The files of the set that the message needs, in the set's order: the file declaring it and those it
     * imports, directly or not ({@code descriptor.proto} left out: the generated copy is always used). What a
     * registration stores, rather than a whole set of unrelated files.
     */
    static byte[] filesOf(String subject, byte[] fileDescriptorSet, String messageFullName) {
        Descriptor message = findMessage(subject, fileDescriptorSet, messageFullName);
        Set<String> needed = new HashSet<>();
        java.util.Deque<FileDescriptor> pending = new java.util.ArrayDeque<>(List.of(message.getFile()));
        while (!pending.isEmpty()) {
            FileDescriptor next = pending.pop();
            if (needed.add(next.getName())) {
                pending.addAll(next.getDependencies());
            }
        }
        FileDescriptorSet.Builder kept = FileDescriptorSet.newBuilder();
        java.util.Set<String> added = new HashSet<>();
        for (FileDescriptorProto file : parse(subject, fileDescriptorSet).getFileList()) {
            if (needed.contains(file.getName())
                    && !file.getName().equals(DESCRIPTOR_PROTO)
                    && added.add(file.getName())) {
                kept.addFile(file);
            }
        }
        return kept.build().toByteArray();
    }

    /**
     * Refuses an extension whose extendee is the message, or a type reached from it (through fields, and through
     * the types of extensions of reached types), and which marks a value personal or a key with the gdpr option
     * (under 51234, or under another number whose {@code FieldOptions} extension has the option's shape), or whose
     * message type marks any field so, at any depth.
     */
    private void refuseClassifiedExtensions(Descriptor message) {
        // Every message and extension of the set, by full name, read from the files as given (none is built).
        Map<String, DescriptorProto> messages = new HashMap<>();
        List<Declared> extensions = new ArrayList<>();
        for (FileDescriptorProto file : files.values()) {
            if (file.getName().equals(DESCRIPTOR_PROTO)) {
                continue;
            }
            String prefix = file.getPackage().isEmpty() ? "" : file.getPackage() + ".";
            file.getExtensionList().forEach(e -> extensions.add(new Declared(file.getName(), prefix, e)));
            for (DescriptorProto inner : file.getMessageTypeList()) {
                collect(file.getName(), prefix, inner, messages, extensions);
            }
        }
        Map<String, List<Declared>> byExtendee = new HashMap<>();
        for (Declared declared : extensions) {
            byExtendee
                    .computeIfAbsent(unqualified(declared.field().getExtendee()), k -> new ArrayList<>())
                    .add(declared);
        }
        // The option's numbers, each with the numbers of its bool members key and pii: the seed's (1 and 2, if
        // the set does not declare it), and any other FieldOptions extension with a bool pii.
        Map<Integer, int[]> options = new HashMap<>();
        options.put(GdprOptions.FIELD_NUMBER, new int[] {1, 2});
        for (Declared declared : byExtendee.getOrDefault("google.protobuf.FieldOptions", List.of())) {
            DescriptorProto type = messages.get(unqualified(declared.field().getTypeName()));
            int pii = type == null ? -1 : boolMember(type, "pii");
            if (pii > 0 || (type != null && declared.field().getNumber() == GdprOptions.FIELD_NUMBER)) {
                options.put(declared.field().getNumber(), new int[] {boolMember(type, "key"), pii});
            }
        }
        // Every type a value of the message may hold, extensions' types included (to a fixed point).
        Set<String> reached = new HashSet<>();
        java.util.Deque<String> pending = new java.util.ArrayDeque<>(List.of(message.getFullName()));
        while (!pending.isEmpty()) {
            String next = pending.pop();
            DescriptorProto type = messages.get(next);
            if (type == null || !reached.add(next)) {
                continue;
            }
            type.getFieldList().stream()
                    .filter(f -> !f.getTypeName().isEmpty())
                    .forEach(f -> pending.push(unqualified(f.getTypeName())));
            byExtendee.getOrDefault(next, List.of()).stream()
                    .filter(d -> !d.field().getTypeName().isEmpty())
                    .forEach(d -> pending.push(unqualified(d.field().getTypeName())));
        }
        for (String extendee : reached) {
            for (Declared declared : byExtendee.getOrDefault(extendee, List.of())) {
                DescriptorProtos.FieldDescriptorProto extension = declared.field();
                boolean marked = marksPersonal(extension, options);
                if (marked || marksAnything(extension.getTypeName(), messages, options)) {
                    throw InvalidEventException.of(
                            subject,
                            "extension " + declared.scope() + extension.getName() + " (in " + declared.fileName()
                                    + ") extends " + extendee
                                    + (marked
                                            ? " and the gdpr option marks it personal or a key"
                                            : " and its message type marks fields personal or keys with the gdpr"
                                                    + " option")
                                    + ", but Lethe reads a message's own fields, not its extensions: its value would"
                                    + " be stored in plaintext. Declare it as a field of " + extendee);
                }
            }
        }
    }

    /** An extension as a file declares it, with the scope its name is in ({@code pkg.} or {@code pkg.Holder.}). */
    private record Declared(String fileName, String scope, DescriptorProtos.FieldDescriptorProto field) {}

    private static void collect(
            String fileName,
            String prefix,
            DescriptorProto message,
            Map<String, DescriptorProto> messages,
            List<Declared> extensions) {
        String name = prefix + message.getName();
        messages.putIfAbsent(name, message);
        message.getExtensionList().forEach(e -> extensions.add(new Declared(fileName, name + ".", e)));
        for (DescriptorProto nested : message.getNestedTypeList()) {
            collect(fileName, name + ".", nested, messages, extensions);
        }
    }

    /** The number of the message's bool member of that name, or -1. */
    private static int boolMember(DescriptorProto type, String name) {
        if (type == null) {
            return -1;
        }
        return type.getFieldList().stream()
                .filter(f ->
                        f.getName().equals(name) && f.getType() == DescriptorProtos.FieldDescriptorProto.Type.TYPE_BOOL)
                .mapToInt(DescriptorProtos.FieldDescriptorProto::getNumber)
                .findFirst()
                .orElse(-1);
    }

    /**
     * Whether the field's options hold one of the option's numbers with key or pii true (a label, {@code pii:
     * false} with a group, marks nothing personal); an option that cannot be read counts as marking.
     */
    private static boolean marksPersonal(DescriptorProtos.FieldDescriptorProto field, Map<Integer, int[]> options) {
        com.google.protobuf.UnknownFieldSet unknown = field.getOptions().getUnknownFields();
        for (Map.Entry<Integer, int[]> option : options.entrySet()) {
            if (!unknown.hasField(option.getKey())) {
                continue;
            }
            for (com.google.protobuf.ByteString value :
                    unknown.getField(option.getKey()).getLengthDelimitedList()) {
                try {
                    com.google.protobuf.UnknownFieldSet members = com.google.protobuf.UnknownFieldSet.parseFrom(value);
                    for (int member : option.getValue()) {
                        if (member > 0
                                && members.hasField(member)
                                && members.getField(member).getVarintList().stream()
                                        .anyMatch(v -> v != 0)) {
                            return true;
                        }
                    }
                } catch (InvalidProtocolBufferException unreadable) {
                    return true;
                }
            }
            if (unknown.getField(option.getKey()).getLengthDelimitedList().isEmpty()) {
                return true; // not a message: what it means cannot be told
            }
        }
        return false;
    }

    /** Whether the message named, or one its fields hold at any depth, has a field the option marks personal. */
    private static boolean marksAnything(
            String typeName, Map<String, DescriptorProto> messages, Map<Integer, int[]> options) {
        // A loop, not recursion: a chain of messages may be as deep as the set makes it.
        Set<String> seen = new HashSet<>();
        java.util.Deque<String> pending = new java.util.ArrayDeque<>();
        if (!typeName.isEmpty()) {
            pending.push(unqualified(typeName));
        }
        while (!pending.isEmpty()) {
            String name = pending.pop();
            DescriptorProto message = messages.get(name);
            if (message == null || !seen.add(name)) {
                continue;
            }
            for (DescriptorProtos.FieldDescriptorProto field : message.getFieldList()) {
                if (marksPersonal(field, options)) {
                    return true;
                }
                if (!field.getTypeName().isEmpty()) {
                    pending.push(unqualified(field.getTypeName()));
                }
            }
        }
        return false;
    }

    private static String unqualified(String name) {
        return name.startsWith(".") ? name.substring(1) : name;
    }

    /**
     * The messages {@code bytes} declares, if they read as a descriptor set with at least one file of its
     * own (empty otherwise): to tell a set given where a JSON Schema was expected.
     */
    static List<String> messagesIfDescriptorSet(byte[] bytes) {
        try {
            FileDescriptorSet set = FileDescriptorSet.parseFrom(bytes);
            return set.getFileList().stream()
                    .filter(file -> !file.getName().equals(DESCRIPTOR_PROTO))
                    .flatMap(file -> messageNames(file).stream())
                    .toList();
        } catch (InvalidProtocolBufferException | RuntimeException notASet) {
            return List.of();
        }
    }

    /** Whether the bytes read as a .proto file's text: printable, with a {@code syntax}, {@code message} or {@code package} statement. */
    static boolean looksLikeProtoSource(byte[] bytes) {
        int length = Math.min(bytes.length, 4096);
        for (int i = 0; i < length; i++) {
            int b = bytes[i] & 0xff;
            if (b < 0x09 || (b > 0x0d && b < 0x20)) {
                return false; // a control byte: binary, as a descriptor set is
            }
        }
        String text = new String(bytes, 0, length, java.nio.charset.StandardCharsets.ISO_8859_1);
        return java.util.regex.Pattern.compile("(?m)^\\s*(syntax|edition|package|message|import)\\b")
                .matcher(text)
                .find();
    }

    private static FileDescriptorSet parse(String subject, byte[] bytes) {
        if (bytes == null) {
            throw InvalidEventException.of(subject, "no descriptor set given");
        }
        if (looksLikeProtoSource(bytes)) {
            throw InvalidEventException.of(
                    subject,
                    "this is .proto source text, not a compiled descriptor set: compile it first, with protoc"
                            + " --include_imports --descriptor_set_out=FILE.desc FILE.proto, and give FILE.desc");
        }
        FileDescriptorSet set;
        try {
            set = FileDescriptorSet.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw InvalidEventException.of(
                    subject,
                    "the bytes are not a Protobuf descriptor set (protoc --descriptor_set_out): " + e.getMessage());
        }
        if (set.getFileCount() == 0) {
            throw InvalidEventException.of(
                    subject, "the descriptor set holds no files (or the bytes are not a descriptor set)");
        }
        return set;
    }

    private Descriptor find(String name) {
        for (FileDescriptorProto file : files.values()) {
            if (messageNames(file).contains(name)) {
                return locate(build(file.getName(), null), name);
            }
        }
        List<String> known = files.values().stream()
                .filter(file -> !file.getName().equals(DESCRIPTOR_PROTO))
                .flatMap(file -> messageNames(file).stream())
                .toList();
        String shown = String.join(", ", known.subList(0, Math.min(NAMES_SHOWN, known.size())))
                + (known.size() > NAMES_SHOWN ? ", …" : "");
        throw InvalidEventException.of(
                subject, "message " + name + " is not in the descriptor set, which declares [" + shown + "]");
    }

    private FileDescriptor build(String fileName, String importedBy) {
        if (fileName.equals(DESCRIPTOR_PROTO)) {
            return DescriptorProtos.getDescriptor();
        }
        FileDescriptor done = built.get(fileName);
        if (done != null) {
            return done;
        }
        FileDescriptorProto proto = files.get(fileName);
        if (proto == null) {
            throw InvalidEventException.of(
                    subject,
                    importedBy + " imports " + fileName
                            + ", which the descriptor set does not hold (write it with protoc --include_imports)");
        }
        if (!building.add(fileName)) {
            throw InvalidEventException.of(subject, fileName + " imports itself through " + importedBy);
        }
        FileDescriptor[] dependencies = proto.getDependencyList().stream()
                .map(dependency -> build(dependency, fileName))
                .toArray(FileDescriptor[]::new);
        try {
            FileDescriptor file = FileDescriptor.buildFrom(proto, dependencies);
            built.put(fileName, file);
            return file;
        } catch (DescriptorValidationException e) {
            throw InvalidEventException.of(subject, fileName + " is not a valid descriptor: " + e.getMessage());
        } finally {
            building.remove(fileName);
        }
    }

    private static Descriptor locate(FileDescriptor file, String fullName) {
        String relative = file.getPackage().isEmpty()
                ? fullName
                : fullName.substring(file.getPackage().length() + 1);
        String[] names = relative.split("\\.");
        Descriptor message = file.findMessageTypeByName(names[0]);
        for (int i = 1; i < names.length; i++) {
            message = message.findNestedTypeByName(names[i]);
        }
        return message;
    }

    private static List<String> messageNames(FileDescriptorProto file) {
        List<String> names = new ArrayList<>();
        String prefix = file.getPackage().isEmpty() ? "" : file.getPackage() + ".";
        file.getMessageTypeList().forEach(message -> collectNames(message, prefix, names));
        return names;
    }

    private static void collectNames(DescriptorProto message, String prefix, List<String> names) {
        String name = prefix + message.getName();
        names.add(name);
        message.getNestedTypeList().forEach(nested -> collectNames(nested, name + ".", names));
    }
}
