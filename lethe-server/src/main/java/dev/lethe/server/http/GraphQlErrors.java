package dev.lethe.server.http;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Takes the caller's input out of GraphQL error messages before they are sent. graphql-java quotes what
 * it could not read: a syntax error its offending token, a validation error the whole argument literal
 * ({@code argument 'events[0].data' with value 'ObjectValue{… StringValue{value='ada@example.com'} …}'
 * is not a valid 'JSON'}), which may hold personal data meant to be sealed. The message keeps what is
 * wrong and where (argument, line, column); the value is not repeated.
 */
final class GraphQlErrors {
    private static final Pattern ARGUMENT_VALUE =
            Pattern.compile("(?s)with value '.*' (is not|is missing|contains|must)");
    private static final Pattern INVALID_VARIABLE = Pattern.compile("^Variable '[^']*' has an invalid value");
    private static final Pattern FETCH_PREFIX = Pattern.compile("^Exception while fetching data \\([^)]*\\) : ");
    /** "More than 15000 'grammar' tokens have been presented", "More than 1000000 characters have been presented". */
    private static final Pattern PARSE_LIMIT = Pattern.compile(
            "More than ([0-9][0-9,.\u00a0\u202f']*) ('[A-Za-z]+' tokens|characters) have been presented");

    /** "More than 500 deep 'selectionSet' rules have been entered". */
    private static final Pattern PARSE_DEPTH =
            Pattern.compile("More than ([0-9][0-9,.\u00a0\u202f']*) deep '[A-Za-z]+' rules have been entered");

    private static final Pattern LOCATION = Pattern.compile("at line (\\d+) column (\\d+)\\s*$");

    private GraphQlErrors() {}

    /** The result's specification map, its error messages without the input values they quote. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> withoutInputValues(Map<String, Object> specification) {
        Object errors = specification.get("errors");
        if (!(errors instanceof List<?> list) || list.isEmpty()) {
            return specification;
        }
        List<Object> cleaned = new ArrayList<>(list.size());
        for (Object error : list) {
            if (error instanceof Map<?, ?> map && map.get("message") instanceof String message) {
                Map<String, Object> copy = new LinkedHashMap<>((Map<String, Object>) map);
                copy.put("message", redact(message, classification(map)));
                cleaned.add(copy);
            } else {
                cleaned.add(error);
            }
        }
        Map<String, Object> out = new LinkedHashMap<>(specification);
        out.put("errors", cleaned);
        return out;
    }

    private static String classification(Map<?, ?> error) {
        return error.get("extensions") instanceof Map<?, ?> extensions
                ? String.valueOf(extensions.get("classification"))
                : "";
    }

    /** The longest error message looked into: a longer one quotes the request (an operation name of 16 MB). */
    static final int MAX_MESSAGE_CHARS = 2_000;

    static String redact(String message, String classification) {
        if (message.length() > MAX_MESSAGE_CHARS) {
            // Neither repeated (an answer the size of the request, per error) nor searched (the patterns below
            // take time that grows with the square of a message quoting "with value '" again and again).
            return (classification.isEmpty() || classification.equals("null") ? "Error" : classification)
                    + ": the message is not repeated (" + message.length() + " characters: it quotes the request)";
        }
        if (classification.equals("InvalidSyntax")) {
            java.util.regex.Matcher deep = PARSE_DEPTH.matcher(message);
            if (deep.find()) {
                return "The query is too deeply nested: more than "
                        + deep.group(1).replaceAll("[^0-9]", "")
                        + " levels of its grammar (a limit against denial of service); send a flatter query";
            }
            java.util.regex.Matcher limit = PARSE_LIMIT.matcher(message);
            if (limit.find()) {
                // graphql-java's own limits (tokens, characters): no input quoted, and the reason is the point.
                return "The query is too large: more than " + limit.group(1).replaceAll("[^0-9]", "") + " "
                        + limit.group(2)
                        + " (a limit against denial of service); send a smaller query";
            }
            // Its quotes nest ("ANTLR error 'token recognition error at: '"Ada…''"): keep the place only.
            java.util.regex.Matcher at = LOCATION.matcher(message);
            return "Invalid syntax" + (at.find() ? " at line " + at.group(1) + " column " + at.group(2) : "")
                    + " (the offending text is not repeated)";
        }
        java.util.regex.Matcher variable = INVALID_VARIABLE.matcher(message);
        if (variable.find()) {
            // "Variable 'f' has an invalid value: <why, quoting the value>".
            return message.substring(0, variable.end()) + " (the value and the reason quoting it are not repeated)";
        }
        // graphql-java's prefix for a resolver's exception; the error's "path" already says where.
        String out = FETCH_PREFIX.matcher(message).replaceFirst("");
        out = ARGUMENT_VALUE.matcher(out).replaceAll("with a value (not shown) $1");
        if (out.contains("Value{")) {
            // A literal this class does not know how to cut out: say what kind of error, not the value.
            return "Validation error: an argument's value is not valid; it is not repeated, since it may hold"
                    + " personal data";
        }
        return out;
    }
}
