package dev.lethe.core.privacy.schema;

import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.FieldRule;
import dev.lethe.core.privacy.PrivacySchema;
import dev.lethe.core.store.InvalidEventException;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads the privacy model from a record's annotations: {@link DataSubject} and {@link PersonalData}
 * on its components. Nested records are read too, their fields named {@code outer.inner}. A field is named
 * as Jackson writes it: a component's {@code @JsonProperty} name, else the record's {@code @JsonNaming}
 * strategy applied to the component's name, else the name itself (a mapper configured with a naming
 * strategy of its own is not seen here: {@link dev.lethe.core.privacy.SchemaRegistry#refuseJsonNames}
 * refuses events that spell a classified field another way).
 */
public final class AnnotationNotation {
    private AnnotationNotation() {}

    public static PrivacySchema read(String eventType, Class<? extends Record> type) {
        dev.lethe.core.spi.AppendRules.require(eventType, "event type");
        dev.lethe.core.spi.AppendRules.require(type, "record class");
        List<FieldRule> rules = new ArrayList<>();
        collect(type, "", rules);
        return new PrivacySchema(eventType, rules);
    }

    /** Every component path of the record, nested records included: the fields the linter looks at. */
    public static List<String> allPaths(Class<? extends Record> type) {
        dev.lethe.core.spi.AppendRules.require(type, "record class");
        List<String> out = new ArrayList<>();
        paths(type, "", out);
        return out;
    }

    private static void paths(Class<?> type, String prefix, List<String> out) {
        paths(type, prefix, out, new HashSet<>());
    }

    private static void paths(Class<?> type, String prefix, List<String> out, Set<Class<?>> enclosing) {
        enclosing.add(type);
        for (RecordComponent component : type.getRecordComponents()) {
            String name = jsonName(type, component);
            out.add(prefix + name);
            // A record that contains itself (a parent of the same type) has no last path: stop there.
            if (component.getType().isRecord() && !enclosing.contains(component.getType())) {
                paths(component.getType(), prefix + name + ".", out, enclosing);
            }
        }
        enclosing.remove(type);
    }

    /**
     * The name Jackson writes {@code component} under: its {@code @JsonProperty} name (on the component,
     * which Java puts on its accessor, field and constructor parameter), else the record's {@code
     * @JsonNaming} strategy applied to its name, else its name.
     */
    static String jsonName(Class<?> record, RecordComponent component) {
        com.fasterxml.jackson.annotation.JsonGetter getter =
                component.getAccessor().getAnnotation(com.fasterxml.jackson.annotation.JsonGetter.class);
        if (getter != null && !getter.value().isEmpty()) {
            return getter.value();
        }
        com.fasterxml.jackson.annotation.JsonProperty property =
                component.getAccessor().getAnnotation(com.fasterxml.jackson.annotation.JsonProperty.class);
        if (property == null) {
            try {
                property = record.getDeclaredField(component.getName())
                        .getAnnotation(com.fasterxml.jackson.annotation.JsonProperty.class);
            } catch (NoSuchFieldException notAField) {
                // a record's components are its fields; nothing to read otherwise
            }
        }
        if (property == null) {
            // A bean-style getter beside the accessor (getName() for name), which Jackson links to the component.
            String capital = Character.toUpperCase(component.getName().charAt(0))
                    + component.getName().substring(1);
            for (String getterName : List.of("get" + capital, "is" + capital)) {
                try {
                    java.lang.reflect.Method bean = record.getMethod(getterName);
                    com.fasterxml.jackson.annotation.JsonGetter beanGetter =
                            bean.getAnnotation(com.fasterxml.jackson.annotation.JsonGetter.class);
                    if (beanGetter != null && !beanGetter.value().isEmpty()) {
                        return beanGetter.value();
                    }
                    property = bean.getAnnotation(com.fasterxml.jackson.annotation.JsonProperty.class);
                    if (property != null) {
                        break;
                    }
                } catch (NoSuchMethodException none) {
                    // no such getter: the component's own name stands
                }
            }
        }
        if (property != null && !property.value().isEmpty()) {
            return property.value();
        }
        com.fasterxml.jackson.databind.annotation.JsonNaming naming =
                record.getAnnotation(com.fasterxml.jackson.databind.annotation.JsonNaming.class);
        if (naming != null) {
            Object strategy;
            try {
                strategy = naming.value().getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException e) {
                throw InvalidEventException.of(
                        "schema", record.getSimpleName() + "'s @JsonNaming strategy cannot be made: " + e);
            }
            if (strategy instanceof com.fasterxml.jackson.databind.PropertyNamingStrategies.LowerDotCaseStrategy) {
                throw InvalidEventException.of(
                        "schema",
                        record.getSimpleName() + "'s @JsonNaming strategy LowerDotCaseStrategy writes member names with"
                                + " '.', which no path can name (a path's '.' nests objects): use another strategy or"
                                + " @JsonProperty names");
            }
            if (strategy instanceof com.fasterxml.jackson.databind.PropertyNamingStrategies.NamingBase base) {
                return base.translate(component.getName());
            }
            throw InvalidEventException.of(
                    "schema",
                    record.getSimpleName() + "'s @JsonNaming strategy "
                            + naming.value().getSimpleName()
                            + " is not one of Jackson's PropertyNamingStrategies: the names it writes are unknown"
                            + " here, so no classified field could be found; use @JsonProperty names");
        }
        return component.getName();
    }

