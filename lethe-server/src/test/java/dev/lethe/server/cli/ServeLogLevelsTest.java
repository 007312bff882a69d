package dev.lethe.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * {@code lethe serve} keeps Jetty's and Javalin's loggers at warn or above, whatever {@code -D} options ask: below it
 * they print request and response bodies (decrypted personal data) and Authorization headers.
 */
class ServeLogLevelsTest {
    @Test
    void library_loggers_set_below_warn_are_raised_to_warn_and_others_kept() {
        Properties properties = new Properties();
        properties.setProperty("org.slf4j.simpleLogger.log.org.eclipse.jetty", "debug");
        properties.setProperty("org.slf4j.simpleLogger.log.org.eclipse.jetty.http.HttpParser", " TRACE ");
        properties.setProperty("org.slf4j.simpleLogger.log.io.javalin", "info");
        properties.setProperty("org.slf4j.simpleLogger.log.org.eclipse.jetty.server", "all"); // read as info
        properties.setProperty("org.slf4j.simpleLogger.log.org.eclipse.jetty.io", "OFF");
        properties.setProperty("org.slf4j.simpleLogger.log.io.javalin.Javalin", "error");
        properties.setProperty("org.slf4j.simpleLogger.showDateTime", "true");

        assertThat(ServeCommand.quietLibraryLoggers(properties))
                .containsExactly(
                        "org.slf4j.simpleLogger.log.io.javalin",
                        "org.slf4j.simpleLogger.log.org.eclipse.jetty",
                        "org.slf4j.simpleLogger.log.org.eclipse.jetty.http.HttpParser",
                        "org.slf4j.simpleLogger.log.org.eclipse.jetty.server");
        assertThat(properties.getProperty("org.slf4j.simpleLogger.log.org.eclipse.jetty"))
                .isEqualTo("warn");
        assertThat(properties.getProperty("org.slf4j.simpleLogger.log.org.eclipse.jetty.http.HttpParser"))
                .isEqualTo("warn");
        assertThat(properties.getProperty("org.slf4j.simpleLogger.log.io.javalin.Javalin"))
                .isEqualTo("error");
        assertThat(properties.getProperty("org.slf4j.simpleLogger.showDateTime"))
                .isEqualTo("true");
        // Jetty's warning of a malformed Host header quotes it: any client could write into the log.
        assertThat(properties.getProperty("org.slf4j.simpleLogger.log.org.eclipse.jetty.util.HostPort"))
                .isEqualTo("error");
    }
}
