package dev.lethe.core.privacy.schema;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.PropertyName;
import com.fasterxml.jackson.databind.SerializationConfig;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.BeanPropertyWriter;
import com.fasterxml.jackson.databind.ser.BeanSerializerModifier;
import com.fasterxml.jackson.databind.ser.std.BeanSerializerBase;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import com.fasterxml.jackson.databind.util.NameTransformer;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Records, as Jackson writes a value, where it writes each record component marked {@link PersonalData} or
 * {@link DataSubject}: the JSON path, and whether it is inside an array. What the registration's types
 * cannot show is seen here as it is written — a marked record behind an {@code Object}, interface or
 * type-variable component, in a class of the application's, an {@code AtomicReference} or any {@code
 * Iterable}, moved by a {@code @JsonTypeInfo} wrapper or a mix-in, a record class changed since its type was
 * registered — so that the privacy layer can refuse an append that would store a marked value unencrypted.
 * What cannot be followed is refused while writing: a marked record written by a serializer of its own
 * ({@code @JsonValue}, {@code @JsonSerialize}, a shape), as a map key, or a marked component
 * {@code @JsonUnwrapped}.
 */
public final class MarkRecorder {
    private MarkRecorder() {}

    /**
     * A marked component as Jackson wrote it.
     *
     * @param path the member path it was written at ({@code addr.street}); an array's elements add {@code []}
     * @param personal whether it is marked {@code @PersonalData}
     * @param subject whether it is marked {@code @DataSubject}
     * @param record the record class that declares it
     * @param component the component's Java name
     * @param inArray whether it was written inside an array (a list, a set, an array), where no path names it
     */
    public record Mark(
            String path, boolean personal, boolean subject, Class<?> record, String component, boolean inArray) {
        /** {@code Addr.street (@PersonalData) at addr.street}: for messages (never the value). */
        public String describe() {
            return record.getSimpleName() + "." + component + " ("
                    + (personal && subject ? "@DataSubject @PersonalData" : personal ? "@PersonalData" : "@DataSubject")
                    + ") at " + path;
        }
    }

    private static final ThreadLocal<List<Mark>> RECORDING = new ThreadLocal<>();

    /** The Jackson module that records (registered on the mapper {@code Json.of} writes with). */
    public static com.fasterxml.jackson.databind.Module module() {
        return new SimpleModule("lethe-mark-recorder").setSerializerModifier(new Modifier());
    }

    /**
     * Runs {@code write} (a serialisation with a mapper that has {@link #module()}) and returns the marks it
     * wrote, beside its result.
     */
    public static <T> T recording(List<Mark> into, Supplier<T> write) {
        List<Mark> outer = RECORDING.get();
        RECORDING.set(into);
        try {
            return write.get();
        } finally {
            if (outer == null) {
                RECORDING.remove();
            } else {
                RECORDING.set(outer);
            }
        }
    }

    /** Whether {@code type} is a record that marks a component, itself or in the records its types name. */
    static boolean marked(Class<?> type) {
        return type != null && type.isRecord() && MARKED.get(type);
    }

