/** The server module's shared pieces: the JSON form of events used by the command line and the HTTP API. */
package dev.lethe.server;
