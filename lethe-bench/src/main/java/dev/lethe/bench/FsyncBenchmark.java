package dev.lethe.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The physical reference: how many times per second this disk can make a small append durable
 * (write 4 KiB at the end of a file, then fdatasync). One durable commit costs at least one of these,
 * so without group commit a single writer cannot append more events per second than this.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
@Fork(1)
@State(Scope.Benchmark)
public class FsyncBenchmark {
    private Path directory;
    private FileChannel channel;
    private final ByteBuffer page = ByteBuffer.allocateDirect(4096);
    private long offset;

    @Setup(Level.Trial)
    public void open() throws IOException {
        directory = BenchEvents.freshDirectory("fsync");
        channel = FileChannel.open(directory.resolve("fsync.bin"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        channel.close();
        BenchEvents.deleteRecursively(directory);
    }

    /**
     * The same, as a latency distribution (microseconds, JMH sample mode): a forget waits for several
     * of these in a row, so its tail follows this one's.
     */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void write4KibAndFdatasyncLatency() throws IOException {
        write4KibAndFdatasync();
    }

    /**
     * The same again, one per JMH single shot, as {@link ForgetBenchmark} runs: the control for that
     * mode's own overhead (between shots JMH reports each one to its parent process, on the same cores).
     * Compare its percentiles with {@link #write4KibAndFdatasyncLatency}'s.
     */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @Warmup(iterations = 20, batchSize = 100)
    @Measurement(iterations = 500, batchSize = 1)
    public void write4KibAndFdatasyncSingleShot() throws IOException {
        write4KibAndFdatasync();
    }

    @Benchmark
    public void write4KibAndFdatasync() throws IOException {
        page.clear();
        channel.write(page, offset);
        offset += 4096;
        channel.force(false);
    }
}
