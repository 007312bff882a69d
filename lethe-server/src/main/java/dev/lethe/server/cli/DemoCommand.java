package dev.lethe.server.cli;

import dev.lethe.core.projection.ProjectionStore;
import dev.lethe.server.demo.DemoStory;
import dev.lethe.sqlite.SqliteEventStore;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

@Command(name = "demo", description = "Run the demo story on the embedded store in the data directory.")
final class DemoCommand implements Callable<Integer> {
    @ParentCommand
    LetheCli parent;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = parent.spec.commandLine().getOut();
        try (SqliteEventStore store = parent.store.openForWriting();
                ProjectionStore states = parent.store.openProjections()) {
            out.printf(
                    "Lethe demo: a wealth manager's customers, on the embedded store in %s%n",
                    parent.store.directory.toAbsolutePath().normalize());
            out.printf(
                    "(SQLite, WAL, synchronous=FULL: an append returns once it is on disk; %d events already stored)%n",
                    store.headPosition() + 1);
            new DemoStory(store, states, out).run();
        }
        return 0;
    }
}
