/** The {@code lethe} command line: demo, append, read, tail, projections, stats. */
package dev.lethe.server.cli;
