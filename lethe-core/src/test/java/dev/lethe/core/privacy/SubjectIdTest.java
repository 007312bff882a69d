package dev.lethe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.InvalidEventException;
import org.junit.jupiter.api.Test;

/** A subject id is a UUID written 8-4-4-4-12: a garbled one is refused, never read as another subject's. */
class SubjectIdTest {
    @Test
    void a_subject_id_is_read_in_its_canonical_form_only() {
        String id = "57f8eb90-1ac7-4679-b9f3-007a6086594e";
        assertThat(SubjectId.parse(id).toString()).isEqualTo(id);
        assertThat(SubjectId.parse(id.toUpperCase(java.util.Locale.ROOT)).toString())
                .isEqualTo(id);
        assertThat(SubjectId.looksLikeOne(id)).isTrue();
        // UUID.fromString reads these as other ids: 57f8eb90-1ac7-4679-b9f3-007a6086594e, 7f8eb901-0ac7-…
        for (String garbled : java.util.List.of(
                "0057f8eb90-1ac7-4679-b9f3-7a6086594e", "57f8eb901-ac7-4679-b9f3-007a6086594e", "1-1-1-1-1")) {
            assertThatThrownBy(() -> SubjectId.parse(garbled))
                    .as(garbled)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("is not a UUID");
            assertThat(SubjectId.looksLikeOne(garbled)).as(garbled).isFalse();
        }
    }
}
