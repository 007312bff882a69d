package dev.lethe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.databind.annotation.JsonAppend;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A record appended through {@link Json#of(Object)} is checked as it is, at run time: a component it marks
 * {@code @PersonalData} or {@code @DataSubject} that the registered schema would not seal (or read as a key)
 * is refused, in lenient mode too — what its static types hid from the registration (an {@code Object},
 * interface or type-variable component), a record class changed since its type was registered, a
 * {@code @JsonTypeInfo} wrapper that moves it off its path, a list of them. Messages never carry the value.
 */
class RecordMarksAtAppendTest {
    @TempDir
    Path keysDirectory;

    private PrivateEventStore lethe;
    private static final Principal DPO = new Principal("dora", "dpo");
    private static final String STREET = "221B Baker Street";

    interface Contact {}

    record Addr(@PersonalData(group = "contact") String street, String city) implements Contact {}

    record ByInterface(
            @DataSubject @PersonalData(group = "contact") String email, Contact contact) {}

    record ByObject(
            @DataSubject @PersonalData(group = "contact") String email, Object extra) {}

    record Envelope<T>(
            @DataSubject @PersonalData(group = "contact") String email, T payload) {}

    record ListOfObjects(
            @DataSubject @PersonalData(group = "contact") String email, List<Object> items) {}

    @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.WRAPPER_OBJECT)
    record WrappedAddr(@PersonalData(group = "contact") String street, String city) {}

    record Moved(
            @DataSubject @PersonalData(group = "contact") String email, WrappedAddr addr) {}

    record RegV1(
            @DataSubject @PersonalData(group = "contact") String email, String tier) {}

    record RegV2(
            @DataSubject @PersonalData(group = "contact") String email,
            String tier,
            @PersonalData(group = "contact") String homeTown) {}

    record Plain(
            @DataSubject @PersonalData(group = "contact") String email, Addr addr) {}

    record Ignoring(
            @DataSubject @PersonalData(group = "contact") String email,
            @JsonIgnore @PersonalData(group = "contact") String note) {}

    record Pair(
            @DataSubject @PersonalData(group = "contact") String email, Addr billing, Contact shipping) {}

    /** A class of the application's, not a record, holding a marked record. */
    public static final class Holder {
        private final Addr inner;

        Holder(Addr inner) {
            this.inner = inner;
        }

        public Addr getInner() {
            return inner;
        }
    }

    record Keyed(
            @DataSubject @PersonalData(group = "contact") String email, Map<Object, String> notes) {}

    record Optionalish(
            @DataSubject @PersonalData(group = "contact") String email,

            @com.fasterxml.jackson.annotation.JsonInclude(
                    com.fasterxml.jackson.annotation.JsonInclude.Include.NON_EMPTY)
            @PersonalData(group = "contact")
            String nick,

            @com.fasterxml.jackson.annotation.JsonInclude(
                    com.fasterxml.jackson.annotation.JsonInclude.Include.NON_DEFAULT)
            @PersonalData(group = "contact")
            int age,

            int amount) {}

    record ToStringHolder(
            @DataSubject @PersonalData(group = "contact") String email,

            @com.fasterxml.jackson.databind.annotation.JsonSerialize(
                    using = com.fasterxml.jackson.databind.ser.std.ToStringSerializer.class)
            Object home) {}

    record Meta(@PersonalData(group = "contact") String note) {}

    @com.fasterxml.jackson.annotation.JsonIdentityInfo(
            generator = com.fasterxml.jackson.annotation.ObjectIdGenerators.PropertyGenerator.class,
            property = "street")
    record IdAddr(@PersonalData(group = "contact") String street, String city) {}

    record ContentUsing(
            @DataSubject @PersonalData(group = "contact") String email,

            @com.fasterxml.jackson.databind.annotation.JsonSerialize(
                    contentUsing = com.fasterxml.jackson.databind.ser.std.ToStringSerializer.class)
            List<Object> items) {}

    record GetterAddr(@PersonalData(group = "contact") String street, String city) {
        public String getStreet() {
            return street;
        }
    }

    record Dup(
            @DataSubject @PersonalData(group = "contact") String email,
            String street,
            @com.fasterxml.jackson.annotation.JsonUnwrapped Object extra) {}

    record Dotted(
            @DataSubject @PersonalData(group = "contact") String email,

            @com.fasterxml.jackson.annotation.JsonProperty("contact.old")
            Object old) {}

    record Person(
            @DataSubject @PersonalData(group = "contact") String email) {}

    record Throwing(
            @DataSubject @PersonalData(group = "contact") String email) {
        @Override
        public String email() {
            throw new IllegalStateException("cannot read " + email);
        }
    }

    @BeforeEach
    void open() {
        lethe = ByteExactSealingTest.openStore(
                keysDirectory, PrivateEventStoreTest.POLICY.replace("strict: true", "strict: false"));
    }

    @AfterEach
    void close() {
        lethe.close();
    }

    private void append(String type, Object value) {
        lethe.append(StreamId.of("c-1"), ExpectedVersion.any(), List.of(EventData.of(type, Json.of(value))));
    }

    private String storedData() {
        return lethe.store().readStream(StreamId.of("c-1"), 0, dev.lethe.core.store.Direction.FORWARD, 1_000).stream()
                .map(event -> event.data().toString())
                .reduce("", String::concat);
    }

    @Test
    void a_marked_record_behind_an_interface_object_or_type_variable_is_refused() {
        lethe.registerRecord(DPO, "ByInterface", ByInterface.class);
        lethe.registerRecord(DPO, "ByObject", ByObject.class);
        lethe.registerRecord(DPO, "Envelope", Envelope.class);

        for (Object[] refused : new Object[][] {
            {"ByInterface", new ByInterface("a@x.org", new Addr(STREET, "London")), "contact.street"},
            {"ByObject", new ByObject("a@x.org", new Addr(STREET, "London")), "extra.street"},
            {"Envelope", new Envelope<>("a@x.org", new Addr(STREET, "London")), "payload.street"}
        }) {
            assertThatThrownBy(() -> append((String) refused[0], refused[1]))
                    .as((String) refused[0])
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("Addr.street (@PersonalData) at " + refused[2] + " is not personal in the"
                            + " registered schema of '" + refused[0]
                            + "' (version 1), so it would be stored unencrypted")
                    .hasMessageNotContaining(STREET);
        }
        // What holds no marked record passes: an Object that is a string, an interface value without marks.
        append("ByObject", new ByObject("a@x.org", "just a note"));
        assertThat(storedData())
                .doesNotContain(STREET)
                .doesNotContain("a@x.org")
                .contains("just a note");
    }

    @Test
    void a_marked_record_inside_a_list_the_types_did_not_show_is_refused() {
        lethe.registerRecord(DPO, "ListOfObjects", ListOfObjects.class);
        assertThatThrownBy(() ->
                        append("ListOfObjects", new ListOfObjects("a@x.org", List.of("x", new Addr(STREET, "London")))))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("Addr.street (@PersonalData) at items[].street is inside an array")
                .hasMessageNotContaining(STREET);
        assertThat(storedData()).isEmpty();
    }

    @Test
    void a_json_type_info_wrapper_that_moves_a_marked_field_off_its_path_is_refused() {
        lethe.registerRecord(DPO, "Moved", Moved.class);
        assertThatThrownBy(() -> append("Moved", new Moved("a@x.org", new WrappedAddr(STREET, "London"))))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("WrappedAddr.street (@PersonalData) at addr.")
                .hasMessageContaining("is not personal in the registered schema of 'Moved'")
                .hasMessageNotContaining(STREET);
        assertThat(storedData()).isEmpty();
    }

    @Test
    void a_record_changed_since_its_type_was_registered_is_refused_until_registered_again() {
        lethe.registerRecord(DPO, "Reg", RegV1.class);
        assertThatThrownBy(() -> append("Reg", new RegV2("a@x.org", "gold", "Brighton")))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("RegV2.homeTown (@PersonalData) at homeTown is not personal in the registered"
                        + " schema of 'Reg' (version 1)")
                .hasMessageContaining("register the record type again")
                .hasMessageNotContaining("Brighton");
        lethe.registerRecord(DPO, "Reg", RegV2.class);
        append("Reg", new RegV2("a@x.org", "gold", "Brighton"));
        assertThat(storedData()).doesNotContain("Brighton").contains("gold");
    }

    @Test
    void a_record_type_without_a_schema_is_refused_in_lenient_mode_when_it_marks_personal_data() {
        assertThatThrownBy(() -> append("Unregistered", new Plain("a@x.org", new Addr(STREET, "London"))))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("'Unregistered' has no registered schema, but its value marks Plain.email")
                .hasMessageNotContaining("a@x.org");
        // A record without marks, or a map, is the lenient mode's to take.
        append("Unregistered", Map.of("city", "London"));
        assertThat(storedData()).contains("London");
    }

    @Test
    void what_the_registration_cannot_see_is_seen_as_jackson_writes_it() {
        lethe.registerRecord(DPO, "Pair", Pair.class);
        lethe.registerRecord(DPO, "ByObject", ByObject.class);
        lethe.registerRecord(DPO, "Keyed", Keyed.class);
        lethe.registerRecord(DPO, "ToStringHolder", ToStringHolder.class);
        Addr same = new Addr(STREET, "London");
        // The same instance twice: written twice, checked twice.
        assertThatThrownBy(() -> append("Pair", new Pair("a@x.org", same, same)))
                .hasMessageContaining("Addr.street (@PersonalData) at shipping.street is not personal");
        assertThatThrownBy(() -> append("ByObject", new ByObject("a@x.org", new Holder(same))))
                .hasMessageContaining("Addr.street (@PersonalData) at extra.inner.street is not personal");
        assertThatThrownBy(() -> append(
                        "ByObject", new ByObject("a@x.org", new java.util.concurrent.atomic.AtomicReference<>(same))))
                .hasMessageContaining("Addr.street (@PersonalData) at extra.street is not personal");
        assertThatThrownBy(() -> append("Keyed", new Keyed("a@x.org", Map.of(same, "v"))))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("record Addr marks personal data but is a map key");
        assertThatThrownBy(() -> append("ToStringHolder", new ToStringHolder("a@x.org", same)))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("ToStringHolder.home holds a Addr, which marks personal data, and is written by a"
                        + " serializer of its own");
        assertThatThrownBy(() -> lethe.append(
                        StreamId.of("c-1"),
                        ExpectedVersion.any(),
                        List.of(EventData.of("ByObject", Json.of(new ByObject("a@x.org", "x")))
                                .withMetadata(Json.of(new Meta("a secret note"))))))
                .hasMessageContaining("Meta.note (@PersonalData) at note: metadata is never encrypted");
        assertThat(storedData()).isEmpty();
    }

    @Test
    void a_marked_record_jackson_writes_other_than_through_its_components_is_refused() {
        lethe.registerRecord(DPO, "ByObject", ByObject.class);
        lethe.registerRecord(DPO, "ContentUsing", ContentUsing.class);
        lethe.registerRecord(DPO, "ToStringHolder", ToStringHolder.class);
        IdAddr twice = new IdAddr(STREET, "London");
        // The second occurrence written as its object id, the street itself.
        assertThatThrownBy(() -> append("ByObject", new ByObject("a@x.org", new Object[] {twice, twice})))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("holds a IdAddr, whose components are marked personal, that Jackson wrote other"
                        + " than through its components")
                .hasMessageNotContaining(STREET);
        assertThatThrownBy(() ->
                        append("ContentUsing", new ContentUsing("a@x.org", List.of(new Addr(STREET, "London")))))
                .hasMessageContaining("holds a Addr, whose components are marked personal");
        assertThatThrownBy(() ->
                        append("ToStringHolder", new ToStringHolder("a@x.org", List.of(new Addr(STREET, "London")))))
                .hasMessageContaining("holds a Addr, whose components are marked personal");
        // Read through a bean-style getter: still the component, still recorded.
        assertThatThrownBy(() -> append("ByObject", new ByObject("a@x.org", new GetterAddr(STREET, "London"))))
                .hasMessageContaining("GetterAddr.street (@PersonalData) at extra.street is not personal");
        assertThatThrownBy(() -> append("ByObject", new Throwing("a@x.org")))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("writing it threw")
                .hasMessageNotContaining("a@x.org");
        assertThat(storedData()).isEmpty();
    }

    @Test
    void repeated_or_dotted_member_names_and_a_key_inside_a_field_sealed_whole_are_refused() {
        lethe.registerRecord(DPO, "Dup", Dup.class);
        lethe.registerJsonSchema(
                DPO,
                "Sealing",
                Json.parse("{\"type\":\"object\",\"properties\":{\"email\":{\"x-gdpr\":{\"pii\":true,\"key\":true,"
                                + "\"dataGroup\":\"contact\"}},\"contact\":{\"x-gdpr\":{\"pii\":true,\"dataGroup\":"
                                + "\"contact\"}}}}")
                        .asTree());
        // {"street":"pub","street":<the marked one>}: the second one is written, and recorded.
        assertThatThrownBy(() -> append("Dup", new Dup("a@x.org", "pub", new Addr(STREET, "London"))))
                .hasMessageContaining("Addr.street (@PersonalData) at street is not personal");
        // "contact.old" is one member, not "old" inside the sealed "contact".
        assertThatThrownBy(() -> append("Sealing", new Dotted("a@x.org", new Addr(STREET, "London"))))
                .hasMessageContaining("Addr.street (@PersonalData) at <key>.street is not personal");
        // A subject key inside a field sealed whole would never be read: the other person's data under this key.
        assertThatThrownBy(() -> append("Sealing", new ByObjectSealing("a@x.org", new Person("bob@x.org"))))
                .hasMessageContaining("Person.email (@DataSubject @PersonalData) at contact.email is not a key");
        assertThat(storedData()).isEmpty();
    }

    record Alias(
            @DataSubject @PersonalData(group = "contact") String email) {
        @com.fasterxml.jackson.annotation.JsonProperty("contact")
        String contact() {
            return email;
        }
    }

    /** Writes its hidden address through a getter of another name, as text. */
    public static final class Hiding {
        public String kind = "k";
        private final transient Addr addr;

        Hiding(Addr addr) {
            this.addr = addr;
        }

        public String getWhere() {
            return String.valueOf(addr);
        }
    }

    /** Holds an address Jackson never writes: no getter, not public. */
    public static final class Keeping {
        public String kind = "k";
        private final Addr addr;

        Keeping(Addr addr) {
            this.addr = addr;
        }
    }

    record Iterating(
            @DataSubject @PersonalData(group = "contact") String email,

            @com.fasterxml.jackson.databind.annotation.JsonSerialize(
                    contentUsing = com.fasterxml.jackson.databind.ser.std.ToStringSerializer.class)
            java.util.Iterator<Object> items) {}

    @Test
    void
            what_a_getter_a_map_entry_or_an_iterator_writes_of_a_marked_record_is_refused_and_what_jackson_never_writes_is_not() {
        lethe.registerRecord(DPO, "ByObject", ByObject.class);
        lethe.registerRecord(DPO, "Alias", Alias.class);
        lethe.registerRecord(DPO, "Iterating", Iterating.class);
        lethe.registerRecord(DPO, "Keyed", Keyed.class);
        Addr addr = new Addr(STREET, "London");
        assertThatThrownBy(() -> append("Alias", new Alias("a@x.org")))
                .hasMessageContaining("record Alias marks personal data and also writes 'contact', which is not one of"
                        + " its components")
                .hasMessageNotContaining("a@x.org");
        assertThatThrownBy(() -> append("ByObject", new ByObject("a@x.org", new Hiding(addr))))
                .hasMessageContaining("the text of Addr.street (@PersonalData) is written outside its marked place")
                .hasMessageNotContaining(STREET);
        assertThatThrownBy(() -> append("Keyed", new Keyed("a@x.org", Map.of(Map.entry("home", addr), "x"))))
                .hasMessageContaining("holds a Addr, whose components are marked personal");
        assertThatThrownBy(() -> append(
                        "Iterating",
                        new Iterating("a@x.org", List.<Object>of(addr).iterator())))
                .hasMessageContaining("Iterating.items is an iterator or a stream");
        assertThatThrownBy(() -> append("ByObject", new ByObject("a@x.org", Map.of("JohnSmith", addr))))
                .hasMessageContaining("at extra.<key>.street")
                .hasMessageNotContaining("JohnSmith");
        assertThat(storedData()).isEmpty();
        // What Jackson never writes stores nothing: no refusal.
        append("ByObject", new ByObject("a@x.org", new Keeping(addr)));
        assertThat(storedData()).doesNotContain(STREET).contains("\"kind\":\"k\"");
    }

    interface Versioned {
        default int getSchemaVersion() {
            return 1;
        }
    }

    record Vip(@DataSubject @PersonalData(group = "contact") String email, String city, int points)
            implements Versioned {
        public boolean isVip() {
            return points > 100;
        }
    }

    record Shop(String storeCity, Map<String, Integer> salesByCity, Vip buyer) {}

    record AnyGetter(
            @DataSubject @PersonalData(group = "contact") String email) {
        @com.fasterxml.jackson.annotation.JsonAnyGetter
        Map<String, Object> extra() {
            return Map.of("shout", email.toUpperCase(java.util.Locale.ROOT));
        }
    }

    record Inner(
            @DataSubject String id,
            @PersonalData(group = "contact") String street) {}

    record Outer(String kind, Inner inner) {
        @com.fasterxml.jackson.annotation.JsonProperty
        String summary() {
            return inner.street().toUpperCase(java.util.Locale.ROOT);
        }
    }

    /** An application exception holding an address, whose message quotes it. */
    static final class AppException extends RuntimeException {
        private final transient Addr addr;

        AppException(Addr addr) {
            super("failed for " + addr);
            this.addr = addr;
        }
    }

    /** A class with a field and its getter: what the application put in, written; not searched. */
    public static final class Shipment {
        private final String city;
        private final Addr to;

        Shipment(String city, Addr to) {
            this.city = city;
            this.to = to;
        }

        public String getCity() {
            return city;
        }

        public Addr getTo() {
            return to;
        }
    }

    /** Holds an address, written by code: its toString as a map key, as a value, by a serializer, an any-getter. */
    public static final class KeyHolder {
        private final Addr addr;

        KeyHolder(Addr addr) {
            this.addr = addr;
        }

        @Override
        public String toString() {
            return "k:" + addr;
        }
    }

    public static final class ValueHolder {
        private final Addr addr;

        ValueHolder(Addr addr) {
            this.addr = addr;
        }

        @com.fasterxml.jackson.annotation.JsonValue
        public String value() {
            return "v:" + addr;
        }
    }

    public static final class AnyHolder {
        private final Addr addr;

        AnyHolder(Addr addr) {
            this.addr = addr;
        }

        @com.fasterxml.jackson.annotation.JsonAnyGetter
        public Map<String, Object> extra() {
            return Map.of("where", "at " + addr.street());
        }
    }

    @Test
    void code_that_writes_a_class_as_a_key_a_value_or_any_members_is_searched() {
        lethe.registerRecord(DPO, "ByObject", ByObject.class);
        Addr addr = new Addr(STREET, "L");
        for (Object holder : List.of(
                Map.of(new KeyHolder(addr), 1),
                new ValueHolder(addr),
                List.of(new ValueHolder(addr)),
                new AnyHolder(addr))) {
            assertThatThrownBy(() -> append("ByObject", new ByObject("a@x.org", holder)))
                    .as(holder.getClass().getSimpleName())
                    .hasMessageContaining(
                            "the text of Addr.street (@PersonalData) is written outside its marked place");
        }
        assertThat(storedData()).isEmpty();
    }

    @Test
    void ordinary_records_pass_and_any_getters_methods_over_marked_records_and_exceptions_are_refused() {
        lethe.registerRecord(DPO, "Vip", Vip.class);
        lethe.registerRecord(DPO, "ByObject", ByObject.class);
        lethe.registerRecord(DPO, "AnyGetter", AnyGetter.class);
        // A boolean method and an interface's default int are written; the same city unmarked elsewhere is no leak.
        append("Vip", new Vip("v@x.org", "Berlin", 120));
        assertThat(storedData()).contains("\"vip\":true", "\"schemaVersion\":1", "\"city\":\"Berlin\"");
        // Its member "vip" is spelled as the root a wrapping mapper writes: a boolean there wraps nothing, an object
        // does.
        assertThatThrownBy(() -> lethe.append(
                        StreamId.of("c-1"),
                        ExpectedVersion.any(),
                        List.of(EventData.of("Vip", Json.parse("{\"vip\":{\"email\":\"w@x.org\"}}")))))
                .hasMessageContaining("is another spelling of the classified field 'email'")
                .hasMessageNotContaining("w@x.org");
        // A class's field-backed getter holding the same text as a marked value is no leak either (the marked one
        // is refused here by the schema, as an Object component: the net is not what refuses it).
        assertThatThrownBy(() ->
                        append("ByObject", new ByObject("a@x.org", new Shipment(STREET, new Addr(STREET, "L")))))
                .hasMessageContaining("Addr.street (@PersonalData) at extra.to.street is not personal");
        assertThatThrownBy(() -> append("AnyGetter", new AnyGetter("a@x.org")))
                .hasMessageContaining("record AnyGetter marks personal data and has a @JsonAnyGetter")
                .hasMessageNotContaining("a@x.org");
        assertThatThrownBy(() -> append("ByObject", new ByObject("a@x.org", new Outer("k", new Inner("i-1", STREET)))))
                .hasMessageContaining("record Outer marks personal data and also writes 'summary'");
        assertThatThrownBy(() -> append(
                        "ByObject",
                        new ByObject("a@x.org", new IllegalStateException(new AppException(new Addr(STREET, "L"))))))
                .hasMessageContaining("the text of Addr.street (@PersonalData) is written outside its marked place");
    }

    /** The application's linked node: Jackson writes its label, never its transient link. */
    public static final class Node {
        private final String label;
        private final transient Node next;

        Node(String label, Node next) {
            this.label = label;
            this.next = next;
        }

        public String getLabel() {
            return label;
        }

        /** A chain of {@code length} nodes, built without recursion. */
        static Node chain(int length) {
            Node head = null;
            for (int i = 0; i < length; i++) {
                head = new Node("n", head);
            }
            return head;
        }
    }

    @Test
    void a_value_nesting_deeper_than_the_walk_goes_is_refused_with_that_reason_not_a_stack_overflow() {
        lethe.registerRecord(DPO, "ByObject", ByObject.class);
        // A chain Jackson never writes still holds what a getter could write: it is walked, to the walk's depth.
        append("ByObject", new ByObject("a@x.org", Node.chain(500)));
        assertThat(storedData()).contains("\"label\":\"n\"");
        assertThatThrownBy(() -> append("ByObject", new ByObject("b@x.org", Node.chain(50_000))))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("nests objects too deep (more than 2000 levels")
                .hasMessageNotContaining("b@x.org");
        // A JSON tree as deep as the parser takes is no such value.
        int deepest = com.fasterxml.jackson.core.StreamReadConstraints.DEFAULT_MAX_DEPTH - 1;
        Json deep = Json.parse("[".repeat(deepest) + "]".repeat(deepest));
        assertThat(Json.of(deep.asTree()).toString()).hasSize(2 * deepest);
        // Refused before anything was stored: still the one event.
        assertThat(lethe.store()
                        .readStream(StreamId.of("c-1"), 0, dev.lethe.core.store.Direction.FORWARD, 10)
                        .size())
                .isEqualTo(1);
    }

    record ByObjectSealing(
            @DataSubject @PersonalData(group = "contact") String email, Object contact) {}

    @Test
    void values_jackson_leaves_out_and_paths_inside_a_field_sealed_whole_are_no_refusal() {
        lethe.registerRecord(DPO, "Optionalish", Optionalish.class);
        append("Optionalish", new Optionalish("a@x.org", "", 0, 100));
        append("Optionalish", new Optionalish("b@x.org", "Bee", 41, 100));
        assertThat(storedData())
                .doesNotContain("\"nick\":\"Bee\"", "\"age\":41")
                .contains("\"amount\":100");
        // A JSON Schema that seals "contact" whole, appended from a record marking contact.street: sealed with it.
        lethe.registerJsonSchema(
                DPO,
                "Sealing",
                Json.parse("{\"type\":\"object\",\"properties\":{\"email\":{\"x-gdpr\":{\"pii\":true,\"key\":true,"
                                + "\"dataGroup\":\"contact\"}},\"contact\":{\"x-gdpr\":{\"pii\":true,\"dataGroup\":"
                                + "\"contact\"}}}}")
                        .asTree());
        append("Sealing", new ByInterface("c@x.org", new Addr(STREET, "Bristol")));
        assertThat(storedData()).doesNotContain(STREET, "Bristol");
    }

    @Test
    void records_written_as_their_types_say_pass_and_ignored_or_null_components_are_no_marks() {
        lethe.registerRecord(DPO, "Plain", Plain.class);
        lethe.registerRecord(DPO, "Ignoring", Ignoring.class);
        append("Plain", new Plain("a@x.org", new Addr(STREET, "London")));
        append("Plain", new Plain("b@x.org", null));
        append("Ignoring", new Ignoring("c@x.org", "never written"));
        assertThat(storedData())
                .doesNotContain(STREET, "a@x.org", "b@x.org", "c@x.org", "never written")
                .contains("London");
    }

    // Review round 6: what still went through, and what was refused though ordinary.

    record Login(
            @DataSubject @PersonalData(group = "contact") String email, String tier) {
        public String getLogin() {
            return email;
        }
    }

    record Prefixed(
            @com.fasterxml.jackson.annotation.JsonUnwrapped(prefix = "c_")
            Login login,

            String source) {}

    record Born(
            @DataSubject String id,
            @PersonalData(group = "identity") java.util.Date dob) {}

    record Account(
            @DataSubject String id,
            @PersonalData(group = "identity") long number) {}

    /** Writes what it holds through code: a label over a marked value of another record. */
    static final class Label {
        private final Object held;

        Label(Object held) {
            this.held = held;
        }

        public String getText() {
            return "about " + (held instanceof Born born ? born.dob() : ((Account) held).number());
        }
    }

    /** The application's own map over a marked record. */
    static final class ByTier extends java.util.AbstractMap<String, String> {
        private final Addr addr;

        ByTier(Addr addr) {
            this.addr = addr;
        }

        @Override
        public java.util.Set<Map.Entry<String, String>> entrySet() {
            return java.util.Set.of(Map.entry("gold", addr.street()));
        }
    }

    /** The application's own text over a marked record. */
    static final class Salutation implements CharSequence {
        private final Addr addr;

        Salutation(Addr addr) {
            this.addr = addr;
        }

        @Override
        public String toString() {
            return "Dear resident of " + addr.street();
        }

        @Override
        public int length() {
            return toString().length();
        }

        @Override
        public char charAt(int index) {
            return toString().charAt(index);
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return toString().subSequence(start, end);
        }
    }

    @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "kind")
    record Typed(
            @DataSubject @PersonalData(group = "contact") String email,

            @com.fasterxml.jackson.annotation.JsonTypeId @PersonalData(group = "identity")
            String firstName) {}

    record Raw(
            @com.fasterxml.jackson.annotation.JsonRawValue String a,
            Object extra,
            @com.fasterxml.jackson.annotation.JsonRawValue String z) {}

    record Batch(String name, Iterable<String> skus) {}

    /** Writes a label computed from an account it keeps in a field Jackson does not write. */
    static final class Card {
        private final Account account;

        Card(Account account) {
            this.account = account;
        }

        public String getLabel() {
            return "acct " + account.number();
        }
    }

    /** A class written as an array whose getters compute: its elements are searched as members would be. */
    @com.fasterxml.jackson.annotation.JsonFormat(shape = com.fasterxml.jackson.annotation.JsonFormat.Shape.ARRAY)
    static final class Row {
        private final Account account;

        Row(Account account) {
            this.account = account;
        }

        public String getLabel() {
            return "acct " + account.number();
        }

        public int getN() {
            return 1;
        }
    }

    record Texted(CharSequence text) {}

    /** Writes a marked number as a number. */
    static final class Numbered {
        private final Account account;

        Numbered(Account account) {
            this.account = account;
        }

        public long getNo() {
            return account.number();
        }
    }

    /** Written by a serializer named on the class. */
    @com.fasterxml.jackson.databind.annotation.JsonSerialize(using = ShoutedSerializer.class)
    static final class Shouted {
        private final Addr addr;

        Shouted(Addr addr) {
            this.addr = addr;
        }
    }

    static final class ShoutedSerializer extends com.fasterxml.jackson.databind.ser.std.StdSerializer<Shouted> {
        ShoutedSerializer() {
            super(Shouted.class);
        }

        @Override
        public void serialize(
                Shouted value,
                com.fasterxml.jackson.core.JsonGenerator gen,
                com.fasterxml.jackson.databind.SerializerProvider provider)
                throws java.io.IOException {
            gen.writeString("to " + value.addr.street());
        }
    }

    /** A @JsonAppend property computed from a marked record the class keeps unwritten. */
    @JsonAppend(props = @JsonAppend.Prop(value = AccountEcho.class, name = "echo"))
    static final class Echoed {
        private final Account account;

        Echoed(Account account) {
            this.account = account;
        }
    }

    public static final class AccountEcho extends com.fasterxml.jackson.databind.ser.VirtualBeanPropertyWriter {
        public AccountEcho() {}

        AccountEcho(
                com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition property,
                com.fasterxml.jackson.databind.util.Annotations annotations,
                com.fasterxml.jackson.databind.JavaType type) {
            super(property, annotations, type);
        }

        @Override
        protected Object value(
                Object bean,
                com.fasterxml.jackson.core.JsonGenerator gen,
                com.fasterxml.jackson.databind.SerializerProvider provider) {
            return "acct " + ((Echoed) bean).account.number();
        }

        @Override
        public com.fasterxml.jackson.databind.ser.VirtualBeanPropertyWriter withConfig(
                com.fasterxml.jackson.databind.cfg.MapperConfig<?> config,
                com.fasterxml.jackson.databind.introspect.AnnotatedClass declaringClass,
                com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition property,
                com.fasterxml.jackson.databind.JavaType type) {
            return new AccountEcho(property, declaringClass.getAnnotations(), type);
        }
    }

    /** A class of the application's, marked whole. */
    static final class AddressBean {
        private final String street;

        AddressBean(String street) {
            this.street = street;
        }
    }

    record Housed(
            @DataSubject String id,
            @PersonalData(group = "contact") AddressBean home) {}

    /** Writes a sentence with the street of a housed person it keeps unwritten. */
    static final class Label2 {
        private final Housed housed;

        Label2(Housed housed) {
            this.housed = housed;
        }

        public String getText() {
            return "ships to " + housed.home().street;
        }
    }

    @com.fasterxml.jackson.annotation.JsonFormat(shape = com.fasterxml.jackson.annotation.JsonFormat.Shape.ARRAY)
    record Shouting(
            @JsonIgnore @DataSubject @PersonalData(group = "contact")
            String email) {
        public String getShout() {
            return email;
        }
    }

    record TwiceLabelled(
            @com.fasterxml.jackson.annotation.JsonUnwrapped Card card, String label) {}

    @Test
    void round_six_bypasses_are_refused_naming_no_value() {
        lethe.registerJsonSchema(
                DPO,
                "Prefixed",
                Json.parse("{\"type\":\"object\",\"properties\":{\"c_email\":{\"x-gdpr\":{\"pii\":true,\"key\":true,"
                                + "\"dataGroup\":\"contact\"}},\"c_tier\":{},\"source\":{}}}")
                        .asTree());
        lethe.registerRecord(DPO, "ByObject", ByObject.class);
        lethe.registerRecord(DPO, "Typed", Typed.class);
        java.util.Date dob = java.util.Date.from(java.time.Instant.parse("1817-01-02T10:40:00Z"));
        String[] leaked = {"a@x.org", "z@x.org", "1817-01-02", "12345678901", STREET, "Grace"};
        String net = "written outside its marked place";
        Map<String, Runnable> appends = new java.util.LinkedHashMap<>();
        // A prefix given by @JsonUnwrapped renamed the refused getter into a plain one.
        appends.put(
                "also writes 'c_login'", () -> append("Prefixed", new Prefixed(new Login("a@x.org", "gold"), "web")));
        // A date and a number marked personal, written again by another class's getter.
        appends.put(
                "the text of Born.dob",
                () -> append("ByObject", new ByObject("b@x.org", new Label(new Born("p-1", dob)))));
        appends.put(
                "the text of Account.number",
                () -> append("ByObject", new ByObject("b@x.org", new Label(new Account("p-2", 12345678901L)))));
        // The application's own map and text classes over a marked record, also behind a CharSequence component.
        appends.put(
                "the text of Addr.street",
                () -> append("ByObject", new ByObject("b@x.org", new ByTier(new Addr(STREET, "L")))));
        appends.put(
                "the text of Addr.street ",
                () -> append("ByObject", new ByObject("b@x.org", new Salutation(new Addr(STREET, "L")))));
        appends.put(
                "the text of Addr.street  ",
                () -> append("ByObject", new ByObject("b@x.org", new Texted(new Salutation(new Addr(STREET, "L"))))));
        // A marked record whose type id is a component.
        appends.put("has a @JsonTypeId", () -> append("Typed", new Typed("c@x.org", "Grace")));
        // A member written twice: a tree keeps the second, the first went unsearched.
        appends.put(
                "with a member twice",
                () -> append(
                        "ByObject",
                        new ByObject(
                                "b@x.org", new TwiceLabelled(new Card(new Account("p-3", 12345678901L)), "plain"))));
        // A computed getter of a class written as an array (beside an int getter, which is not code).
        appends.put(
                "the text of Account.number ",
                () -> append("ByObject", new ByObject("b@x.org", new Row(new Account("p-5", 12345678901L)))));
        // A personal number written as a number by a getter.
        appends.put(
                "the text of Account.number  ",
                () -> append("ByObject", new ByObject("b@x.org", new Numbered(new Account("p-6", 12345678901L)))));
        // A class with a serializer of its own named on the class, and a @JsonAppend property of a class.
        appends.put(
                "the text of Addr.street   ",
                () -> append("ByObject", new ByObject("b@x.org", new Shouted(new Addr(STREET, "L")))));
        appends.put(
                "the text of Account.number   ",
                () -> append("ByObject", new ByObject("b@x.org", new Echoed(new Account("p-7", 12345678901L)))));
        // A street within a sentence, from a class marked whole.
        appends.put(
                "the text of Housed.home",
                () -> append(
                        "ByObject", new ByObject("b@x.org", new Label2(new Housed("p-8", new AddressBean(STREET))))));
        // A record written as an array that ignores its marked component and writes it through a method.
        appends.put("also writes 'shout'", () -> append("ByObject", new ByObject("b@x.org", new Shouting("z@x.org"))));
        // An iterable that cannot be walked again (what it held cannot be checked).
        appends.put(
                "cannot be walked again",
                () -> append(
                        "ByObject",
                        new ByObject("b@x.org", new Batch("b", java.util.stream.Stream.of("s1")::iterator))));
        for (Map.Entry<String, Runnable> attempt : appends.entrySet()) {
            assertThat(org.assertj.core.api.Assertions.catchThrowable(attempt.getValue()::run))
                    .as(attempt.getKey())
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining(attempt.getKey().strip())
                    .satisfies(refused -> {
                        for (String value : leaked) {
                            assertThat(refused.getMessage()).doesNotContain(value);
                        }
                    });
        }
        assertThat(storedData()).isEmpty();
        // Raw text that makes two JSON values, the second holding a marked record, is no value Json.of makes.
        assertThatThrownBy(() -> Json.of(new Raw("1} {\"w\":{\"k\":1", new Addr(STREET, "L"), "1}")))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("content after its first value");
    }

    @JsonAppend(props = @JsonAppend.Prop(value = ApiVersion.class, name = "apiVersion"))
    record Stamped(String sku, int qty) {}

    /** A virtual property (@JsonAppend): written by code, with no accessor. */
    public static final class ApiVersion extends com.fasterxml.jackson.databind.ser.VirtualBeanPropertyWriter {
        public ApiVersion() {}

        ApiVersion(
                com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition property,
                com.fasterxml.jackson.databind.util.Annotations annotations,
                com.fasterxml.jackson.databind.JavaType type) {
            super(property, annotations, type);
        }

        @Override
        protected Object value(
                Object bean,
                com.fasterxml.jackson.core.JsonGenerator gen,
                com.fasterxml.jackson.databind.SerializerProvider provider) {
            return "v1";
        }

        @Override
        public com.fasterxml.jackson.databind.ser.VirtualBeanPropertyWriter withConfig(
                com.fasterxml.jackson.databind.cfg.MapperConfig<?> config,
                com.fasterxml.jackson.databind.introspect.AnnotatedClass declaringClass,
                com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition property,
                com.fasterxml.jackson.databind.JavaType type) {
            return new ApiVersion(property, declaringClass.getAnnotations(), type);
        }
    }

    @Test
    void round_six_ordinary_values_pass_a_map_built_by_hand_is_sealed_at_its_keys_paths() {
        lethe.registerRecord(DPO, "ByObject", ByObject.class);
        // A map with a marked record under a plain key is the same JSON as a record: sealed where the schema says.
        lethe.registerJsonSchema(
                DPO,
                "Shipping",
                Json.parse("{\"type\":\"object\",\"properties\":{\"email\":{\"x-gdpr\":{\"pii\":true,\"key\":true,"
                                + "\"dataGroup\":\"contact\"}},\"to\":{\"type\":\"object\",\"properties\":{"
                                + "\"street\":{\"x-gdpr\":{\"pii\":true,\"dataGroup\":\"contact\"}},\"city\":{}}}}}")
                        .asTree());
        append("Shipping", Map.of("email", "e@x.org", "to", new Addr(STREET, "London")));
        // @JsonAppend on an ordinary record, and an iterable that can be walked once.
        append("ByObject", new ByObject("f@x.org", new Stamped("sku-1", 2)));
        append("ByObject", new ByObject("f@x.org", new Batch("b", List.of("s1", "s2"))));
        // A country inside a value marked whole, in a sentence code wrote: too short to be told apart, no refusal.
        append("ByObject", new ByObject("f@x.org", new Label2(new Housed("p-9", new AddressBean("Portugal")))));
        assertThat(storedData())
                .doesNotContain(STREET, "e@x.org", "f@x.org")
                .contains("\"city\":\"London\"", "\"apiVersion\":\"v1\"", "\"skus\":[\"s1\",\"s2\"]")
                .contains("ships to Portugal");
    }
}