    /**
     * Refuses a component that Jackson writes in another shape than a member of its own name when it is,
     * or holds, classified data: {@code @JsonUnwrapped} (its fields written at the enclosing level, with
     * a prefix) and {@code @JsonAnyGetter} (a map's entries written as members), where no path of the
     * schema names them and the values would be stored unencrypted.
     */
    private static void refuseReshaped(Class<?> record, RecordComponent component, String path) {
        boolean classified = component.isAnnotationPresent(PersonalData.class)
                || component.isAnnotationPresent(DataSubject.class)
                || (component.getType().isRecord() && marks(component.getType(), new HashSet<>()))
                || markedRecordIn(component.getGenericType(), new HashSet<>()).isPresent();
        if (!classified) {
            return;
        }
        for (Class<? extends java.lang.annotation.Annotation> reshaping : List.of(
                com.fasterxml.jackson.annotation.JsonUnwrapped.class,
                com.fasterxml.jackson.annotation.JsonAnyGetter.class)) {
            if (component.getAccessor().isAnnotationPresent(reshaping) || fieldHas(record, component, reshaping)) {
                throw InvalidEventException.of(
                        "schema",
                        "component " + path + " is @" + reshaping.getSimpleName() + ": Jackson writes what it holds"
                                + " as members of the enclosing object, where no path of this schema names them, so its"
                                + " personal data would be stored unencrypted; remove @" + reshaping.getSimpleName()
                                + ", or classify the fields it writes as components of their own");
            }
        }
    }

    private static boolean fieldHas(
            Class<?> record, RecordComponent component, Class<? extends java.lang.annotation.Annotation> annotation) {
        try {
            return record.getDeclaredField(component.getName()).isAnnotationPresent(annotation);
        } catch (NoSuchFieldException notAField) {
            return false;
        }
    }

    /** The JSON name of {@code record}'s component named {@code javaName}, or that name when there is none. */
    private static String jsonNameOf(Class<?> record, String javaName) {
        for (RecordComponent component : record.getRecordComponents()) {
            if (component.getName().equals(javaName)) {
                return jsonName(record, component);
            }
        }
        return javaName;
    }

    private static void collect(Class<?> type, String prefix, List<FieldRule> rules) {
        collect(type, prefix, rules, new HashSet<>());
    }

