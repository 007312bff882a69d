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
import java.util.Optional;

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
            List<String> segments,
            boolean personal,
            boolean subject,
            Class<?> record,
            String component,
            boolean inArray) {
        public Mark {
            segments = List.copyOf(segments);
        }

        /**
         * The path as a schema names fields ({@code addr.street}), when every segment is a name a schema can
         * classify (letters, digits, {@code _}; a map's key too, written as a member name as a property is: a
         * map built by hand, {@code {"customer": record}}); empty when one is not (an array's {@code []}, a
         * member name holding a dot or a map key with other characters): no classified path is then this one.
         */
        public Optional<String> path() {
            List<String> written = asWritten(segments);
            for (String segment : written) {
                if (!NAME.matcher(segment).matches()) {
                    return Optional.empty();
                }
            }
            return Optional.of(String.join(".", written));
        }

        /** The classifiable paths enclosing this one, outermost first, up to the first segment that is not one. */
        public List<String> enclosingPaths() {
            List<String> out = new ArrayList<>();
            List<String> written = asWritten(segments);
            StringBuilder at = new StringBuilder();
            for (int i = 0;
                    i < written.size() - 1 && NAME.matcher(written.get(i)).matches();
                    i++) {
                at.append(i == 0 ? "" : ".").append(written.get(i));
                out.add(at.toString());
            }
            return out;
        }

        /**
         * {@code Addr.street (@PersonalData) at addr.street}: for messages. Segments that are not plain names (a
         * map key may be an e-mail address) are shown as {@code <key>}, an array's as {@code []}; never the value.
         */
        public String describe() {
            StringBuilder shown = new StringBuilder();
            for (String segment : segments) {
                String part =
                        segment.equals("[]") ? "[]" : NAME.matcher(segment).matches() ? segment : "<key>";
                shown.append(shown.length() == 0 || part.equals("[]") ? "" : ".")
                        .append(part);
            }
            return record.getSimpleName() + "." + component + " ("
                    + (personal && subject ? "@DataSubject @PersonalData" : personal ? "@PersonalData" : "@DataSubject")
                    + ") at " + shown;
        }
    }

    private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    /** One serialisation being recorded: the marks, and how often each marked record's properties were written. */
    private static final class Session {
        final List<Mark> marks = new ArrayList<>();
        final java.util.IdentityHashMap<Object, Integer> written = new java.util.IdentityHashMap<>();
        /** Where code computed what was written: a class's getters, a method, a serializer of its own. */
        final java.util.Set<List<String>> computed = new java.util.HashSet<>();
    }

    private static final ThreadLocal<Session> RECORDING = new ThreadLocal<>();

    /** What {@link #write} wrote, and where it wrote marked components. */
    public record Written(byte[] utf8, List<Mark> marks) {}

    /**
     * Writes {@code value} with {@code mapper} (one with {@link #module()}), noting where each marked component
     * goes; then refuses the value if it holds a record with marked components that Jackson did not write
     * through its properties (by {@code toString}, a serializer of its own, as an object id, a getter Lethe
     * does not link to its component): its marked values would be stored where no mark says.
     *
     * @throws dev.lethe.core.store.InvalidEventException naming the record's class, never a value
     */
    public static Written write(com.fasterxml.jackson.databind.ObjectMapper mapper, Object value)
            throws com.fasterxml.jackson.core.JsonProcessingException {
        Session outer = RECORDING.get();
        Session session = new Session();
        RECORDING.set(session);
        byte[] utf8;
        try {
            utf8 = mapper.writeValueAsBytes(value);
        } finally {
            if (outer == null) {
                RECORDING.remove();
            } else {
                RECORDING.set(outer);
            }
        }
        ValueWalk walk = new ValueWalk(mapper.getSerializationConfig());
        boolean walked;
        try {
            walked = walk.walk(value);
        } catch (StackOverflowError deep) {
            // The walk is recursive: a chain of objects deeper than this thread's stack (through fields Jackson
            // does not write, which its own nesting limit does not reach). The walk's state is its own: dropped.
            walk.tooDeep = true;
            walked = false;
        }
        if (!walked) {
            throw dev.lethe.core.store.InvalidEventException.of(
                    "json",
                    walk.tooDeep
                            ? "the value nests objects too deep (more than " + ValueWalk.MAX_DEPTH + " levels, or more"
                                    + " than this thread's stack holds; fields Jackson does not write included) to check"
                                    + " that none holds personal data written unencrypted"
                            : "the value reaches more than " + ValueWalk.MAX_VISITS + " objects (shared lists nested in"
                                    + " lists count once per path): too many to check that none holds personal data written"
                                    + " unencrypted");
        }
        for (java.util.Map.Entry<Object, Integer> entry : walk.written.entrySet()) {
            if (session.written.getOrDefault(entry.getKey(), 0) < entry.getValue()) {
                throw dev.lethe.core.store.InvalidEventException.of(
                        "json",
                        "the value holds a " + entry.getKey().getClass().getSimpleName() + ", whose components are"
                                + " marked personal, that Jackson wrote other than through its components (toString, a"
                                + " serializer of its own, an object id of @JsonIdentityInfo, a getter of another"
                                + " name): its marked values would be stored unencrypted; write it as a plain record,"
                                + " or mark the component that holds it @PersonalData (sealed whole)");
            }
        }
        if (walk.ownClassSerializer) {
            session.computed.add(List.of()); // a class's own serializer wrote somewhere: the whole value is searched
        }
        if (!walk.personalTexts.isEmpty() && !session.computed.isEmpty()) {
            // Only what code computed is searched (refuseTextsElsewhere): with nothing computed, no tree is read. A
            // member written twice would be searched once (a tree keeps the last): refused as it is read, not named
            // (a map's key may be personal data).
            com.fasterxml.jackson.databind.JsonNode tree;
            try {
                tree = mapper.reader()
                        .with(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                        .readTree(utf8);
            } catch (com.fasterxml.jackson.core.JsonParseException e) {
                throw dev.lethe.core.store.InvalidEventException.of(
                        "json",
                        String.valueOf(e.getOriginalMessage()).startsWith("Duplicate field")
                                ? "an object was written with a member twice (the second would hide the first from the"
                                        + " check that personal values are written only where they are marked); rename one"
                                // A @JsonRawValue that wrote text which is no JSON value: Json.of names it too.
                                : "the value was written as text that is not well-formed JSON (a @JsonRawValue?)");
            } catch (java.io.IOException e) {
                throw dev.lethe.core.store.InvalidEventException.of(
                        "json", "the value was written as text that is not well-formed JSON (a @JsonRawValue?)");
            }
            refuseTextsElsewhere(tree, walk.personalTexts, session.marks, session.computed);
        }
        return new Written(utf8, List.copyOf(session.marks));
    }

    /** Texts this short are looked for as whole values only; shorter than {@link #MIN_TEXT}, not at all. */
    private static final int WHOLE_ONLY_BELOW = 8;

    private static final int MIN_TEXT = 4;

    /**
     * As {@link #WHOLE_ONLY_BELOW}, for a part of a value marked whole (an address's country, "Portugal"), which
     * is less telling alone: looked for within longer text from this length (a street, "221B Baker Street").
     */
    private static final int INNER_WHOLE_ONLY_BELOW = 12;

    /**
     * The last net, whatever wrote it: refuses the value if the text of a {@code @PersonalData} value it holds
     * (a whole string value or member name for texts under {@value #WHOLE_ONLY_BELOW} characters, within one
     * from there on) was written anywhere but at a marked path or inside one — by a getter of another name, a
     * {@code toString}, an exception's message. A non-personal field that happens to hold the same text is
     * refused too: rename one or the other.
     */
    private static void refuseTextsElsewhere(
            com.fasterxml.jackson.databind.JsonNode tree,
            java.util.Map<String, ValueWalk.PersonalText> texts,
            List<Mark> marks,
            java.util.Set<List<String>> computed) {
        if (computed.isEmpty()) {
            return; // every value written is a record's component or a container's element: none computed
        }
        java.util.Map<String, ValueWalk.PersonalText> searched = new java.util.HashMap<>();
        texts.forEach((text, component) -> {
            if (text.length() >= MIN_TEXT) {
                searched.put(text, component);
            }
        });
        if (searched.isEmpty()) {
            return;
        }
        java.util.Set<List<String>> markedPaths = new java.util.HashSet<>();
        for (Mark mark : marks) {
            if (mark.personal()) {
                markedPaths.add(asWritten(mark.segments()));
            }
        }
        search(tree, new ArrayList<>(), searched, markedPaths, computed, false);
    }

    private static void search(
            com.fasterxml.jackson.databind.JsonNode node,
            List<String> path,
            java.util.Map<String, ValueWalk.PersonalText> texts,
            java.util.Set<List<String>> markedPaths,
            java.util.Set<List<String>> computed,
            boolean withinComputed) {
        for (int i = 1; i <= path.size(); i++) {
            if (markedPaths.contains(path.subList(0, i))) {
                return; // at or inside a marked place: sealed there
            }
        }
        withinComputed = withinComputed || computed.contains(path);
        if (node.isTextual() && withinComputed) {
            refuseIfHeld(node.textValue(), texts);
        } else if (node.isNumber() && withinComputed) {
            // A personal number (an account number) written as a number by code: compared whole.
            refuseIfNumberHeld(node, texts);
        }
        if (node.isObject()) {
            for (java.util.Iterator<java.util.Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>> fields =
                            node.fields();
                    fields.hasNext(); ) {
                java.util.Map.Entry<String, com.fasterxml.jackson.databind.JsonNode> field = fields.next();
                path.add(field.getKey());
                if (withinComputed && !markedPaths.contains(path)) {
                    refuseIfHeld(field.getKey(), texts);
                }
                search(field.getValue(), path, texts, markedPaths, computed, withinComputed);
                path.remove(path.size() - 1);
            }
        } else if (node.isArray()) {
            path.add("[]");
            for (com.fasterxml.jackson.databind.JsonNode element : node) {
                search(element, path, texts, markedPaths, computed, withinComputed);
            }
            path.remove(path.size() - 1);
        }
    }

    /**
     * Refuses {@code written} if it holds one of the texts, naming the component the text comes from; never the
     * text, nor where it was written (a map's key there may be personal data).
     */
    private static void refuseIfNumberHeld(
            com.fasterxml.jackson.databind.JsonNode number, java.util.Map<String, ValueWalk.PersonalText> texts) {
        String plain = number.isBigDecimal() ? number.decimalValue().toPlainString() : number.asText();
        ValueWalk.PersonalText held = texts.get(plain);
        if (held != null) {
            refuseIfHeld(plain, java.util.Map.of(plain, held));
        }
    }

    private static void refuseIfHeld(String written, java.util.Map<String, ValueWalk.PersonalText> texts) {
        for (java.util.Map.Entry<String, ValueWalk.PersonalText> text : texts.entrySet()) {
            String value = text.getKey();
            if (value.length() < (text.getValue().inner() ? INNER_WHOLE_ONLY_BELOW : WHOLE_ONLY_BELOW)
                    ? written.equals(value)
                    : written.contains(value)) {
                throw dev.lethe.core.store.InvalidEventException.of(
                        "json",
                        "the text of " + text.getValue().component()
                                + " (@PersonalData) is written outside its marked place (by"
                                + " a getter of another name, a toString, a message?): it would be stored unencrypted"
                                + " there; write personal values only through their marked components (or, if a"
                                + " non-personal field only happens to hold the same text, rename one of them)");
            }
        }
    }

    /** The Jackson module that records (registered on the mapper {@code Json.of} writes with). */
    public static com.fasterxml.jackson.databind.Module module() {
        return new SimpleModule("lethe-mark-recorder").setSerializerModifier(new Modifier());
    }

    /** Whether the property names a serializer of its own for its contents or keys ({@code contentUsing}). */
    private static boolean contentSerializer(BeanPropertyWriter property) {
        com.fasterxml.jackson.databind.annotation.JsonSerialize annotation =
                property.getAnnotation(com.fasterxml.jackson.databind.annotation.JsonSerialize.class);
        return annotation != null
                && (annotation.contentUsing() != JsonSerializer.None.class
                        || annotation.keyUsing() != JsonSerializer.None.class
                        || annotation.contentConverter() != com.fasterxml.jackson.databind.util.Converter.None.class
                        || annotation.converter() != com.fasterxml.jackson.databind.util.Converter.None.class);
    }

    /** Whether what the property returns may hold text: anything but a number, a boolean, a character or an enum. */
    private static boolean mayHoldText(BeanPropertyWriter property) {
        Class<?> type = property.getType().getRawClass();
        return !(type.isPrimitive() || Number.class.isAssignableFrom(type) || type == Boolean.class || type.isEnum());
    }

    /** A property Lethe refuses to write through Json.of: not a component of a record that marks components. */
    private static final class Refusing extends BeanPropertyWriter {
        private final Class<?> record;

        private final String anyGetter;

        Refusing(BeanPropertyWriter base, Class<?> record) {
            this(base, record, null);
        }

        Refusing(BeanPropertyWriter base, Class<?> record, String anyGetter) {
            super(base);
            this.record = record;
            this.anyGetter = anyGetter;
        }

        private Refusing(Refusing base, PropertyName name) {
            super(base, name);
            this.record = base.record;
            this.anyGetter = base.anyGetter;
        }

        @Override
        protected BeanPropertyWriter _new(PropertyName name) {
            return new Refusing(this, name); // renamed by an enclosing @JsonUnwrapped(prefix = …): still refused
        }

        @Override
        public void serializeAsField(Object bean, JsonGenerator gen, SerializerProvider provider) throws Exception {
            refuseIfRecording(gen);
            super.serializeAsField(bean, gen, provider);
        }

        @Override
        public void serializeAsElement(Object bean, JsonGenerator gen, SerializerProvider provider) throws Exception {
            refuseIfRecording(gen); // written as an array's element (shape ARRAY): the same refusal
            super.serializeAsElement(bean, gen, provider);
        }

        private void refuseIfRecording(JsonGenerator gen) throws JsonMappingException {
            if (RECORDING.get() != null) {
                throw JsonMappingException.from(
                        gen,
                        anyGetter != null
                                ? "record " + record.getSimpleName() + " marks personal data and has a " + anyGetter
                                        + ", whose members no path names: they may hold what the marked ones do; remove it"
                                : "record " + record.getSimpleName() + " marks personal data and also writes '"
                                        + getName() + "', which is not one of its components (a method, or an"
                                        + " interface's default getter): text it returns cannot be told apart from the"
                                        + " marked values; @JsonIgnore it, or make it a component");
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
            boolean counted = false;
            java.util.Map<String, String> internalNames = new java.util.HashMap<>();
            java.util.Set<String> fieldBacked = new java.util.HashSet<>();
            for (com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition definition :
                    description.findProperties()) {
                internalNames.put(definition.getName(), definition.getInternalName());
                if (definition.hasField()) {
                    fieldBacked.add(definition.getName()); // a class's field, or its getter: holds what was put in
                }
            }
            for (BeanPropertyWriter property : properties) {
                if (property.isVirtual()) {
                    // @JsonAppend: written by code of its own, not through an accessor (a copy would lose it).
                    changed.add(
                            marked(type)
                                    ? new Refusing(property, type, "@JsonAppend property")
                                    : new Virtual(property));
                    continue;
                }
                RecordComponent component = type.isRecord() ? componentOf(type, property, internalNames) : null;
                boolean personal = component != null && component.isAnnotationPresent(PersonalData.class);
                boolean subject = component != null && component.isAnnotationPresent(DataSubject.class);
                if (personal || subject) {
                    // The first marked property counts the record's writes, checked against the value's records.
                    changed.add(new Recording(property, personal, subject, type, component.getName(), !counted, false));
                    counted = true;
                } else if (type.isRecord() && component == null && marked(type) && mayHoldText(property)) {
                    // A property that is not a component (a method Jackson writes, a bean-style getter of another
                    // name, an interface's default getter) of a record that marks components, itself or in its
                    // records: what it returns is not known to be unmarked. One that cannot hold text (a number,
                    // a boolean, an enum) is written.
                    changed.add(new Refusing(property, type));
                } else if (property.hasSerializer() || contentSerializer(property)) {
                    // A serializer of its own (@JsonSerialize(using = …)): whatever it writes of a marked record
                    // is not seen, so one is refused; where it writes is searched for personal texts.
                    changed.add(new Recording(property, false, false, type, property.getName(), false, true));
                } else if (type.isRecord() ? component == null : !fieldBacked.contains(property.getName())) {
                    // A class's getter with no field of its name, a record's method: computed by code; where it
                    // writes is searched (a getter of a field writes what the application put there, as a
                    // record's component does: not searched, so an unmarked city equal to a marked one is written).
                    changed.add(new Recording(property, false, false, type, property.getName(), false, false));
                } else {
                    changed.add(property);
                }
            }
            if (marked(type) && description.findAnyGetter() != null) {
                // @JsonAnyGetter: members computed by code, beside the marked ones, that no property names.
                List<BeanPropertyWriter> refused = new ArrayList<>();
                for (BeanPropertyWriter property : changed) {
                    refused.add(new Refusing(property, type, "@JsonAnyGetter"));
                }
                return refused;
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
            boolean typeId = description.findProperties().stream()
                    .anyMatch(property -> property.getAccessor() != null
                            && property.getAccessor().hasAnnotation(com.fasterxml.jackson.annotation.JsonTypeId.class));
            if (marked(type) && typeId) {
                return refusing(type, "has a @JsonTypeId, written as its type id outside every property");
            }
            if (ValueWalk.applicationClass(type)
                    && (!(serializer instanceof BeanSerializerBase) || description.findAnyGetter() != null || typeId)) {
                // Written by code (@JsonValue, a serializer of its own, an any-getter): where it goes is searched.
                @SuppressWarnings("unchecked")
                JsonSerializer<Object> delegate = (JsonSerializer<Object>) serializer;
                return new Computed(delegate, false);
            }
            return serializer;
        }

        @Override
        public JsonSerializer<?> modifyMapSerializer(
                SerializationConfig config,
                com.fasterxml.jackson.databind.type.MapType type,
                BeanDescription description,
                JsonSerializer<?> serializer) {
            return computedIfTheApplications(type.getRawClass(), serializer);
        }

        @Override
        public JsonSerializer<?> modifyMapLikeSerializer(
                SerializationConfig config,
                com.fasterxml.jackson.databind.type.MapLikeType type,
                BeanDescription description,
                JsonSerializer<?> serializer) {
            return computedIfTheApplications(type.getRawClass(), serializer);
        }

        @Override
        public JsonSerializer<?> modifyCollectionSerializer(
                SerializationConfig config,
                com.fasterxml.jackson.databind.type.CollectionType type,
                BeanDescription description,
                JsonSerializer<?> serializer) {
            return computedIfTheApplications(type.getRawClass(), serializer);
        }

        @Override
        public JsonSerializer<?> modifyCollectionLikeSerializer(
                SerializationConfig config,
                com.fasterxml.jackson.databind.type.CollectionLikeType type,
                BeanDescription description,
                JsonSerializer<?> serializer) {
            return computedIfTheApplications(type.getRawClass(), serializer);
        }

        /**
         * The application's own map or collection class (an {@code AbstractMap} over its records): what it writes
         * is what its code computes, searched; the JDK's are written as they hold.
         */
        private static JsonSerializer<?> computedIfTheApplications(Class<?> type, JsonSerializer<?> serializer) {
            if (!ValueWalk.applicationClass(type)) {
                return serializer;
            }
            @SuppressWarnings("unchecked")
            JsonSerializer<Object> delegate = (JsonSerializer<Object>) serializer;
            return new Computed(delegate, false);
        }

        @Override
        public JsonSerializer<?> modifyKeySerializer(
                SerializationConfig config, JavaType type, BeanDescription description, JsonSerializer<?> serializer) {
            if (marked(type.getRawClass())) {
                return refusing(type.getRawClass(), "is a map key (written as its toString)");
            }
            if (ValueWalk.applicationClass(type.getRawClass())
                    && !type.getRawClass().isEnum()) {
                // A key written by code (its toString, @JsonKey): the map's member names are searched.
                @SuppressWarnings("unchecked")
                JsonSerializer<Object> delegate = (JsonSerializer<Object>) serializer;
                return new Computed(delegate, true);
            }
            return serializer;
        }
    }

    /**
     * Writes as its delegate does, noting where as written by code: the value's path, or for a map key the
     * map's (whose member names it writes).
     */
    private static final class Computed extends StdSerializer<Object>
            implements com.fasterxml.jackson.databind.ser.ContextualSerializer,
                    com.fasterxml.jackson.databind.ser.ResolvableSerializer {
        private final JsonSerializer<Object> delegate;
        private final boolean key;

        Computed(JsonSerializer<Object> delegate, boolean key) {
            super(Object.class);
            this.delegate = delegate;
            this.key = key;
        }

        private void note(JsonGenerator gen) {
            Session session = RECORDING.get();
            if (session != null) {
                JsonStreamContext at = gen.getOutputContext();
                JsonStreamContext map = key ? at : null;
                if (key) {
                    session.computed.add(asWritten(segmentsOf(map.getParent() == null ? map : map.getParent())));
                } else {
                    session.computed.add(asWritten(segmentsOf(at)));
                }
            }
        }

        @Override
        public void serialize(Object value, JsonGenerator gen, SerializerProvider provider) throws java.io.IOException {
            note(gen);
            delegate.serialize(value, gen, provider);
        }

        @Override
        public void serializeWithType(
                Object value,
                JsonGenerator gen,
                SerializerProvider provider,
                com.fasterxml.jackson.databind.jsontype.TypeSerializer types)
                throws java.io.IOException {
            note(gen);
            delegate.serializeWithType(value, gen, provider, types);
        }

        @Override
        public boolean isEmpty(SerializerProvider provider, Object value) {
            return delegate.isEmpty(provider, value);
        }

        @Override
        public boolean usesObjectId() {
            return delegate.usesObjectId();
        }

        @Override
        public JsonSerializer<?> createContextual(
                SerializerProvider provider, com.fasterxml.jackson.databind.BeanProperty property)
                throws JsonMappingException {
            if (delegate instanceof com.fasterxml.jackson.databind.ser.ContextualSerializer contextual) {
                @SuppressWarnings("unchecked")
                JsonSerializer<Object> made = (JsonSerializer<Object>) contextual.createContextual(provider, property);
                return made == delegate ? this : new Computed(made, key);
            }
            return this;
        }

        @Override
        public void resolve(SerializerProvider provider) throws JsonMappingException {
            if (delegate instanceof com.fasterxml.jackson.databind.ser.ResolvableSerializer resolvable) {
                resolvable.resolve(provider);
            }
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

            @Override
            public void serializeWithType(
                    Object value,
                    JsonGenerator gen,
                    SerializerProvider provider,
                    com.fasterxml.jackson.databind.jsontype.TypeSerializer types)
                    throws java.io.IOException {
                serialize(value, gen, provider); // with @JsonTypeInfo too: the same refusal
            }
        };
    }

    /** The record component {@code property} writes, or null (a getter of another name). */
    private static RecordComponent componentOf(
            Class<?> record, BeanPropertyWriter property, java.util.Map<String, String> internalNames) {
        // The property's internal name is the component's (a record's accessor, field and constructor parameter
        // share it), even when Jackson reads it through a bean-style getter (getStreet()).
        for (String name : new String[] {
            internalNames.get(property.getName()),
            property.getMember() == null ? null : property.getMember().getName()
        }) {
            for (RecordComponent component : record.getRecordComponents()) {
                if (component.getName().equals(name)) {
                    return component;
                }
            }
        }
        return null;
    }

    /**
     * A virtual property ({@code @JsonAppend}) of a type that marks nothing, written by the original writer (a
     * copy loses the code that computes its value), where it goes noted as computed: searched.
     */
    private static final class Virtual extends BeanPropertyWriter {
        private final BeanPropertyWriter original;

        Virtual(BeanPropertyWriter original) {
            super(original);
            this.original = original;
        }

        @Override
        public void serializeAsField(Object bean, JsonGenerator gen, SerializerProvider provider) throws Exception {
            Session recording = RECORDING.get();
            JsonStreamContext object = gen.getOutputContext();
            int before = object.getEntryCount();
            original.serializeAsField(bean, gen, provider);
            if (recording != null && gen.getOutputContext() == object && object.getEntryCount() > before) {
                recording.computed.add(asWritten(segmentsOf(object))); // its name is the context's current one now
            }
        }

        @Override
        public void serializeAsElement(Object bean, JsonGenerator gen, SerializerProvider provider) throws Exception {
            Session recording = RECORDING.get();
            if (recording != null) {
                recording.computed.add(asWritten(segmentsOf(gen.getOutputContext())));
            }
            original.serializeAsElement(bean, gen, provider);
        }
    }

    /** Writes a property as Jackson would, noting where a marked one went. */
    private static final class Recording extends BeanPropertyWriter {
        private final boolean personal;
        private final boolean subject;
        private final Class<?> record;
        private final String component;
        private final boolean counts;
        private final boolean ownSerializer;

        Recording(
                BeanPropertyWriter base,
                boolean personal,
                boolean subject,
                Class<?> record,
                String component,
                boolean counts,
                boolean ownSerializer) {
            super(base);
            this.personal = personal;
            this.subject = subject;
            this.record = record;
            this.component = component;
            this.counts = counts;
            this.ownSerializer = ownSerializer;
        }

        private Recording(Recording base, PropertyName name) {
            super(base, name);
            this.personal = base.personal;
            this.subject = base.subject;
            this.record = base.record;
            this.component = base.component;
            this.counts = base.counts;
            this.ownSerializer = base.ownSerializer;
        }

        private void count(Session session, Object bean) {
            if (counts) {
                session.written.merge(bean, 1, Integer::sum);
            }
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
            Session recording = RECORDING.get();
            if (recording == null) {
                super.serializeAsField(bean, gen, provider);
                return;
            }
            count(recording, bean);
            Object value = get(bean);
            if (!personal && !subject) {
                if (!ownSerializer) {
                    // Computed by code (a class's getter, a record's method): where it writes is searched for the
                    // personal texts the value holds.
                    writeComputed(bean, gen, provider, recording);
                    return;
                }
                if (value instanceof java.util.Iterator<?> || value instanceof java.util.stream.BaseStream<?, ?>) {
                    throw JsonMappingException.from(
                            gen,
                            record.getSimpleName() + "." + component + " is an iterator or a stream written by a"
                                    + " serializer of its own: what it holds cannot be checked without using it up;"
                                    + " give it a list");
                }
                if (marked(value == null ? null : value.getClass())) {
                    throw JsonMappingException.from(
                            gen,
                            record.getSimpleName() + "." + component + " holds a "
                                    + value.getClass().getSimpleName()
                                    + ", which marks personal data, and is written by a serializer of its own: no"
                                    + " path of a schema would name what it writes, stored unencrypted");
                }
                writeComputed(bean, gen, provider, recording);
                return;
            }
            JsonStreamContext object = gen.getOutputContext();
            int before = object.getEntryCount();
            super.serializeAsField(bean, gen, provider);
            // Written when the object gained a member (a name the object already has included: a duplicate).
            boolean written = gen.getOutputContext() == object && object.getEntryCount() > before;
            if (written && value != null && !(value instanceof Optional<?> o && o.isEmpty())) {
                recording.marks.add(
                        new Mark(segmentsOf(object), personal, subject, record, component, inArray(object)));
            }
        }

        /** Writes the property as Jackson would, noting where (a member of code's computing, searched). */
        private void writeComputed(Object bean, JsonGenerator gen, SerializerProvider provider, Session recording)
                throws Exception {
            JsonStreamContext object = gen.getOutputContext();
            int before = object.getEntryCount();
            super.serializeAsField(bean, gen, provider);
            if (gen.getOutputContext() == object && object.getEntryCount() > before) {
                recording.computed.add(asWritten(segmentsOf(object)));
            }
        }

        @Override
        public void serializeAsElement(Object bean, JsonGenerator gen, SerializerProvider provider) throws Exception {
            Session recording = RECORDING.get();
            if (recording != null && !personal && !subject) {
                // A computed property of a class written as an array (@JsonFormat(shape = ARRAY)): its elements
                // are searched, as its members would be.
                recording.computed.add(asWritten(segmentsOf(gen.getOutputContext())));
            }
            if (recording != null && (personal || subject)) {
                count(recording, bean);
                if (get(bean) != null) {
                    // A record written as an array of its values (@JsonFormat(shape = ARRAY)): no path names them.
                    List<String> segments = new ArrayList<>(segmentsOf(gen.getOutputContext()));
                    segments.add("[]");
                    recording.marks.add(new Mark(segments, personal, subject, record, component, true));
                }
            }
            super.serializeAsElement(bean, gen, provider);
        }
    }

    /** The member path of the context's current position: its names from the root, {@code []} for an array. */
    private static List<String> segmentsOf(JsonStreamContext context) {
        List<String> names = new ArrayList<>();
        for (JsonStreamContext at = context; at != null && !at.inRoot(); at = at.getParent()) {
            // A map's key (which may be personal data) is never shown, nor a path a schema could name.
            names.add(
                    at.inArray()
                            ? "[]"
                            : at.getCurrentValue() instanceof java.util.Map<?, ?>
                                    ? "\u0000" + at.getCurrentName()
                                    : String.valueOf(at.getCurrentName()));
        }
        java.util.Collections.reverse(names);
        return names;
    }

    /** The segments as the written JSON names them (a map's key without its mark). */
    private static List<String> asWritten(List<String> segments) {
        List<String> written = new ArrayList<>(segments.size());
        for (String segment : segments) {
            written.add(segment.startsWith("\u0000") ? segment.substring(1) : segment);
        }
        return written;
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
