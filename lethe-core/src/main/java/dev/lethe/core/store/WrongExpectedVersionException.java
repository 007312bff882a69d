package dev.lethe.core.store;

/**
 * An append's {@link ExpectedVersion} did not hold: the stream is not where the writer thought it
 * was. Nothing of the batch was written. Read the stream again, decide again, then retry.
 */
public final class WrongExpectedVersionException extends LetheException {
    private final StreamId streamId;
    private final ExpectedVersion expected;
    private final long actual;

    private WrongExpectedVersionException(StreamId streamId, ExpectedVersion expected, long actual) {
        super("wrong expected version for stream '" + streamId + "': expected " + expected + ", actual "
                + (actual == StreamInfo.NO_VERSION ? "no stream" : "version " + actual));
        this.streamId = streamId;
        this.expected = expected;
        this.actual = actual;
    }

    public static WrongExpectedVersionException of(StreamId streamId, ExpectedVersion expected, long actual) {
        return new WrongExpectedVersionException(streamId, expected, actual);
    }

    public StreamId streamId() {
        return streamId;
    }

    public ExpectedVersion expected() {
        return expected;
    }

    /** The stream's current version, or {@link StreamInfo#NO_VERSION} (-1) if it does not exist. */
    public long actual() {
        return actual;
    }

    @Override
    public boolean isTransient() {
        return false;
    }
}