    private static void collect(Class<?> type, String prefix, List<FieldRule> rules, Set<Class<?>> enclosing) {
        if (!type.isRecord()) {
            throw InvalidEventException.of("schema", type.getName() + " is not a record");
        }
        enclosing.add(type);
        for (RecordComponent component : type.getRecordComponents()) {
            String name = jsonName(type, component);
            String path = prefix + name;
            DataSubject marksSubject = component.getAnnotation(DataSubject.class);
            if (name.contains(".")
                    && (marksSubject != null
                            || component.isAnnotationPresent(PersonalData.class)
                            || subjectKeyIn(component.getGenericType(), new HashSet<>())
                                    .isPresent()
                            || markedRecordIn(component.getGenericType(), new HashSet<>())
                                    .isPresent())) {
                // A path's dot is nesting: "contact.email" would be looked for inside a member "contact", and
                // every event written with the member as named would be refused at append.
                throw InvalidEventException.of(
                        "schema",
                        "component " + prefix + component.getName() + " is named '" + name + "' in JSON: a classified"
                                + " field's name may not hold a dot, which a path reads as nesting; name it without");
            }
            refuseReshaped(type, component, path);
            DataSubject subject = component.getAnnotation(DataSubject.class);
            PersonalData personal = component.getAnnotation(PersonalData.class);
            if (subject != null) {
                refuseUnprintableKey(component, path);
            }
            if (personal != null && subject == null) {
                Optional<String> key = subjectKeyIn(component.getGenericType(), new HashSet<>());
                if (key.isPresent()) {
                    // Sealed whole, the record's key is never read: its fields would belong to another subject.
                    throw InvalidEventException.of(
                            "schema",
                            "component " + path + " is sealed whole (@PersonalData) but names a data subject inside ("
                                    + key.get() + "), which Lethe would not read: mark the record's personal"
                                    + " components instead, or move the @DataSubject out of it");
                }
            }
            if (subject != null || personal != null) {
                Optional<DataGroup> group =
                        personal == null ? Optional.empty() : Optional.of(DataGroup.of(personal.group()));
                Optional<String> owner = personal == null || personal.subject().isEmpty()
                        ? Optional.empty()
                        : Optional.of(prefix + jsonNameOf(type, personal.subject()));
                rules.add(new FieldRule(path, personal != null, subject != null, group, owner));
            } else if (component.getType().isRecord()) {
                // Box<Contact>: Box's own components are type variables here, so its rules cannot name
                // Contact's marked fields.
                Optional<Class<?>> argument = component.getGenericType() instanceof ParameterizedType generic
                        ? markedRecordIn(generic, new HashSet<>())
                        : Optional.empty();
                if (argument.isPresent()) {
                    throw InvalidEventException.of(
                            "schema",
                            "component " + path + " is a generic "
                                    + component.getType().getSimpleName() + " of "
                                    + argument.get().getSimpleName()
                                    + ", whose components are marked personal: no path names them; mark " + path
                                    + " itself @PersonalData");
                }
                if (enclosing.contains(component.getType())) {
                    // A record inside itself: its paths never end, so a marked field in it has none.
                    if (marks(component.getType(), new HashSet<>())) {
                        throw InvalidEventException.of(
                                "schema",
                                "component " + path + " is a "
                                        + component.getType().getSimpleName()
                                        + " inside a " + component.getType().getSimpleName()
                                        + ", which marks fields personal: no path names them at every depth; mark "
                                        + path + " itself @PersonalData");
                    }
                    continue;
                }
                collect(component.getType(), path + ".", rules, enclosing);
            } else {
                Optional<Class<?>> inside = markedRecordIn(component.getGenericType(), new HashSet<>());
                if (inside.isPresent()) {
                    // A list, array, map, Optional or sealed interface of them: no path names the values,
                    // so the marked fields would be stored unencrypted.
                    throw InvalidEventException.of(
                            "schema",
                            "component " + path + " holds " + inside.get().getSimpleName()
                                    + " records whose components are marked personal, inside a "
                                    + component.getType().getSimpleName()
                                    + ": no path names them; mark " + path + " itself @PersonalData");
                }
            }
        }
        enclosing.remove(type);
    }

    /**
     * A record type inside {@code type} that marks a component, if any: through type arguments of the JDK's
     * containers ({@code List<Address>}, {@code Map<String, Address>}, {@code Optional<Address>}), array
     * elements, wildcard and type-variable bounds (lower ones too: {@code ? super Address}), the permitted
     * subclasses of a sealed type, and the fields and supertypes of the application's own classes, their type
     * variables bound as the type names them ({@code Holder<Address>} holding a {@code T value}; not {@code
     * Id<Address>} holding only a {@code String}).
     */
    private static Optional<Class<?>> markedRecordIn(Type type, Set<Object> seen) {
        return markedIn(type, Map.of(), seen);
    }

