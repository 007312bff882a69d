package dev.lethe.core.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * What a class's {@code java.util.logging} logger publishes while this is open: for tests that check what is
 * logged, and that no value is. Close it (try-with-resources) to stop capturing.
 */
public final class LogCapture implements AutoCloseable {
    private final Logger logger;
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord record) {
            records.add(record);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    private LogCapture(Class<?> source) {
        this.logger = Logger.getLogger(source.getName());
        logger.addHandler(handler);
    }

    /** Starts capturing what {@code source}'s logger (named after the class) publishes. */
    public static LogCapture of(Class<?> source) {
        return new LogCapture(source);
    }

    /** The records published so far, in order. */
    public List<LogRecord> records() {
        return List.copyOf(records);
    }

    /** Each record's message as written, its parameters not filled in. */
    public List<String> rawMessages() {
        return records.stream().map(LogRecord::getMessage).toList();
    }

    /** Each record's message with its parameters filled in, as a formatter would print it. */
    public List<String> messages() {
        return records.stream()
                .map(r -> r.getParameters() == null
                        ? r.getMessage()
                        : java.text.MessageFormat.format(r.getMessage(), r.getParameters()))
                .toList();
    }

    @Override
    public void close() {
        logger.removeHandler(handler);
    }
}
