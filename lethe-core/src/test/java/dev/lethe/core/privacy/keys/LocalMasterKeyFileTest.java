package dev.lethe.core.privacy.keys;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalMasterKeyFileTest {
    @TempDir
    Path directory;

    @Test
    void a_keyset_others_may_read_is_warned_of_at_open_and_one_of_its_owners_only_is_not() throws Exception {
        Path file = directory.resolve(LocalMasterKey.FILE_NAME);
        LocalMasterKey.openOrCreateFile(file);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                .isEqualTo("rw-------");
        assertThat(warningsOpening(file)).isEmpty();

        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(warningsOpening(file))
                .singleElement()
                .asString()
                .contains("may be read or changed by other users (rw-r--r--)", "chmod 600 " + file);

        // Through a link, the mode of the file it leads to is the one that counts.
        Path link = Files.createSymbolicLink(directory.resolve("link.keyset.json"), file);
        assertThat(warningsOpening(link)).hasSize(1);
    }

    @Test
    void a_rotation_whose_keyset_cannot_be_written_keeps_using_the_epochs_the_file_holds() throws Exception {
        Path file = directory.resolve(LocalMasterKey.FILE_NAME);
        LocalMasterKey master = LocalMasterKey.openOrCreateFile(file);
        int before = master.epoch();
        byte[] wrapped = master.wrap(new byte[32], new byte[] {1});
        // The file cannot be replaced (root too: a rename onto a directory that is not empty fails).
        Files.delete(file);
        Files.createDirectory(file);
        Files.writeString(file.resolve("occupied"), "x");

        org.assertj.core.api.Assertions.assertThatThrownBy(master::beginRotation)
                .isInstanceOf(dev.lethe.core.store.StorageException.class)
                .hasMessageContaining("cannot start a master key rotation");

        // Keys wrapped now under an epoch the file never got would not unwrap after a restart.
        assertThat(master.epoch()).isEqualTo(before);
        assertThat(master.liveEpochs()).containsExactly(before);
        assertThat(master.unwrap(master.wrap(new byte[32], new byte[] {2}), new byte[] {2}))
                .hasSize(32);
        assertThat(master.unwrap(wrapped, new byte[] {1})).hasSize(32);
    }

    private static List<String> warningsOpening(Path file) {
        try (dev.lethe.core.testing.LogCapture capture = dev.lethe.core.testing.LogCapture.of(LocalMasterKey.class)) {
            LocalMasterKey.openOrCreateFile(file);
            return capture.rawMessages();
        }
    }
}
