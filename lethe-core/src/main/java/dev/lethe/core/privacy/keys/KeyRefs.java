package dev.lethe.core.privacy.keys;

import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.SubjectId;
import java.nio.charset.StandardCharsets;

/**
 * References to wrapped keys: {@code subject:<uuid>}, {@code period:<group>:<period>},
 * {@code secret:<name>}. A reference is also the context a key is wrapped under, so a wrapped key
 * copied onto another reference does not unwrap.
 */
public final class KeyRefs {
    private KeyRefs() {}

    public record Parsed(String kind, String a, String b) {}

    public static String subject(SubjectId subject) {
        return "subject:" + subject;
    }

    public static String period(DataGroup group, String period) {
        return "period:" + group.name() + ":" + period;
    }

    public static String secret(String name) {
        return "secret:" + name;
    }

    public static byte[] context(String ref) {
        return ref.getBytes(StandardCharsets.UTF_8);
    }

    public static Parsed parse(String ref) {
        String[] parts = ref.split(":", 3);
        return new Parsed(parts[0], parts[1], parts.length > 2 ? parts[2] : null);
    }
}
