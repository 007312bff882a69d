/**
 * The event model and the {@link dev.lethe.core.store.EventStore} contract: streams, expected
 * versions, appends, reads (forward, backward, whole log, category, as of an instant or version) and
 * the exceptions, all under {@link dev.lethe.core.store.LetheException}.
 */
package dev.lethe.core.store;
