package dev.lethe.core.privacy.schema;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.SerializationConfig;
import com.fasterxml.jackson.databind.introspect.AnnotatedMember;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Walks a Java value as {@link MarkRecorder#write} checks it, for two things:
 *
 * <ul>
 *   <li>how often it reaches each record with a component marked {@code @PersonalData} or {@code @DataSubject},
 *       through what Jackson writes — records' and the application's classes' properties as Jackson finds them
 *       (through the same accessors), collections and any {@code Iterable}, maps (keys and values), map
 *       entries, arrays, {@code Optional}, {@code AtomicReference} and {@code AtomicReferenceArray}, Jackson's
 *       {@code POJONode}: compared with how often Jackson wrote each through its properties;
 *   <li>the text of every {@code @PersonalData} value it can reach, through those and through fields Jackson
 *       does not write (transient, ignored, private without a getter), which a getter of another name may
 *       still write in some form (its {@code toString}): looked for in what was written.
 * </ul>
 */
final class ValueWalk {
    /** How many objects one walk visits at most; a value that needs more is refused, not half-checked. */
    static final int MAX_VISITS = 1_000_000;

    /**
     * How deep one walk goes at most: as deep as Lethe's mapper writes (its nesting limit), through fields Jackson
     * does not write too; a value that nests deeper is refused, not half-checked (the walk is recursive).
     */
    static final int MAX_DEPTH = 2 * com.fasterxml.jackson.core.StreamReadConstraints.DEFAULT_MAX_DEPTH;

    /** Whether the walk stopped at {@link #MAX_DEPTH}. */
    boolean tooDeep;

    private final SerializationConfig config;
    final IdentityHashMap<Object, Integer> written = new IdentityHashMap<>();
    /** Each {@code @PersonalData} text reached, with the component that holds it ({@code Addr.street}). */
    final Map<String, PersonalText> personalTexts = new java.util.HashMap<>();

    /**
     * Whether the value holds the application's class with a serializer of its own named on the class
     * ({@code @JsonSerialize(using = …)}), which Jackson uses without the hook that notes where code writes:
     * everything written is then searched.
     */
    boolean ownClassSerializer;

    private final Set<Object> onPath = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    private final Set<Object> searched = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    private final Set<Object> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    private int visits;
    private int depth;

    ValueWalk(SerializationConfig config) {
        this.config = config;
    }

    /**
     * Walks {@code value}; false when it holds more than {@link #MAX_VISITS} objects to look at, or nests them
     * deeper than {@link #MAX_DEPTH} ({@link #tooDeep}).
     */
    boolean walk(Object value) {
        if (value != null && closed(value.getClass())) {
            return true; // an ordinary record (or text, number…) whose types can hold no marked one: nothing to see
        }
        visit(value, true);
        return visits <= MAX_VISITS;
    }

    /**
     * Whether a value of exactly this class holds no record that marks anything: a plain value, or a class
     * {@linkplain #closedType closed by its declared types}. Such values are not walked (most of an
     * application's records: the walk costs reflection on every property and field).
     */
    static boolean closed(Class<?> type) {
        return plain(type) || CLOSED.get(type);
    }

    private static final ClassValue<Boolean> CLOSED = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            // Not through this cache for the classes it reaches: a record on a cycle is taken as closed while its
            // own answer is not known, which must not be kept as the answer of another record found meanwhile.
            return closedClass(type, new java.util.HashSet<>());
        }
    };

    /**
     * Whether whatever a slot of this declared class holds at run time can hold no marked record: a primitive, a
     * final plain class ({@code String}, {@code Integer}, {@code LocalDate}, {@code UUID}) or an enum, an array of
     * such, or a record that marks nothing whose components are declared so (or {@code Optional}s of such). An
     * interface or a class that is not final ({@code CharSequence}, {@code Number}, {@code List}, {@code Map},
     * {@code BigDecimal}) may hold the application's own subclass at run time: not closed. {@code reached}: records
     * already taken (one reached again adds nothing: any open one ends the search).
     */
    private static boolean closedClass(Class<?> type, Set<Class<?>> reached) {
        if (type.isPrimitive() || type.isEnum() || (plain(type) && Modifier.isFinal(type.getModifiers()))) {
            return true;
        }
        if (type.isArray()) {
            return closedClass(type.getComponentType(), reached);
        }
        if (!type.isRecord() || MarkRecorder.marked(type)) {
            return false;
        }
        if (!reached.add(type)) {
            return true;
        }
        for (RecordComponent component : type.getRecordComponents()) {
            if (!closedType(component.getGenericType(), reached)) {
                return false;
            }
        }
        return true;
    }

    /** As {@link #closedClass}, for a declared type: a class, or an {@code Optional} of a closed one. */
    static boolean closedType(java.lang.reflect.Type declared) {
        return declared instanceof Class<?> type ? CLOSED.get(type) : closedType(declared, new java.util.HashSet<>());
    }

    private static boolean closedType(java.lang.reflect.Type declared, Set<Class<?>> reached) {
        if (declared instanceof Class<?> type) {
            return closedClass(type, reached);
        }
        if (declared instanceof java.lang.reflect.ParameterizedType parameterized
                && parameterized.getRawType() == Optional.class) {
            // Optional is final, and holds what its type argument says.
            return closedType(parameterized.getActualTypeArguments()[0], reached);
        }
        return false; // a type variable, a wildcard, a generic array, a list or a map (which the application may
        // implement)
    }

    /**
     * {@code counted}: reached through what Jackson writes (else only through a field it does not write, where
     * only the personal texts are gathered).
     */
    private void visit(Object value, boolean counted) {
        if (value == null || closed(value.getClass()) || visits > MAX_VISITS) {
            return;
        }
        // Counted as often as Jackson writes it; looked through for texts only once.
        if (!seen.add(value) && !counted) {
            return;
        }
        if (depth >= MAX_DEPTH) {
            tooDeep = true;
            visits = MAX_VISITS + 1; // ends the walk
            return;
        }
        if (!onPath.add(value)) {
            return; // a value on its own path: a cycle, which Jackson refuses itself
        }
        visits++;
        depth++;
        try {
            Class<?> type = value.getClass();
            if (applicationClass(type) && OWN_CLASS_SERIALIZER.get(type)) {
                ownClassSerializer = true;
            }
            if (type.isRecord()) {
                if (counted && WRITTEN_MARKS.get(type)) {
                    written.merge(value, 1, Integer::sum);
                }
                gatherTexts(type, value);
                visitProperties(type, value, counted);
            } else if (value instanceof Optional<?> optional) {
                visit(optional.orElse(null), counted);
            } else if (value instanceof java.util.concurrent.atomic.AtomicReference<?> reference) {
                visit(reference.get(), counted);
            } else if (value instanceof java.util.concurrent.atomic.AtomicReferenceArray<?> array) {
                for (int i = 0; i < array.length(); i++) {
                    visit(array.get(i), counted);
                }
            } else if (value instanceof com.fasterxml.jackson.databind.node.POJONode pojo) {
                visit(pojo.getPojo(), counted);
            } else if (value instanceof Map.Entry<?, ?> entry) {
                visit(entry.getKey(), counted);
                visit(entry.getValue(), counted);
            } else if (value instanceof Map<?, ?> map) {
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    visit(entry.getKey(), counted);
                    visit(entry.getValue(), counted);
                }
            } else if (value instanceof Iterable<?> iterable) {
                try {
                    for (Object element : iterable) {
                        visit(element, counted);
                    }
                } catch (RuntimeException once) {
                    throw dev.lethe.core.store.InvalidEventException.of(
                            "json",
                            "the value holds an Iterable that cannot be walked again (" + type.getSimpleName() + ": a"
                                    + " stream's iterator?), so what it held cannot be checked for personal data written"
                                    + " unencrypted; give a list");
                }
            } else if (value instanceof Object[] array) {
                for (Object element : array) {
                    visit(element, counted);
                }
            } else if (applicationClass(type) || value instanceof Throwable) {
                // An exception is written as a bean: its cause, its suppressed ones (the application's, with
                // their fields), its message.
                visitProperties(type, value, counted);
            }
            if (applicationClass(type)
                    && !type.isRecord()
                    && (value instanceof Map<?, ?> || value instanceof Iterable<?> || value instanceof CharSequence)
                    && searched.add(value)) {
                // The application's own map, iterable or text: what its fields hold may be what it writes.
                for (Field field : FIELDS.get(type)) {
                    try {
                        visit(field.get(value), false);
                    } catch (IllegalAccessException | RuntimeException unreadable) {
                        // a field this module may not read
                    }
                }
            }
        } finally {
            depth--;
            onPath.remove(value);
        }
    }

    /**
     * The properties Jackson writes of {@code value}, read through its accessors, counted; then the fields it
     * does not write, for the personal texts only.
     */
    private void visitProperties(Class<?> type, Object value, boolean counted) {
        for (AnnotatedMember accessor : PROPERTIES.get(type, config)) {
            Object property;
            try {
                property = accessor.getValue(value);
            } catch (RuntimeException e) {
                continue; // Jackson called the same accessor first, and failed before this
            }
            if (property != null
                    && property.getClass().isAnnotationPresent(com.fasterxml.jackson.annotation.JsonIgnoreType.class)) {
                continue; // Jackson leaves such values out
            }
            visit(property, counted);
        }
        if (searched.add(value)) {
            for (Field field : FIELDS.get(type)) {
                try {
                    visit(field.get(value), false);
                } catch (IllegalAccessException | RuntimeException unreadable) {
                    // a field this module may not read: its getter, if Jackson writes one, was read above
                }
            }
        }
    }

    /** The text of each {@code @PersonalData} component of {@code record} that holds a string. */
    private void gatherTexts(Class<?> type, Object record) {
        for (PersonalComponent component : PERSONAL_COMPONENTS.get(type)) {
            Object held = component.read(record);
            if (held instanceof Optional<?> optional) {
                held = optional.orElse(null);
            }
            if (held instanceof java.util.Collection<?> collection) {
                for (Object element : collection) {
                    gatherText(element, component.name());
                }
            } else {
                gatherText(held, component.name());
            }
        }
    }

    /** A record's {@code @PersonalData} component: its accessor, made readable once, and its name ({@code Addr.street}). */
    private record PersonalComponent(java.lang.reflect.Method accessor, String name) {
        /** Any component's value (of a record marked whole), or null where it cannot be read. */
        static Object readAny(RecordComponent component, Object record) {
            try {
                java.lang.reflect.Method accessor = component.getAccessor();
                accessor.setAccessible(true);
                return accessor.invoke(record);
            } catch (ReflectiveOperationException | RuntimeException e) {
                return null;
            }
        }

        Object read(Object record) {
            try {
                return accessor.invoke(record);
            } catch (ReflectiveOperationException | RuntimeException e) {
                return null;
            }
        }
    }

    /**
     * By record class, its {@code @PersonalData} components (the reflection behind them, records' components and
     * their annotations, costs tens of microseconds a value when looked up at each visit).
     */
    private static final ClassValue<List<PersonalComponent>> PERSONAL_COMPONENTS = new ClassValue<>() {
        @Override
        protected List<PersonalComponent> computeValue(Class<?> record) {
            List<PersonalComponent> out = new ArrayList<>();
            for (RecordComponent component : record.getRecordComponents()) {
                if (component.isAnnotationPresent(PersonalData.class)) {
                    java.lang.reflect.Method accessor = component.getAccessor();
                    try {
                        accessor.setAccessible(true);
                    } catch (RuntimeException closed) {
                        // a module that does not open it: read as a public accessor, or not at all
                    }
                    out.add(new PersonalComponent(accessor, record.getSimpleName() + "." + component.getName()));
                }
            }
            return List.copyOf(out);
        }
    };

    /**
     * A text, a date or time, an id, a number: as Jackson writes them, the text a getter could write again;
     * and those within a value marked whole (a record, an array, a collection, a map's keys and values).
     */
    private void gatherText(Object held, String component) {
        gatherText(held, component, 0, false);
    }

    /** How deep within a value marked whole texts are gathered. */
    private static final int GATHER_DEPTH = 8;

    /**
     * {@code inner}: a part of a value marked whole (a record's component, a class's field: an address's country),
     * looked for within longer text only from a greater length ("Portugal" in a sentence would refuse too much).
     */
    private void gatherText(Object held, String component, int depth, boolean inner) {
        if (held == null || depth > GATHER_DEPTH || visits > MAX_VISITS) {
            return;
        }
        visits++;
        if (held instanceof CharSequence
                || held instanceof java.time.temporal.TemporalAccessor
                || held instanceof java.util.UUID
                || held instanceof java.util.Date
                || held instanceof Number) {
            String text = held instanceof java.math.BigDecimal decimal ? decimal.toPlainString() : held.toString();
            note(text, component, inner);
            if (held instanceof java.util.Date date) {
                // As Jackson writes it: the mapper's date format (1817-01-02T10:40:00.000+00:00), or milliseconds.
                java.text.DateFormat format =
                        (java.text.DateFormat) config.getDateFormat().clone();
                note(format.format(date), component, inner);
                note(Long.toString(date.getTime()), component, inner);
                note(date.toInstant().toString(), component, inner);
            }
        } else if (held instanceof Optional<?> optional) {
            gatherText(optional.orElse(null), component, depth + 1, inner);
        } else if (held instanceof Object[] array) {
            for (Object element : array) {
                gatherText(element, component, depth + 1, inner);
            }
        } else if (held instanceof java.util.Collection<?> collection) {
            for (Object element : collection) {
                gatherText(element, component, depth + 1, inner);
            }
        } else if (held instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                gatherText(entry.getKey(), component, depth + 1, inner);
                gatherText(entry.getValue(), component, depth + 1, inner);
            }
        } else if (held.getClass().isRecord()) {
            for (RecordComponent part : held.getClass().getRecordComponents()) {
                gatherText(PersonalComponent.readAny(part, held), component, depth + 1, true);
            }
        } else if (applicationClass(held.getClass())) {
            // A class of the application's marked whole (an AddressBean): what its fields hold.
            for (Field field : ALL_FIELDS.get(held.getClass())) {
                try {
                    gatherText(field.get(held), component, depth + 1, true);
                } catch (IllegalAccessException | RuntimeException unreadable) {
                    // a field this module may not read
                }
            }
        }
    }

    /** A personal text gathered, as a part of a value marked whole only if it was only ever found so. */
    private void note(String text, String component, boolean inner) {
        PersonalText known = personalTexts.get(text);
        if (known == null || (known.inner() && !inner)) {
            personalTexts.put(text, new PersonalText(component, inner));
        }
    }

    /**
     * A personal value's text, with the component that holds it ({@code Addr.street}), and whether it is only a
     * part of a value marked whole.
     */
    record PersonalText(String component, boolean inner) {}

    /** Values that hold nothing: strings, numbers, booleans, enums, the JDK's time and id types, primitive arrays. */
    private static boolean plain(Class<?> type) {
        return type.isPrimitive()
                || type.isEnum()
                || ((CharSequence.class.isAssignableFrom(type) || Number.class.isAssignableFrom(type))
                        && !applicationClass(type)) // the application's own text or number: its fields are looked at
                || type == Boolean.class
                || type == Character.class
                || (type.isArray() && type.getComponentType().isPrimitive())
                || java.time.temporal.TemporalAccessor.class.isAssignableFrom(type)
                || type == java.util.UUID.class
                || (com.fasterxml.jackson.databind.node.ValueNode.class.isAssignableFrom(type)
                        && !com.fasterxml.jackson.databind.node.POJONode.class.isAssignableFrom(type));
    }

    static boolean applicationClass(Class<?> type) {
        if (type.isPrimitive() || type.isArray()) {
            return false; // int, long[], Addr[]: no code of the application's (an array's elements are their own)
        }
        String name = type.getName();
        return !name.startsWith("java.")
                && !name.startsWith("javax.")
                && !name.startsWith("jdk.")
                && !name.startsWith("sun.")
                && !name.startsWith("com.fasterxml.jackson.");
    }

    /** Whether a class names a serializer of its own ({@code @JsonSerialize(using = …)} on the class). */
    private static final ClassValue<Boolean> OWN_CLASS_SERIALIZER = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            com.fasterxml.jackson.databind.annotation.JsonSerialize annotation =
                    type.getAnnotation(com.fasterxml.jackson.databind.annotation.JsonSerialize.class);
            return annotation != null
                    && (annotation.using() != com.fasterxml.jackson.databind.JsonSerializer.None.class
                            || annotation.converter() != com.fasterxml.jackson.databind.util.Converter.None.class);
        }
    };

    /** Whether Jackson writes a marked component of this record (one that is not {@code @JsonIgnore}d). */
    private static final ClassValue<Boolean> WRITTEN_MARKS = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> record) {
            for (RecordComponent component : record.getRecordComponents()) {
                boolean marked = component.isAnnotationPresent(PersonalData.class)
                        || component.isAnnotationPresent(DataSubject.class);
                if (marked && !ignored(record, component)) {
                    return true;
                }
            }
            return false;
        }
    };

    private static boolean ignored(Class<?> record, RecordComponent component) {
        if (component.getAccessor().isAnnotationPresent(com.fasterxml.jackson.annotation.JsonIgnore.class)) {
            return true;
        }
        try {
            return record.getDeclaredField(component.getName())
                    .isAnnotationPresent(com.fasterxml.jackson.annotation.JsonIgnore.class);
        } catch (NoSuchFieldException none) {
            return false;
        }
    }

    /** The accessors of the properties Jackson writes of a class, by class (one mapper writes Json.of's values). */
    private static final class Properties {
        private final java.util.concurrent.ConcurrentHashMap<Class<?>, List<AnnotatedMember>> byType =
                new java.util.concurrent.ConcurrentHashMap<>();

        List<AnnotatedMember> get(Class<?> type, SerializationConfig config) {
            return byType.computeIfAbsent(type, t -> find(t, config));
        }

        private static List<AnnotatedMember> find(Class<?> type, SerializationConfig config) {
            BeanDescription description = config.introspect(config.constructType(type));
            Set<String> ignoredByClass = config.getDefaultPropertyIgnorals(type, description.getClassInfo())
                    .findIgnoredForSerialization();
            List<AnnotatedMember> accessors = new ArrayList<>();
            for (BeanPropertyDefinition property : description.findProperties()) {
                AnnotatedMember accessor = property.getAccessor();
                if (accessor != null
                        && !ignoredByClass.contains(property.getName())
                        && !closedType(declaredType(accessor))) {
                    accessor.fixAccess(true);
                    accessors.add(accessor);
                }
            }
            return List.copyOf(accessors);
        }
    }

    private static final Properties PROPERTIES = new Properties();

    /** What an accessor declares it returns (a getter's return type, a field's type). */
    private static java.lang.reflect.Type declaredType(AnnotatedMember accessor) {
        java.lang.reflect.Member member = accessor.getMember();
        if (member instanceof java.lang.reflect.Method method) {
            return method.getGenericReturnType();
        }
        if (member instanceof Field field) {
            return field.getGenericType();
        }
        return Object.class;
    }

    /** Every instance field of a class of the application's and its superclasses (primitives too), made readable. */
    private static final ClassValue<List<Field>> ALL_FIELDS = new ClassValue<>() {
        @Override
        protected List<Field> computeValue(Class<?> type) {
            List<Field> fields = new ArrayList<>();
            for (Class<?> at = type; at != null && applicationClass(at); at = at.getSuperclass()) {
                for (Field field : at.getDeclaredFields()) {
                    if (!Modifier.isStatic(field.getModifiers())) {
                        try {
                            field.setAccessible(true);
                            fields.add(field);
                        } catch (RuntimeException closed) {
                            // a module that does not open it
                        }
                    }
                }
            }
            return List.copyOf(fields);
        }
    };

    /**
     * The fields of {@link #ALL_FIELDS} the walk reads for marked records: those whose declared type may hold one
     * (not a primitive, not a {@linkplain #closedType closed} type).
     */
    private static final ClassValue<List<Field>> FIELDS = new ClassValue<>() {
        @Override
        protected List<Field> computeValue(Class<?> type) {
            return ALL_FIELDS.get(type).stream()
                    .filter(field -> !field.getType().isPrimitive() && !closedType(field.getGenericType()))
                    .toList();
        }
    };
}
