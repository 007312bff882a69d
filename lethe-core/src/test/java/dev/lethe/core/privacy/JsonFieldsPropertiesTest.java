package dev.lethe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * The scanner against Jackson over arbitrary JSON objects, written compactly, pretty-printed or with
 * every non-ASCII character escaped (names included): for every dotted path through objects, the
 * scanner finds exactly one value when Jackson's tree has one there, and the bytes of its range parse
 * to the same node; where the tree has none, it finds nothing.
 */
class JsonFieldsPropertiesTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    enum Layout {
        COMPACT,
        PRETTY,
        ASCII_ONLY
    }

    @Property(tries = 500)
    void every_hit_is_the_value_jacksons_tree_holds_at_its_path(
            @ForAll("objects") ObjectNode document, @ForAll Layout layout, @ForAll("names") String missing)
            throws IOException {
        byte[] bytes = writer(layout).writeValueAsBytes(document);
        JsonNode tree = JSON.readTree(bytes);
        Set<String> paths = new TreeSet<>();
        collectPaths(tree, "", paths);
        paths.add(missing + "." + missing + ".zz");
        paths.add("zz");

        Map<String, List<JsonFields.Hit>> hits = new HashMap<>();
        boolean isObject = new JsonFields(paths)
                .scan(
                        bytes,
                        hit -> hits.computeIfAbsent(hit.path(), p -> new ArrayList<>())
                                .add(hit));

        assertThat(isObject).isTrue();
        for (String path : paths) {
            JsonNode expected = PrivacyCodec.at(tree, path);
            List<JsonFields.Hit> found = hits.getOrDefault(path, List.of());
            if (expected == null) {
                assertThat(found).as(path).isEmpty();
                continue;
            }
            assertThat(found).as(path).hasSize(1);
            JsonFields.Hit hit = found.get(0);
            assertThat(JSON.readTree(bytes, hit.start(), hit.end() - hit.start()))
                    .as(path)
                    .isEqualTo(expected);
            assertThat(hit.isNull()).as(path).isEqualTo(expected.isNull());
            assertThat(hit.isScalar()).as(path).isEqualTo(expected.isValueNode());
            if (expected.isTextual()) {
                assertThat(hit.text(bytes)).as(path).isEqualTo(expected.textValue());
            }
        }
    }

    private static ObjectWriter writer(Layout layout) {
        return switch (layout) {
            case COMPACT -> JSON.writer();
            case PRETTY -> JSON.writerWithDefaultPrettyPrinter();
            case ASCII_ONLY -> JSON.writer().with(JsonGenerator.Feature.ESCAPE_NON_ASCII);
        };
    }

    /**
     * Every path through objects (never into an array), with the names joined by dots; an empty name
     * stays in the document but makes no path (a schema path has no empty segment).
     */
    private static void collectPaths(JsonNode node, String prefix, Set<String> out) {
        if (!node.isObject()) {
            return;
        }
        node.fields().forEachRemaining(field -> {
            if (field.getKey().isEmpty()) {
                return;
            }
            String path = prefix + field.getKey();
            out.add(path);
            collectPaths(field.getValue(), path + ".", out);
        });
    }

    @Provide
    Arbitrary<ObjectNode> objects() {
        return object(values(3));
    }

    /**
     * Names from a small set, so that paths meet often: ASCII, escapes, multi-byte UTF-8 and names
     * longer than eight bytes. None holds a dot, which would make it two path segments.
     */
    @Provide
    Arbitrary<String> names() {
        return Arbitraries.of(
                "a",
                "b",
                "email",
                "",
                "é",
                "Zoë",
                "😀",
                "q\"uote",
                "back\\slash",
                "tab\there",
                "a name longer than eight bytes",
                "eight by",
                "ünïcödé näme wïth \" and \\ inside");
    }

    private Arbitrary<ObjectNode> object(Arbitrary<JsonNode> values) {
        return Arbitraries.maps(names(), values).ofMaxSize(6).map(fields -> {
            ObjectNode node = NODES.objectNode();
            fields.forEach(node::set);
            return node;
        });
    }

    private Arbitrary<JsonNode> values(int depth) {
        Arbitrary<JsonNode> scalars = Arbitraries.oneOf(
                strings().map(TextNode::valueOf),
                Arbitraries.longs().map(LongNode::valueOf),
                Arbitraries.doubles().map(DoubleNode::valueOf),
                Arbitraries.of("1.50", "1E+3", "-0.0001", "123456789012345678901234567890")
                        .map(text -> DecimalNode.valueOf(new BigDecimal(text))),
                Arbitraries.of(BooleanNode.TRUE, BooleanNode.FALSE, NullNode.getInstance()));
        if (depth == 0) {
            return scalars;
        }
        Arbitrary<JsonNode> inner = values(depth - 1);
        return Arbitraries.frequencyOf(
                Tuple.of(4, scalars),
                Tuple.of(1, inner.list().ofMaxSize(4).map(items ->
                        (JsonNode) NODES.arrayNode().addAll(items))),
                Tuple.of(2, object(inner).map(node -> (JsonNode) node)));
    }

    /** Strings of any length up to 40, heavy in the bytes the scanner looks for. */
    private static Arbitrary<String> strings() {
        Arbitrary<String> piece = Arbitraries.of(
                "x", "\"", "\\", "\\\"", "é", "😀", "\n", "\u0001", "{", "}", "[", "]", ",", ":", " ", "lethe:v1:");
        return piece.list().ofMaxSize(40).map(parts -> String.join("", parts));
    }
}
