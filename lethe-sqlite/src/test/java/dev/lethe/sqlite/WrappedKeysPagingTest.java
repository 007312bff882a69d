package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.keys.ErasureReceipt;
import dev.lethe.core.privacy.keys.KeyRefs;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code forEachWrappedKey} reads subject keys a page at a time and passes each live key exactly once. */
class WrappedKeysPagingTest {
    @TempDir
    Path data;

    @Test
    void every_live_key_is_passed_once_across_pages_with_gaps_left_by_forgets() {
        try (SqliteKeyStore store = SqliteKeyStore.open(data)) {
            List<SubjectId> subjects = new ArrayList<>();
            for (int i = 0; i < 11; i++) {
                SubjectId subject = SubjectId.random();
                store.createSubject(subject, new byte[] {(byte) i}, Optional.empty());
                subjects.add(subject);
            }
            // Gaps in the rowids: one at a page's end (page of 3: the third), one inside a page.
            for (SubjectId gone : List.of(subjects.get(2), subjects.get(7))) {
                store.forget(
                        gone,
                        new ErasureReceipt(
                                UUID.randomUUID(), gone, "test", Instant.now(), "test", "", List.of("subject key")),
                        List.of());
            }
            store.treatAsForgotten(Set.of(subjects.get(4)));
            store.createPeriodKey(DataGroup.of("contact"), "2026-11", new byte[] {42});
            store.createSecret("blind-index", new byte[] {43});

            Map<String, byte[]> passed = new LinkedHashMap<>();
            List<String> order = new ArrayList<>();
            store.forEachWrappedKey(
                    (ref, wrapped) -> {
                        order.add(ref);
                        passed.put(ref, wrapped);
                    },
                    3);

            assertThat(order).doesNotHaveDuplicates();
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < subjects.size(); i++) {
                if (i != 2 && i != 7 && i != 4) {
                    expected.add(KeyRefs.subject(subjects.get(i)));
                    assertThat(passed.get(KeyRefs.subject(subjects.get(i)))).containsExactly((byte) i);
                }
            }
            expected.add(KeyRefs.period(DataGroup.of("contact"), "2026-11"));
            expected.add(KeyRefs.secret("blind-index"));
            assertThat(order).containsExactlyElementsOf(expected);
            assertThat(store.allWrappedKeys().keySet()).containsExactlyElementsOf(expected);
        }
    }
}
