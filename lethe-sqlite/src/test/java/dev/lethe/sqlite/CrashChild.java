package dev.lethe.sqlite;

import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The process {@link SqliteCrashIT} kills: appends batches from several threads as fast as it can and
 * prints one line per acknowledged append, {@code ACK <batch> <stream> <size> <firstPosition> END}.
 */
public final class CrashChild {
    private CrashChild() {}

    public static void main(String[] args) throws Exception {
        Path directory = Path.of(args[0]);
        String run = args[1];
        PrintStream out = System.out;
        SqliteEventStore store = SqliteEventStore.open(directory);
        out.println("READY");
        out.flush();
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            int writer = w;
            Thread thread = new Thread(() -> {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                while (true) {
                    StreamId stream = StreamId.of("crash-" + run + "." + writer + "." + random.nextInt(8));
                    UUID batch = UUID.randomUUID();
                    int size = 1 + random.nextInt(20);
                    List<EventData> events = new ArrayList<>(size);
                    for (int i = 0; i < size; i++) {
                        events.add(EventData.of(
                                        "Crashed",
                                        "{\"batch\":\"" + batch + "\",\"size\":" + size + ",\"index\":" + i + "}")
                                .withId(UUID.randomUUID()));
                    }
                    AppendResult result = store.append(stream, ExpectedVersion.any(), events);
                    synchronized (out) {
                        out.println("ACK " + batch + " " + stream + " " + size + " " + result.firstPosition() + " END");
                        out.flush();
                    }
                }
            });
            thread.start();
            writers.add(thread);
        }
        for (Thread thread : writers) {
            thread.join();
        }
    }
}
