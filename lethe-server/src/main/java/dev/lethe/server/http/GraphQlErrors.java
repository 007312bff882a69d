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
    /** "The variables input contains a field name 'x' that is not defined for input object type 'EventInput' ". */
    private static final Pattern UNDEFINED_INPUT_FIELD = Pattern.compile(
            "(?s)^The variables input contains a field name '.*' that is not defined for input object type '([A-Za-z_][A-Za-z0-9_]*)'");

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
    static Map<String, Object> withoutInputValues(Map<String, Object> specification) {
        return forClient(specification, List.of(), Map.of());
    }

    /**
     * The result's specification map for the client: error messages without the input values they quote (a
     * variable's declared type said instead, from {@code variableTypes}), and each error of {@code errors} (the
     * result's, in the specification's order) with an {@code extensions.code} a client can branch on, as REST's
     * statuses: {@code BAD_USER_INPUT}, {@code FORBIDDEN}, {@code NOT_FOUND}, {@code CONFLICT} (with
     * {@code expectedVersion} and {@code actualVersion} for a wrong expected version), {@code UNAVAILABLE} (retry),
     * {@code NOT_RUN} (a mutation after a refused one), {@code INTERNAL_SERVER_ERROR};
     * {@code GRAPHQL_PARSE_FAILED} and {@code GRAPHQL_VALIDATION_FAILED} for the query itself.
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> forClient(
            Map<String, Object> specification, List<graphql.GraphQLError> errors, Map<String, String> variableTypes) {
        Object specified = specification.get("errors");
        if (!(specified instanceof List<?> list) || list.isEmpty()) {
            return specification;
        }
        List<Object> cleaned = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            Object error = list.get(i);
            if (error instanceof Map<?, ?> map && map.get("message") instanceof String message) {
                Map<String, Object> copy = new LinkedHashMap<>((Map<String, Object>) map);
                copy.put("message", redact(message, classification(map), variableTypes));
                if (i < errors.size()) {
                    Map<String, Object> extensions = copy.get("extensions") instanceof Map<?, ?> given
                            ? new LinkedHashMap<>((Map<String, Object>) given)
                            : new LinkedHashMap<>();
                    extensions.putAll(codeOf(errors.get(i)));
                    copy.put("extensions", extensions);
                }
                cleaned.add(copy);
            } else {
                cleaned.add(error);
            }
        }
        Map<String, Object> out = new LinkedHashMap<>(specification);
        out.put("errors", cleaned);
        return out;
    }

    /** The {@code code} (and, for a conflict of versions, the versions) of one error. */
    static Map<String, Object> codeOf(graphql.GraphQLError error) {
        if (!(error instanceof graphql.ExceptionWhileDataFetching fetching)) {
            if (error.getMessage() != null
                    && (INVALID_VARIABLE.matcher(error.getMessage()).find()
                            || UNDEFINED_INPUT_FIELD.matcher(error.getMessage()).find())) {
                return Map.of("code", "BAD_USER_INPUT"); // the query is fine; a value sent for it is not
            }
            graphql.ErrorClassification kind = error.getErrorType();
            return Map.of(
                    "code",
                    kind == graphql.ErrorType.InvalidSyntax
                            ? "GRAPHQL_PARSE_FAILED"
                            : kind == graphql.ErrorType.ValidationError
                                    ? "GRAPHQL_VALIDATION_FAILED"
                                    : "BAD_USER_INPUT");
        }
        Throwable e = fetching.getException();
        if (e instanceof dev.lethe.core.store.WrongExpectedVersionException conflict) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("code", "CONFLICT");
            dev.lethe.core.store.ExpectedVersion expected = conflict.expected();
            out.put(
                    "expectedVersion",
                    expected instanceof dev.lethe.core.store.ExpectedVersion.Exactly exactly
                            ? (Object) exactly.version()
                            : expected == dev.lethe.core.store.ExpectedVersion.NoStream.INSTANCE
                                    ? "no_stream"
                                    : expected == dev.lethe.core.store.ExpectedVersion.StreamExists.INSTANCE
                                            ? "stream_exists"
                                            : "any");
            out.put("actualVersion", conflict.actual());
            return out;
        }
        return Map.of("code", codeOf(e));
    }

    /** The code of a resolver's exception, as REST's status for it would say. */
    static String codeOf(Throwable e) {
        if (e instanceof GraphQlApi.NotRun) {
            return "NOT_RUN";
        }
        if (e instanceof ApiException api) {
            return switch (api.status()) {
                case 403 -> "FORBIDDEN";
                case 404 -> "NOT_FOUND";
                case 409 -> "CONFLICT";
                case 503 -> "UNAVAILABLE";
                default -> api.status() >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_USER_INPUT";
            };
        }
        if (e instanceof dev.lethe.core.store.DuplicateEventException
                || e instanceof dev.lethe.core.privacy.ErasureFenceException
                || e instanceof dev.lethe.core.privacy.AlreadyForgottenException
                || e instanceof dev.lethe.core.privacy.AlreadyCancelledException
                || e instanceof dev.lethe.core.privacy.ForgetRefusedException
                || e instanceof dev.lethe.server.LogCursor.Mismatch) {
            return "CONFLICT";
        }
        if (e instanceof dev.lethe.core.privacy.AccessDeniedException) {
            return "FORBIDDEN";
        }
        if (e instanceof dev.lethe.core.privacy.UnknownSubjectException) {
            return "NOT_FOUND";
        }
        if (e instanceof dev.lethe.core.store.LetheException lethe && lethe.isTransient()) {
            return "UNAVAILABLE";
        }
        if (e instanceof dev.lethe.core.store.InvalidEventException) {
            return "BAD_USER_INPUT";
        }
        return "INTERNAL_SERVER_ERROR";
    }

    private static String classification(Map<?, ?> error) {
        return error.get("extensions") instanceof Map<?, ?> extensions
                ? String.valueOf(extensions.get("classification"))
                : "";
    }

    /** The longest error message looked into: a longer one quotes the request (an operation name of 16 MB). */
    static final int MAX_MESSAGE_CHARS = 2_000;

    static String redact(String message, String classification) {
        return redact(message, classification, Map.of());
    }

    static String redact(String message, String classification, Map<String, String> variableTypes) {
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
        java.util.regex.Matcher undefined = UNDEFINED_INPUT_FIELD.matcher(message);
        if (undefined.find()) {
            // The member's name is the client's data (it may be an e-mail address written as a key): not repeated.
            return "The variables give a member (its name not shown) that the input type '" + undefined.group(1)
                    + "' does not define";
        }
        java.util.regex.Matcher variable = INVALID_VARIABLE.matcher(message);
        if (variable.find()) {
            // "Variable 'f' has an invalid value: <why, quoting the value>". The type it was declared with quotes
            // nothing of the value: said instead.
            String declared = variableTypes.get(message.substring("Variable '".length(), message.indexOf('\'', 10)));
            return message.substring(0, variable.end())
                    + (declared == null ? "" : ": its type is " + declared)
                    + " (the value and the reason quoting it are not repeated)";
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
