package dev.lethe.server.cli;

import dev.lethe.server.demo.DemoStory;
import dev.lethe.sqlite.SqliteEventStore;
import dev.lethe.sqlite.SqliteLethe;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

@Command(name = "demo", description = "Run the demo story on the embedded store in the data directory.")
final class DemoCommand implements Callable<Integer> {
    @ParentCommand
    LetheCli parent;

    @Override
    public Integer call() throws InterruptedException, java.io.IOException {
        PrintWriter out = parent.spec.commandLine().getOut();
        java.time.Clock clock = DemoStory.storyClock();
        try (SqliteLethe lethe = parent.store.openForWriting(clock)) {
            SqliteEventStore store = lethe.store();
            if (store.headPosition() >= 0 && !DemoStory.wroteTo(lethe.privacy())) {
                // The demo registers its own schemas (a ProductSold that classifies other fields than yours: your
                // next appends would store personal data in plaintext), mixes made-up customers in, and forgets one.
                throw dev.lethe.core.store.InvalidEventException.of(
                        "--data",
                        "the data directory "
                                + parent.store.directory.toAbsolutePath().normalize() + " holds "
                                + (store.headPosition() + 1)
                                + " event(s) and was not written by the demo: the demo would register its own schemas"
                                + " over yours and add its customers to your data. Run it in a new directory (--data"
                                + " DIR; a directory an earlier release's lethe demo wrote is not marked as the"
                                + " demo's: make it again)");
            }
            out.printf(
                    "Lethe demo: a wealth manager's customers, on the embedded store in %s%n",
                    parent.store.directory.toAbsolutePath().normalize());
            out.printf(
                    "(SQLite, WAL, synchronous=FULL: an append returns once it is on disk; %d events already stored)%n",
                    store.headPosition() + 1);
            new DemoStory(lethe.privacy(), lethe.projections(), clock, parent.store.directory, out)
                    .hintsRunning("./lethe" + parent.store.hintOptions())
                    .run();
        }
        return 0;
    }
}
