package dev.lethe.server;

import java.io.IOException;

/**
 * Why a file could not be read, in words an operator reads ("no such file", "permission denied"), not the
 * JDK's exception text ({@code NoSuchFileException: x}, {@code Input length = 1}). Never the file's content.
 */
public final class IoErrors {
    private IoErrors() {}

    public static String describe(IOException e) {
        return dev.lethe.core.store.StorageException.reasonOf(e);
    }
}
