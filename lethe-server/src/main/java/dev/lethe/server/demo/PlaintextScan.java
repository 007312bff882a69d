package dev.lethe.server.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Looks for plaintext values, byte for byte (UTF-8), in every file under a directory: the event log and
 * its WAL, the projection and key stores, everything.
 */
public final class PlaintextScan {
    private PlaintextScan() {}

    /** What a scan read and found. */
    public record Result(int files, long bytes, List<String> hits) {}

    public static Result scan(Path directory, List<String> values) throws IOException {
        List<String> hits = new ArrayList<>();
        int files = 0;
        long bytes = 0;
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path file : paths.filter(Files::isRegularFile).toList()) {
                byte[] content = Files.readAllBytes(file);
                files++;
                bytes += content.length;
                for (String value : values) {
                    if (indexOf(content, value.getBytes(StandardCharsets.UTF_8)) >= 0) {
                        hits.add(value + " in " + directory.relativize(file));
                    }
                }
            }
        }
        return new Result(files, bytes, hits);
    }

    static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