    private static final ClassValue<Boolean> MARKED = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            return AnnotationNotation.marksAnything(type);
        }
    };

    private static final class Modifier extends BeanSerializerModifier {
        @Override
        public List<BeanPropertyWriter> changeProperties(
                SerializationConfig config, BeanDescription description, List<BeanPropertyWriter> properties) {
            Class<?> type = description.getBeanClass();
            List<BeanPropertyWriter> changed = new ArrayList<>(properties.size());
            for (BeanPropertyWriter property : properties) {
                RecordComponent component = type.isRecord() ? componentOf(type, property) : null;
                boolean personal = component != null && component.isAnnotationPresent(PersonalData.class);
                boolean subject = component != null && component.isAnnotationPresent(DataSubject.class);
                if (personal || subject) {
                    changed.add(new Recording(property, personal, subject, type, component.getName()));
                } else if (property.hasSerializer()) {
                    // A serializer of its own (@JsonSerialize(using = …)): whatever it writes of a marked record
                    // is not seen, so one is refused.
                    changed.add(new Recording(property, false, false, type, property.getName()));
                } else {
                    changed.add(property);
                }
            }
            return changed;
        }

        @Override
        public JsonSerializer<?> modifySerializer(
                SerializationConfig config, BeanDescription description, JsonSerializer<?> serializer) {
            Class<?> type = description.getBeanClass();
            if (marked(type) && !(serializer instanceof BeanSerializerBase)) {
                return refusing(type, "is written by a serializer of its own (@JsonValue, @JsonSerialize, a shape)");
            }
            return serializer;
        }

        @Override
        public JsonSerializer<?> modifyKeySerializer(
                SerializationConfig config, JavaType type, BeanDescription description, JsonSerializer<?> serializer) {
            if (marked(type.getRawClass())) {
                return refusing(type.getRawClass(), "is a map key (written as its toString)");
            }
            return serializer;
        }
    }

    private static JsonSerializer<Object> refusing(Class<?> type, String why) {
        return new StdSerializer<>(Object.class) {
            @Override
            public void serialize(Object value, JsonGenerator gen, SerializerProvider provider)
                    throws java.io.IOException {
                throw JsonMappingException.from(
                        gen,
                        "record " + type.getSimpleName() + " marks personal data but " + why + ", where no path of a"
                                + " schema names it: it would be stored unencrypted");
            }
        };
    }

    /** The record component {@code property} writes, or null (a getter of another name). */
    private static RecordComponent componentOf(Class<?> record, BeanPropertyWriter property) {
        if (property.getMember() == null) {
            return null;
        }
        String member = property.getMember().getName();
        for (RecordComponent component : record.getRecordComponents()) {
            if (component.getName().equals(member)) {
                return component;
            }
        }
        return null;
    }

    /** Writes a property as Jackson would, noting where a marked one went. */
    private static final class Recording extends BeanPropertyWriter {
        private final boolean personal;
        private final boolean subject;
        private final Class<?> record;
        private final String component;

        Recording(BeanPropertyWriter base, boolean personal, boolean subject, Class<?> record, String component) {
            super(base);
            this.personal = personal;
            this.subject = subject;
            this.record = record;
            this.component = component;
        }

        private Recording(Recording base, PropertyName name) {
            super(base, name);
            this.personal = base.personal;
            this.subject = base.subject;
            this.record = base.record;
            this.component = base.component;
        }

        @Override
        protected BeanPropertyWriter _new(PropertyName name) {
            return new Recording(this, name); // renamed by an enclosing @JsonUnwrapped: still recorded, where it goes
        }

        @Override
        public BeanPropertyWriter unwrappingWriter(NameTransformer unwrapper) {
            if (!personal && !subject) {
                return super.unwrappingWriter(unwrapper); // its own properties are recorded, renamed
            }
            Recording self = this;
            return new BeanPropertyWriter(this) {
                @Override
                public void serializeAsField(Object bean, JsonGenerator gen, SerializerProvider provider)
                        throws Exception {
                    if (RECORDING.get() != null && self.get(bean) != null) {
                        throw JsonMappingException.from(
                                gen,
                                self.record.getSimpleName() + "." + self.component + " is marked personal but"
                                        + " @JsonUnwrapped: written as members of the enclosing object, where no"
                                        + " path names it, it would be stored unencrypted");
                    }
                    super.serializeAsField(bean, gen, provider);
                }
            };
        }

        @Override
        public void serializeAsField(Object bean, JsonGenerator gen, SerializerProvider provider) throws Exception {
            List<Mark> recording = RECORDING.get();
            if (recording == null) {
                super.serializeAsField(bean, gen, provider);
                return;
            }
            Object value = get(bean);
            if (!personal && !subject) {
                if (marked(value == null ? null : value.getClass())) {
                    throw JsonMappingException.from(
                            gen,
                            record.getSimpleName() + "." + component + " holds a "
                                    + value.getClass().getSimpleName()
                                    + ", which marks personal data, and is written by a serializer of its own: no"
                                    + " path of a schema would name what it writes, stored unencrypted");
                }
                super.serializeAsField(bean, gen, provider);
                return;
            }
            JsonStreamContext object = gen.getOutputContext();
            String before = object.getCurrentName();
            super.serializeAsField(bean, gen, provider);
            boolean written = gen.getOutputContext() == object
                    && !Objects.equals(before, getName())
                    && Objects.equals(object.getCurrentName(), getName());
            if (written && value != null && !(value instanceof Optional<?> o && o.isEmpty())) {
                recording.add(new Mark(pathOf(object), personal, subject, record, component, inArray(object)));
            }
        }

        @Override
        public void serializeAsElement(Object bean, JsonGenerator gen, SerializerProvider provider) throws Exception {
            List<Mark> recording = RECORDING.get();
            Object value = recording == null ? null : get(bean);
            if (recording != null && (personal || subject) && value != null) {
                // A record written as an array of its values (@JsonFormat(shape = ARRAY)): no path names them.
                recording.add(
                        new Mark(pathOf(gen.getOutputContext()) + "[]", personal, subject, record, component, true));
            }
            super.serializeAsElement(bean, gen, provider);
        }
    }

    /** The member path of the context's current position: names from the root, {@code []} for an array. */
    private static String pathOf(JsonStreamContext context) {
        List<String> names = new ArrayList<>();
        for (JsonStreamContext at = context; at != null && !at.inRoot(); at = at.getParent()) {
            names.add(at.inArray() ? "[]" : String.valueOf(at.getCurrentName()));
        }
        StringBuilder path = new StringBuilder();
        for (int i = names.size() - 1; i >= 0; i--) {
            String name = names.get(i);
            if (name.equals("[]")) {
                path.append("[]");
            } else {
                path.append(path.length() == 0 ? "" : ".").append(name);
            }
        }
        return path.toString();
    }

    private static boolean inArray(JsonStreamContext context) {
        for (JsonStreamContext at = context; at != null; at = at.getParent()) {
            if (at.inArray()) {
                return true;
            }
        }
        return false;
    }
}
