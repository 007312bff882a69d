package dev.lethe.core.spi;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Replaces a small file (a keyset, the data policy) so that a crash leaves either the old content or the
 * new one, never a mix or nothing, and an acknowledged replacement survives a power cut.
 */
public final class DurableFiles {
    private DurableFiles() {}

    /**
     * Writes {@code content} to {@code target}'s sibling {@code NAME.tmp}, created afresh (with
     * {@code permissions} when not null, so that a secret is never readable by others, not even for a
     * moment), forces it to disk, renames it over {@code target} atomically and syncs the directory.
     * On failure the temporary file is deleted, as far as possible, and {@code target} is unchanged. A
     * {@code target} that is a symbolic link is followed: the file it leads to is replaced (in its own
     * directory) and the link is kept — replacing the link would leave the old content where it leads, a
     * master key a rotation reports as destroyed still readable there.
     */
    public static void replace(Path link, byte[] content, Set<PosixFilePermission> permissions) throws IOException {
        Path target = followed(link);
        Path temporary = target.resolveSibling(target.getFileName() + ".tmp");
        Files.deleteIfExists(temporary);
        if (permissions == null) {
            Files.createFile(temporary);
        } else {
            Files.createFile(temporary, PosixFilePermissions.asFileAttribute(permissions));
        }
        try {
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
                ByteBuffer bytes = ByteBuffer.wrap(content);
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(true);
            }
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(temporary);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        syncDirectory(target.toAbsolutePath().getParent());
    }

    /**
     * The file {@code path} leads to: itself when it is not a symbolic link, else where its links lead
     * (which must exist: a link that leads nowhere is refused, naming where it points).
     */
    public static Path followed(Path path) throws IOException {
        if (!Files.isSymbolicLink(path)) {
            return path;
        }
        try {
            return path.toRealPath();
        } catch (java.nio.file.NoSuchFileException e) {
            throw new java.nio.file.NoSuchFileException(
                    path.toString(),
                    null,
                    "a symbolic link to " + Files.readSymbolicLink(path) + ", which does not exist");
        }
    }

    /** Makes a rename in the directory durable; a file system that cannot sync a directory is skipped. */
    public static void syncDirectory(Path directory) {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Not supported here (some file systems): the rename is still atomic.
        }
    }
}
