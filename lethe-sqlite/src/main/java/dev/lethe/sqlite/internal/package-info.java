/** The SQLite engine's parts: schema, sequencer, reader pool, directory lock. Not API. */
package dev.lethe.sqlite.internal;
