package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lethe.core.projection.ProjectionStore;
import dev.lethe.core.store.Mounts;
import dev.lethe.core.store.StorageException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A read model's commit on a full file system fails as a full disk ({@code SQLITE_FULL}, a failure that
 * passes, which a running projection tries again), writes nothing, and succeeds once space is freed. SQLite
 * rolls such a transaction back by itself; the "no transaction is active" of the rollback that follows
 * hid the full disk behind a permanent {@code SQLITE_ERROR} before.
 *
 * <p>Mounting a small tmpfs needs root and {@code mount}: without them the class is skipped with a warning,
 * or fails when {@code LETHE_REQUIRE_ALL=1}.
 */
class FullDiskIT {
    @TempDir
    Path root;

    @Test
    void a_projection_commit_on_a_full_disk_fails_as_one_that_passes_and_succeeds_once_space_is_freed()
            throws Exception {
        Path mounted = root.resolve("small");
        Files.createDirectories(mounted);
        Mounts.tmpfs(mounted, "4m", "FullDiskIT");
        try {
            try (SqliteProjectionStore store = SqliteProjectionStore.open(mounted)) {
                store.commit("customers", Map.of("customer-1", "{\"n\":1}"), 1, null);
                Path filler = mounted.resolve("filler");
                fill(filler);
                String large = "{\"n\":\"" + "x".repeat(512 * 1024) + "\"}";
                assertThatThrownBy(() -> store.commit("customers", Map.of("customer-2", large), 2, null))
                        .isInstanceOfSatisfying(
                                StorageException.class,
                                e -> assertThat(e.isTransient())
                                        .as("a full disk passes: %s", e.getMessage())
                                        .isTrue())
                        .hasMessageContaining("SQLITE_FULL");
                assertThat(store.loadState("customers", "customer-2")).isEmpty();
                assertThat(checkpoint(store)).isEqualTo(1);

                Files.delete(filler);
                store.commit("customers", Map.of("customer-2", large), 2, null);
                assertThat(store.loadState("customers", "customer-2")).contains(large);
                assertThat(checkpoint(store)).isEqualTo(2);
            }
        } finally {
            String unmounted = Mounts.unmount(mounted);
            assertThat(unmounted).as("umount " + mounted).isNull();
        }
    }

    private static long checkpoint(ProjectionStore store) {
        return store.list().stream()
                .filter(info -> info.name().equals("customers"))
                .findFirst()
                .orElseThrow()
                .nextPosition();
    }

    /** Writes to {@code file} until the file system refuses: what is left is too little for a large commit. */
    private static void fill(Path file) throws IOException {
        byte[] chunk = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int i = 0; i < 1024; i++) {
                out.write(chunk);
            }
            fail("4 MiB of tmpfs took 64 MiB");
        } catch (IOException full) {
            if (!String.valueOf(full.getMessage()).contains("No space left")) {
                throw full;
            }
        }
    }
}
