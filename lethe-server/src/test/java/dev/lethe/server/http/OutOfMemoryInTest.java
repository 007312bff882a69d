package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** An out-of-memory error wrapped by graphql-java or a future still halts the server. */
class OutOfMemoryInTest {
    @Test
    void an_out_of_memory_error_is_found_among_the_causes_of_a_wrapped_failure() {
        assertThat(LetheServer.outOfMemoryIn(
                        new CompletionException(new IllegalStateException(new OutOfMemoryError()))))
                .isTrue();
        assertThat(LetheServer.outOfMemoryIn(new OutOfMemoryError())).isTrue();
        assertThat(LetheServer.outOfMemoryIn(new CompletionException(new StackOverflowError())))
                .isFalse();
        assertThat(LetheServer.outOfMemoryIn(new IllegalStateException("no cause")))
                .isFalse();
    }
}
