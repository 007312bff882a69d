package dev.lethe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.privacy.JsonFields.Kind;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The byte-range scanner by example: every hit is compared with the exact bytes it must cover, so an
 * off-by-one in a string's end, a name compared undecoded or a walk into an array shows as a wrong
 * range. {@link JsonFieldsPropertiesTest} compares it with Jackson over arbitrary documents.
 */
class JsonFieldsTest {
    /** A hit as the text of its byte range, with the path and kind. */
    record Found(String path, Kind kind, String raw) {}

    static List<Found> scan(String json, String... paths) {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        List<Found> found = new ArrayList<>();
        boolean isObject = new JsonFields(Set.of(paths))
                .scan(
                        bytes,
                        hit -> found.add(new Found(
                                hit.path(),
                                hit.kind(),
                                new String(bytes, hit.start(), hit.end() - hit.start(), StandardCharsets.UTF_8))));
        assertThat(isObject).as("scan of %s", json).isTrue();
        return found;
    }

    static Found string(String path, String raw) {
        return new Found(path, Kind.STRING, raw);
    }

    @Test
    void a_name_written_with_escapes_is_found_under_its_decoded_name() {
        assertThat(scan("{\"\\u0065mail\":\"x\"}", "email")).containsExactly(string("email", "\"x\""));
        assertThat(scan("{\"e\\u006D\\u0061il\":\"x\",\"a\\/b\":1}", "email", "a/b"))
                .containsExactly(string("email", "\"x\""), new Found("a/b", Kind.NUMBER, "1"));
        assertThat(scan("{\"\\u0061\":{\"\\u0062\":true}}", "a.b"))
                .containsExactly(new Found("a.b", Kind.TRUE, "true"));
    }

