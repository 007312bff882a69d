package dev.lethe.core.store;

/**
 * The condition under which an append may happen, checked atomically with the append.
 *
 * <ul>
 *   <li>{@link #any()}: always;
 *   <li>{@link #noStream()}: the stream has no event yet;
 *   <li>{@link #streamExists()}: the stream has at least one event;
 *   <li>{@link #exactly(long)}: the stream's last event has this version (0-based);
 *       {@code exactly(-1)} is the same as {@code noStream()}.
 * </ul>
 */
public sealed interface ExpectedVersion
        permits ExpectedVersion.Any, ExpectedVersion.NoStream, ExpectedVersion.StreamExists, ExpectedVersion.Exactly {

    static ExpectedVersion any() {
        return Any.INSTANCE;
    }

    static ExpectedVersion noStream() {
        return NoStream.INSTANCE;
    }

    static ExpectedVersion streamExists() {
        return StreamExists.INSTANCE;
    }

    /**
     * The stream's current version must be exactly {@code version}.
     *
     * @throws InvalidEventException if {@code version} is below -1
     */
    static ExpectedVersion exactly(long version) {
        if (version < -1) {
            throw InvalidEventException.of(
                    "expected version", version + " is below -1 (use -1 or noStream() for a new stream)");
        }
        return version == -1 ? NoStream.INSTANCE : new Exactly(version);
    }

    /**
     * Parses {@code any}, {@code no_stream}/{@code no-stream}, {@code stream_exists}/{@code stream-exists}
     * or a number, as used by the command line and HTTP API.
     */
    static ExpectedVersion parse(String text) {
        if (text == null) {
            throw InvalidEventException.of("expected version", "is missing");
        }
        switch (text.trim().toLowerCase(java.util.Locale.ROOT).replace('-', '_')) {
            case "any":
                return any();
            case "no_stream":
                return noStream();
            case "stream_exists":
                return streamExists();
            default:
                long version;
                try {
                    version = Long.parseLong(text.trim());
                } catch (NumberFormatException e) {
                    throw InvalidEventException.of(
                            "expected version",
                            "'" + StreamId.printable(text) + "' is not any, no_stream (or no-stream), stream_exists (or"
                                    + " stream-exists) or a number");
                }
                if (version < -1) {
                    // Said in the words of the command line and HTTP, which parse it, not of the Java API.
                    throw InvalidEventException.of(
                            "expected version",
                            version + " is below -1 (-1 or no_stream: a stream that does not exist)");
                }
                return exactly(version);
        }
    }

    /** Whether a stream whose current version is {@code current} (-1: no stream) satisfies this. */
    boolean isSatisfiedBy(long current);

    enum Any implements ExpectedVersion {
        INSTANCE;

        @Override
        public boolean isSatisfiedBy(long current) {
            return true;
        }

        @Override
        public String toString() {
            return "any";
        }
    }

    enum NoStream implements ExpectedVersion {
        INSTANCE;

        @Override
        public boolean isSatisfiedBy(long current) {
            return current == StreamInfo.NO_VERSION;
        }

        @Override
        public String toString() {
            return "no stream";
        }
    }

    enum StreamExists implements ExpectedVersion {
        INSTANCE;

        @Override
        public boolean isSatisfiedBy(long current) {
            return current != StreamInfo.NO_VERSION;
        }

        @Override
        public String toString() {
            return "stream exists";
        }
    }

    record Exactly(long version) implements ExpectedVersion {
        @Override
        public boolean isSatisfiedBy(long current) {
            return current == version;
        }

        @Override
        public String toString() {
            return "version " + version;
        }
    }
}
