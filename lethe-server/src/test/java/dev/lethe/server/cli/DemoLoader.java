package dev.lethe.server.cli;

import java.nio.file.Path;

/** Test access to {@code lethe serve --demo}'s loading of the demo story. */
public final class DemoLoader {
    private DemoLoader() {}

    public static void load(Path data) throws Exception {
        ServeCommand.loadDemoOnce(data, dev.lethe.sqlite.SqliteOptions.DEFAULT);
    }
}
