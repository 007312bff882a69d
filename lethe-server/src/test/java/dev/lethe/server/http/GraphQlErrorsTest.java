package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GraphQlErrorsTest {
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
}
