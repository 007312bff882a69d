/**
 * The embedded default engine: the event log in {@code events.db} and projection states in
 * {@code projections.db}, SQLite files in WAL mode, in one data directory. An append is acknowledged
 * once it is on disk ({@code synchronous=FULL}); one sequencer thread commits concurrent appends
 * together (group commit).
 */
package dev.lethe.sqlite;