    @Test
    void a_level_of_many_names_finds_each_by_hash_and_no_other() {
        // Over 16 names a level is searched by hash: every wanted name found, names sharing a hash kept apart.
        List<String> wanted = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            wanted.add("field" + i);
        }
        wanted.add("Aa"); // "Aa" and "BB" have the same hash; only "Aa" is wanted
        wanted.add("nested.inner");
        StringBuilder json = new StringBuilder("{\"BB\":0,\"Aa\":1,\"nested\":{\"inner\":2}");
        List<Found> expected = new ArrayList<>(
                List.of(new Found("Aa", Kind.NUMBER, "1"), new Found("nested.inner", Kind.NUMBER, "2")));
        for (int i = 0; i < 1_000; i += 7) {
            json.append(",\"field").append(i).append("\":").append(i);
            if (i < 500) {
                expected.add(new Found("field" + i, Kind.NUMBER, Integer.toString(i)));
            }
        }
        json.append(",\"\\u0066ield3\":3}"); // escaped: decoded, then found
        expected.add(new Found("field3", Kind.NUMBER, "3"));
        assertThat(scan(json.toString(), wanted.toArray(String[]::new))).containsExactlyElementsOf(expected);
    }

    @Test
    void a_name_that_only_looks_like_a_wanted_one_is_not_a_hit() {
        assertThat(scan("{\"email \":1,\"Email\":2,\"emai\":3,\"e\\\\mail\":4,\"emailx\":5}", "email"))
                .isEmpty();
    }

    @Test
    void strings_with_escaped_quotes_and_backslashes_end_where_json_says() {
        assertThat(scan("{\"a\":\"a\\\"b\\\\\",\"b\":\"\\\\\",\"c\":\"\\\"\"}", "a", "b", "c"))
                .containsExactly(string("a", "\"a\\\"b\\\\\""), string("b", "\"\\\\\""), string("c", "\"\\\"\""));
        // A skipped name and a skipped value that end in escapes must not swallow the next member.
        assertThat(scan("{\"x\\\"\":\"\\\\\",\"y\":\"},\\\"email\\\":1\",\"email\":2}", "email"))
                .containsExactly(new Found("email", Kind.NUMBER, "2"));
    }

    @Test
    void a_quote_or_backslash_at_every_offset_of_a_long_string_is_handled_by_the_eight_byte_loop() {
        List<String> escapes = List.of("\\\"", "\\\\", "\\u0022", "\\/", "\\n");
        for (int shift = 0; shift < 8; shift++) {
            String before = "{\"pad\":\"" + "p".repeat(shift) + "\",\"s\":";
            for (String escape : escapes) {
                for (int head = 0; head <= 17; head++) {
                    for (int tail = 0; tail <= 9; tail++) {
                        String value = "\"" + "h".repeat(head) + escape + "t".repeat(tail) + "\"";
                        String json = before + value + ",\"after\":\"a\\\\\"}";
                        assertThat(scan(json, "s", "after"))
                                .as(json)
                                .containsExactly(string("s", value), string("after", "\"a\\\\\""));
                    }
                }
            }
            for (int length = 0; length <= 26; length++) {
                String value = "\"" + "v".repeat(length) + "\"";
                String json = before + value + ",\"after\":0}";
                assertThat(scan(json, "s", "after"))
                        .as(json)
                        .containsExactly(string("s", value), new Found("after", Kind.NUMBER, "0"));
            }
        }
    }

    @Test
    void multi_byte_utf8_in_names_and_values_keeps_exact_byte_ranges() {
        String json = "{\"name\":\"Zoë\",\"emoji\":\"😀 ok 😀😀 ëëëëëëëëë\\\"😀\",\"Zoë\":{\"ï\":\"ü\"},"
                + "\"\\u00ef\":\"escaped ï\",\"last\":\"日本語のテキスト\"}";
        assertThat(scan(json, "name", "emoji", "Zoë.ï", "ï", "last"))
                .containsExactly(
                        string("name", "\"Zoë\""),
                        string("emoji", "\"😀 ok 😀😀 ëëëëëëëëë\\\"😀\""),
                        string("Zoë.ï", "\"ü\""),
                        string("ï", "\"escaped ï\""),
                        string("last", "\"日本語のテキスト\""));
    }

    @Test
    void a_nested_path_is_found_only_at_its_place() {
        String json =
                "{\"c\":0,\"a\":{\"c\":1,\"b\":{\"c\":\"deep\",\"d\":0},\"x\":{\"b\":{\"c\":2}}},\"b\":{\"c\":3}}";
        assertThat(scan(json, "a.b.c")).containsExactly(string("a.b.c", "\"deep\""));
    }

    @Test
    void a_path_and_a_path_below_it_are_both_found() {
        assertThat(scan("{\"a\":{\"b\":1},\"z\":2}", "a", "a.b", "z"))
                .containsExactlyInAnyOrder(
                        new Found("a", Kind.OBJECT, "{\"b\":1}"),
                        new Found("a.b", Kind.NUMBER, "1"),
                        new Found("z", Kind.NUMBER, "2"));
    }

    @Test
    void a_prefix_whose_value_is_not_an_object_yields_nothing_below_it_and_the_walk_goes_on() {
        String json = "{\"a\":\"{\\\"c\\\":1}\",\"b\":[{\"c\":1}],\"n\":null,\"t\":true,\"f\":5,\"z\":\"found\"}";
        assertThat(scan(json, "a.c", "b.c", "n.c", "t.c", "f.c", "z")).containsExactly(string("z", "\"found\""));
        assertThat(scan(json, "a", "b"))
                .containsExactly(string("a", "\"{\\\"c\\\":1}\""), new Found("b", Kind.ARRAY, "[{\"c\":1}]"));
    }

    @Test
    void a_path_never_enters_an_array() {
        String json = "{\"list\":[{\"email\":\"x\"},[{\"email\":\"y\"}],\"]\",{\"list\":1}],\"email\":\"z\"}";
        assertThat(scan(json, "email", "list.email", "list"))
                .containsExactly(
                        new Found("list", Kind.ARRAY, "[{\"email\":\"x\"},[{\"email\":\"y\"}],\"]\",{\"list\":1}]"),
                        string("email", "\"z\""));
    }

    @Test
    void a_name_that_appears_twice_yields_two_hits_in_document_order() {
        assertThat(scan("{\"email\":\"a\",\"x\":1,\"email\":\"b\"}", "email"))
                .containsExactly(string("email", "\"a\""), string("email", "\"b\""));
        assertThat(scan("{\"a\":{\"b\":1},\"a\":{\"b\":2}}", "a.b"))
                .containsExactly(new Found("a.b", Kind.NUMBER, "1"), new Found("a.b", Kind.NUMBER, "2"));
    }

    @Test
    void whitespace_and_newlines_anywhere_are_outside_the_ranges() {
        String json =
                " \r\n\t{ \r\n \"a\" \t:\n \"x\" ,\n\t\"b\" : { \"c\" :\r\n 1 } , \"n\" : -1.5e+3 \n,\"e\"\n:\n{\n}\n}\n ";
        assertThat(scan(json, "a", "b.c", "n", "e", "b"))
                .containsExactlyInAnyOrder(
                        string("a", "\"x\""),
                        new Found("b.c", Kind.NUMBER, "1"),
                        new Found("b", Kind.OBJECT, "{ \"c\" :\r\n 1 }"),
                        new Found("n", Kind.NUMBER, "-1.5e+3"),
                        new Found("e", Kind.OBJECT, "{\n}"));
    }

    @Test
    void numbers_and_literals_at_the_end_of_an_object_end_at_the_brace() {
        assertThat(scan("{\"n\":12}", "n")).containsExactly(new Found("n", Kind.NUMBER, "12"));
        assertThat(scan("{\"t\":true}", "t")).containsExactly(new Found("t", Kind.TRUE, "true"));
        assertThat(scan("{\"f\":false}", "f")).containsExactly(new Found("f", Kind.FALSE, "false"));
        assertThat(scan("{\"z\":null}", "z")).containsExactly(new Found("z", Kind.NULL, "null"));
        assertThat(scan("{\"a\":{\"n\":1.50},\"m\":-0}", "a.n", "m"))
                .containsExactly(new Found("a.n", Kind.NUMBER, "1.50"), new Found("m", Kind.NUMBER, "-0"));
        assertThat(scan("{\"a\":[1,2]}", "a")).containsExactly(new Found("a", Kind.ARRAY, "[1,2]"));
    }

    @Test
    void empty_objects_are_walked_and_found() {
        assertThat(scan("{}", "a")).isEmpty();
        assertThat(scan("{ \n }", "a")).isEmpty();
        assertThat(scan("{\"a\":{},\"b\":{ },\"c\":1}", "a", "a.x", "b.x", "c"))
                .containsExactly(new Found("a", Kind.OBJECT, "{}"), new Found("c", Kind.NUMBER, "1"));
    }

    @Test
    void a_root_that_is_not_an_object_is_reported_and_nothing_is_visited() {
        for (String json : List.of("[{\"a\":1}]", "\"{\\\"a\\\":1}\"", "1", "null", " [ ]", "", "  ")) {
            List<JsonFields.Hit> hits = new ArrayList<>();
            assertThat(new JsonFields(Set.of("a")).scan(json.getBytes(StandardCharsets.UTF_8), hits::add))
                    .as(json)
                    .isFalse();
            assertThat(hits).isEmpty();
        }
    }

    @Test
    void a_hit_text_is_the_decoded_string_or_the_literal_json() {
        byte[] json = "{\"s\":\"a\\\"b\\u00e9\\n\",\"p\":\"Zoë\",\"n\":1e3}".getBytes(StandardCharsets.UTF_8);
        List<String> texts = new ArrayList<>();
        new JsonFields(Set.of("s", "p", "n")).scan(json, hit -> texts.add(hit.text(json)));
        assertThat(texts).containsExactly("a\"bé\n", "Zoë", "1e3");
    }
}