    private static Optional<Class<?>> markedIn(Type type, Map<TypeVariable<?>, Type> bindings, Set<Object> seen) {
        if (type instanceof Class<?> c) {
            if (c.isArray()) {
                return markedIn(c.getComponentType(), bindings, seen);
            }
            if (c.isSealed()) {
                return firstMarked(c.getPermittedSubclasses(), seen);
            }
            if (c.isRecord()) {
                return marks(c, seen) ? Optional.of(c) : Optional.empty();
            }
            return applicationType(c) ? markedInApplicationType(c, Map.of(), seen) : Optional.empty();
        }
        if (type instanceof ParameterizedType parameterized) {
            Class<?> raw = (Class<?>) parameterized.getRawType();
            Type[] arguments = parameterized.getActualTypeArguments();
            // Every type argument first, as the JDK's containers (and generic records) write their values: for
            // the application's own types too, which may hold them in ways not followed here (a T in an inner
            // class, a sealed type's subclasses). It refuses an Id<Address> that holds only a string: safe.
            for (Type argument : arguments) {
                Optional<Class<?>> found = markedIn(argument, bindings, seen);
                if (found.isPresent()) {
                    return found;
                }
            }
            if (raw.isSealed() || raw.isRecord()) {
                Optional<Class<?>> found = markedIn(raw, bindings, seen);
                if (found.isPresent()) {
                    return found;
                }
            }
            if (applicationType(raw)) {
                // Its type variables as this use binds them (and those of the types enclosing it, as bound
                // where it is used: an inner class's T): what its fields of type T hold.
                Map<TypeVariable<?>, Type> bound = new java.util.HashMap<>(bindings);
                TypeVariable<?>[] parameters = raw.getTypeParameters();
                for (int i = 0; i < parameters.length && i < arguments.length; i++) {
                    bound.put(parameters[i], resolved(arguments[i], bindings));
                }
                return markedInApplicationType(raw, bound, seen);
            }
            return Optional.empty();
        }
        if (type instanceof GenericArrayType array) {
            return markedIn(array.getGenericComponentType(), bindings, seen);
        }
        if (type instanceof WildcardType wildcard) {
            for (Type[] bounds : List.of(wildcard.getUpperBounds(), wildcard.getLowerBounds())) {
                for (Type bound : bounds) {
                    Optional<Class<?>> found = markedIn(bound, bindings, seen);
                    if (found.isPresent()) {
                        return found;
                    }
                }
            }
            return Optional.empty();
        }
        if (type instanceof TypeVariable<?> variable) {
            Type bound = bindings.get(variable);
            if (bound != null) {
                return markedIn(bound, Map.of(), seen); // resolved where it was bound
            }
            if (!seen.add(variable)) {
                return Optional.empty(); // T extends Comparable<T>: its bounds are walked once
            }
            return firstMarked(variable.getBounds(), seen);
        }
        return Optional.empty();
    }

    /** How many types (with their bindings) one component's check walks at most. */
    private static final int MAX_TYPES_WALKED = 2_000;

    /** {@code type} with a type variable {@code bindings} binds replaced by what it is bound to. */
    private static Type resolved(Type type, Map<TypeVariable<?>, Type> bindings) {
        return type instanceof TypeVariable<?> variable && bindings.containsKey(variable)
                ? bindings.get(variable)
                : type;
    }

    /**
     * A class or interface of the application's (not a record): Jackson writes its fields, or the values of
     * the collection it is ({@code extends ArrayList<Address>}, {@code implements List<Address>}), which no
     * path of the schema names; a marked record among them would be stored unencrypted.
     */
    private static Optional<Class<?>> markedInApplicationType(
            Class<?> c, Map<TypeVariable<?>, Type> bindings, Set<Object> seen) {
        if (!seen.add(List.of(c, bindings))) {
            return Optional.empty();
        }
        if (seen.size() > MAX_TYPES_WALKED) {
            // Types that bind each other in ever new ways: refused rather than walked without end.
            throw InvalidEventException.of(
                    "schema",
                    "a component's type reaches more than " + MAX_TYPES_WALKED + " type bindings (" + c.getSimpleName()
                            + " among them): too intricate to check that it holds no annotated record; mark the"
                            + " component itself @PersonalData, or give it a simpler type");
        }
        for (java.lang.reflect.Field field : c.getDeclaredFields()) {
            if (!java.lang.reflect.Modifier.isStatic(field.getModifiers()) && !field.isSynthetic()) {
                Optional<Class<?>> found = markedIn(field.getGenericType(), bindings, seen);
                if (found.isPresent()) {
                    return found;
                }
            }
        }
        List<Type> supertypes = new ArrayList<>(List.of(c.getGenericInterfaces()));
        if (c.getGenericSuperclass() != null) {
            supertypes.add(c.getGenericSuperclass());
        }
        for (Type supertype : supertypes) {
            Optional<Class<?>> found = markedIn(supertype, bindings, seen);
            if (found.isPresent()) {
                return found;
            }
        }
        return Optional.empty();
    }

