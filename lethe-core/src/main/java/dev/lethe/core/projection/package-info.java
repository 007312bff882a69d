/**
 * Projections: left folds over the log, kept per key or globally, with their checkpoint committed
 * together with their states; rebuilt from zero on request; queried by key, or as of an instant.
 */
package dev.lethe.core.projection;
