package dev.lethe.sqlite.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.spi.HeadSignal;
import dev.lethe.sqlite.internal.Checkpointer.Action;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When the checkpointer copies the WAL into the database, and how, with a made-up clock and WAL size:
 * each {@link Checkpointer#step} is what the thread does every 200 ms. (It used to be tested through the
 * running thread and the file's modification time, which a loaded machine could make fail.)
 */
class CheckpointerTest {
    private static final long MIB = 1L << 20;

    @TempDir
    Path directory;

    private Connection connection;
    private final HeadSignal head = new HeadSignal(41);
    private final AtomicLong committed = new AtomicLong();
    private final AtomicLong wal = new AtomicLong();
    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private Checkpointer checkpointer;

    @BeforeEach
    void open() {
        connection = Sql.open(directory.resolve("events.db"), "journal_mode = WAL");
        checkpointer = new Checkpointer(connection, head, committed::get, wal::get, nanos::get);
    }

    @AfterEach
    void close() throws Exception {
        connection.close();
    }

    private void at(double seconds) {
        nanos.set(1_000_000_000L + (long) (seconds * TimeUnit.SECONDS.toNanos(1)));
    }

    private void commit(long bytes) {
        head.advance(head.head() + 1);
        committed.addAndGet(bytes);
        wal.addAndGet(bytes);
    }

    /** Steps every 200 ms from {@code from} until {@code until} seconds; none may checkpoint. */
    private void assertNothingFrom(double from, double until) throws Exception {
        for (double t = from; t < until; t += 0.2) {
            at(t);
            assertThat(checkpointer.step()).as("at %.1f s", t).isEqualTo(Action.NOTHING);
        }
    }

    @Test
    void a_store_that_was_only_opened_is_never_checkpointed() throws Exception {
        assertNothingFrom(0.2, 30);
    }

    @Test
    void small_commits_wait_for_a_mebibyte_or_five_seconds() throws Exception {
        at(1);
        commit(300);
        assertThat(checkpointer.step()).isEqualTo(Action.NOTHING);
        at(4.9);
        commit(300);
        assertThat(checkpointer.step()).isEqualTo(Action.NOTHING);
        at(5.0);
        assertThat(checkpointer.step()).isEqualTo(Action.PASSIVE);
        at(5.2);
        assertThat(checkpointer.step()).as("nothing new").isEqualTo(Action.NOTHING);
        commit(MIB);
        assertThat(checkpointer.step()).as("a mebibyte at once").isEqualTo(Action.PASSIVE);
    }

    @Test
    void after_a_burst_has_grown_the_wal_file_small_commits_still_wait() throws Exception {
        at(1);
        for (int i = 0; i < 7; i++) {
            commit(900_000);
        }
        assertThat(checkpointer.step()).isEqualTo(Action.PASSIVE);
        for (double t = 1.2; t < 6; t += 0.2) {
            at(t);
            commit(200);
            assertThat(checkpointer.step()).as("at %.1f s", t).isEqualTo(Action.NOTHING);
        }
        at(6.0);
        commit(200);
        assertThat(checkpointer.step()).isEqualTo(Action.PASSIVE);
    }

    @Test
    void a_wal_past_64_mebibytes_is_restarted_so_that_the_next_commit_writes_it_from_the_start() throws Exception {
        wal.set(Checkpointer.RESTART_WAL_BYTES + 1);
        at(1);
        commit(2 * MIB);
        assertThat(checkpointer.step()).isEqualTo(Action.RESTART);
    }

    @Test
    void a_wal_file_left_large_by_a_burst_is_truncated_once_nothing_was_committed_for_five_seconds() throws Exception {
        at(1);
        for (int i = 0; i < 8; i++) {
            commit(MIB);
        }
        assertThat(checkpointer.step()).isEqualTo(Action.PASSIVE);
        at(5.9);
        assertThat(checkpointer.step()).as("idle for 4.9 s only").isEqualTo(Action.NOTHING);
        at(6.0);
        assertThat(checkpointer.step()).isEqualTo(Action.TRUNCATE);
        wal.set(0);
        at(20);
        assertThat(checkpointer.step()).as("truncated already").isEqualTo(Action.NOTHING);
    }

    @Test
    void an_idle_store_with_a_small_wal_is_left_alone() throws Exception {
        at(1);
        commit(3 * MIB);
        assertThat(checkpointer.step()).isEqualTo(Action.PASSIVE);
        assertNothingFrom(1.2, 30);
    }

    @Test
    void a_reader_on_an_older_snapshot_makes_a_truncation_report_busy_at_once_and_it_is_tried_again_later()
            throws Exception {
        try (var statement = connection.createStatement()) {
            statement.execute("CREATE TABLE t (v INTEGER)");
            statement.execute("INSERT INTO t VALUES (1)");
        }
        try (Connection reader = Sql.open(directory.resolve("events.db"))) {
            reader.setAutoCommit(false);
            try (var read = reader.createStatement();
                    var rows = read.executeQuery("SELECT count(*) FROM t")) {
                rows.next(); // the reader's snapshot is now the one before the next insert
            }
            try (var statement = connection.createStatement()) {
                statement.execute("INSERT INTO t VALUES (2)");
            }
            at(1);
            commit(8 * MIB);
            assertThat(checkpointer.step()).isEqualTo(Action.PASSIVE);
            at(6);
            long started = System.nanoTime();
            assertThat(checkpointer.step()).isEqualTo(Action.BUSY);
            assertThat(System.nanoTime() - started).as("nanoseconds waited").isLessThan(TimeUnit.SECONDS.toNanos(2));
            at(8);
            assertThat(checkpointer.step())
                    .as("not before 5 s after the last try")
                    .isEqualTo(Action.NOTHING);
            reader.rollback();
        }
        at(11);
        assertThat(checkpointer.step()).isEqualTo(Action.TRUNCATE);
        try (var statement = connection.createStatement();
                var timeout = statement.executeQuery("PRAGMA busy_timeout")) {
            timeout.next();
            assertThat(timeout.getInt(1)).as("busy timeout restored").isEqualTo(Checkpointer.BUSY_TIMEOUT_MILLIS);
        }
        assertThat(java.nio.file.Files.size(directory.resolve("events.db-wal"))).isZero();
    }

    @Test
    void a_closed_checkpointer_does_nothing() throws Exception {
        at(1);
        commit(2 * MIB);
        checkpointer.close();
        assertThat(checkpointer.step()).isEqualTo(Action.NOTHING);
    }
}