    /**
     * A class or interface of the application's: not a record, enum, primitive or array, nor the JDK's (its
     * generic supertypes are read where the application names them: {@code extends ArrayList<Address>}).
     */
    private static boolean applicationType(Class<?> c) {
        return c != null
                && c != Object.class
                && !c.isRecord()
                && !c.isEnum()
                && !c.isPrimitive()
                && !c.isArray()
                && !c.getName().startsWith("java.")
                && !c.getName().startsWith("javax.")
                && !c.getName().startsWith("jdk.")
                && !c.getName().startsWith("sun.")
                && !c.getName().startsWith("com.fasterxml.jackson.");
    }

    private static Optional<Class<?>> firstMarked(Type[] types, Set<Object> seen) {
        for (Type type : types) {
            Optional<Class<?>> found = markedRecordIn(type, seen);
            if (found.isPresent()) {
                return found;
            }
        }
        return Optional.empty();
    }

    /**
     * A data subject key is written as a string or a number: a boolean, a record or a collection never is;
     * nor is an enum, whose few values could not each name one person (every GOLD customer would be one
     * subject, and forgetting one would forget them all), as in the Protobuf notation.
     */
    private static void refuseUnprintableKey(RecordComponent component, String path) {
        Class<?> type = component.getType();
        if (type.isEnum()) {
            throw InvalidEventException.of(
                    "schema",
                    "component " + path + " is a @DataSubject of enum type " + type.getSimpleName()
                            + ": its few values cannot each name one person; a data subject key must be a string or"
                            + " a number");
        }
        if (type == boolean.class
                || type == Boolean.class
                || type == Object.class
                || type.isRecord()
                || type.isArray()
                || java.util.Collection.class.isAssignableFrom(type)
                || java.util.Map.class.isAssignableFrom(type)) {
            throw InvalidEventException.of(
                    "schema",
                    "component " + path + " is a @DataSubject of type " + type.getSimpleName()
                            + "; a data subject key must be a string or a number");
        }
    }

    /**
     * A {@link DataSubject} component ({@code Record.component}) in the records {@code type} is or holds —
     * through components, arrays, collections, {@code Optional}s and sealed interfaces — if any.
     */
    private static Optional<String> subjectKeyIn(Type type, Set<Object> seen) {
        if (type instanceof Class<?> c) {
            if (c.isArray()) {
                return subjectKeyIn(c.getComponentType(), seen);
            }
            if (c.isSealed()) {
                return firstSubjectKey(c.getPermittedSubclasses(), seen);
            }
            if (!c.isRecord() || !seen.add(c)) {
                return Optional.empty();
            }
            for (RecordComponent component : c.getRecordComponents()) {
                if (component.isAnnotationPresent(DataSubject.class)) {
                    return Optional.of(c.getSimpleName() + "." + component.getName());
                }
                Optional<String> inner = subjectKeyIn(component.getGenericType(), seen);
                if (inner.isPresent()) {
                    return inner;
                }
            }
            return Optional.empty();
        }
        if (type instanceof ParameterizedType parameterized) {
            return firstSubjectKey(parameterized.getActualTypeArguments(), seen);
        }
        if (type instanceof GenericArrayType array) {
            return subjectKeyIn(array.getGenericComponentType(), seen);
        }
        if (type instanceof WildcardType wildcard) {
            Optional<String> upper = firstSubjectKey(wildcard.getUpperBounds(), seen);
            return upper.isPresent() ? upper : firstSubjectKey(wildcard.getLowerBounds(), seen);
        }
        if (type instanceof TypeVariable<?> variable) {
            return seen.add(variable) ? firstSubjectKey(variable.getBounds(), seen) : Optional.empty();
        }
        return Optional.empty();
    }

    private static Optional<String> firstSubjectKey(Type[] types, Set<Object> seen) {
        for (Type type : types) {
            Optional<String> found = subjectKeyIn(type, seen);
            if (found.isPresent()) {
                return found;
            }
        }
        return Optional.empty();
    }

    /** Whether a record marks any component, at any depth. */
    private static boolean marks(Class<?> record, Set<Object> seen) {
        if (!seen.add(record)) {
            return false;
        }
        for (RecordComponent component : record.getRecordComponents()) {
            if (component.isAnnotationPresent(PersonalData.class)
                    || component.isAnnotationPresent(DataSubject.class)
                    || markedRecordIn(component.getGenericType(), seen).isPresent()) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code record} marks a component, itself or in the records its types name. */
    static boolean marksAnything(Class<?> record) {
        return marks(record, new HashSet<>());
    }
}
