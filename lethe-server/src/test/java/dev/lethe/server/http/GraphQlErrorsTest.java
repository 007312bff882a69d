package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GraphQlErrorsTest {
    @Test
    void a_message_that_quotes_a_long_request_is_neither_repeated_nor_searched() {
        // graphql-java quotes an unknown operation name whole: 16 MB of name, twice the size as a message.
        String name = "with value 'x".repeat(20_000);
        long started = System.nanoTime();
        String redacted = GraphQlErrors.redact("Unknown operation named '" + name + "'.", "ValidationError");
        assertThat(redacted)
                .startsWith("ValidationError: the message is not repeated (")
                .doesNotContain("with value");
        assertThat(System.nanoTime() - started)
                .isLessThan(java.time.Duration.ofSeconds(5).toNanos());
    }

    @Test
    void messages_keep_what_is_wrong_and_where_but_not_the_input() {
        assertThat(GraphQlErrors.redact(
                        "Validation error (WrongType@[append]) : argument 'events[0].data' with value 'ObjectValue{"
                                + "objectFields=[ObjectField{name='email', value=StringValue{value='ada@example.com'}}]}'"
                                + " is not a valid 'JSON' - unsupported JSON literal: a enum is not JSON",
                        "ValidationError"))
                .contains("argument 'events[0].data' with a value (not shown) is not a valid 'JSON'")
                .doesNotContain("ada@example.com");
        assertThat(GraphQlErrors.redact(
                        "Invalid syntax with ANTLR error 'token recognition error at: '\"Ada Lovelace) }'' at line 1"
                                + " column 18",
                        "InvalidSyntax"))
                .isEqualTo("Invalid syntax at line 1 column 18 (the offending text is not repeated)");
        assertThat(GraphQlErrors.redact(
                        "Exception while fetching data (/forget) : subject 3f25: was already forgotten",
                        "DataFetchingException"))
                .isEqualTo("subject 3f25: was already forgotten");
        assertThat(GraphQlErrors.redact("something with StringValue{value='x'} inside", "ValidationError"))
                .doesNotContain("'x'")
                .contains("not repeated");
    }

    @Test
    void a_member_the_input_type_does_not_define_is_not_named_and_is_the_clients_input() {
        // graphql-java's words for a variable's object with a member its input type does not declare.
        String message = "The variables input contains a field name 'ada.lovelace@example.com' that is not defined"
                + " for input object type 'EventInput' ";
        assertThat(GraphQlErrors.redact(message, "ValidationError"))
                .isEqualTo("The variables give a member (its name not shown) that the input type 'EventInput' does"
                        + " not define")
                .doesNotContain("ada.lovelace");
        assertThat(GraphQlErrors.codeOf(graphql.GraphqlErrorBuilder.newError()
                        .message(message)
                        .errorType(graphql.ErrorType.ValidationError)
                        .build()))
                .containsEntry("code", "BAD_USER_INPUT");
    }

    @Test
    void a_query_past_the_parser_limits_is_told_so_not_called_a_syntax_error() {
        // graphql-java's own messages, as its parser writes them for a query of 16,000 aliases and one of 1M+
        // characters.
        StringBuilder aliases = new StringBuilder("{");
        for (int i = 0; i < 16_000; i++) {
            aliases.append(" a").append(i).append(": __typename");
        }
        String tokens = graphql.GraphQL.newGraphQL(graphql.schema.GraphQLSchema.newSchema()
                        .query(graphql.schema.GraphQLObjectType.newObject()
                                .name("Query")
                                .field(f -> f.name("x").type(graphql.Scalars.GraphQLString)))
                        .build())
                .build()
                .execute(aliases.append("}").toString())
                .getErrors()
                .get(0)
                .getMessage();
        assertThat(GraphQlErrors.redact(tokens, "InvalidSyntax"))
                .isEqualTo("The query is too large: more than 15000 'grammar' tokens (a limit against denial of"
                        + " service); send a smaller query");
        assertThat(GraphQlErrors.redact(
                        "More than 1000000 characters have been presented. To prevent Denial Of Service attacks,"
                                + " parsing has been cancelled.",
                        "InvalidSyntax"))
                .startsWith("The query is too large: more than 1000000 characters");
        assertThat(GraphQlErrors.redact(
                        "More than 500 deep 'selectionSet' rules have been entered. To prevent Denial Of Service"
                                + " attacks, parsing has been cancelled.",
                        "InvalidSyntax"))
                .startsWith("The query is too deeply nested: more than 500 levels");
    }
}
