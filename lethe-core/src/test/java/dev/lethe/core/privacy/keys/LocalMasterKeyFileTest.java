package dev.lethe.core.privacy.keys;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
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

    private static List<String> warningsOpening(Path file) {
        Logger logger = Logger.getLogger(LocalMasterKey.class.getName());
        List<String> messages = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                messages.add(record.getMessage());
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        logger.addHandler(capture);
        try {
            LocalMasterKey.openOrCreateFile(file);
        } finally {
            logger.removeHandler(capture);
        }
        return messages;
    }
}
