/**
 * What a storage engine builds on: the append rules every engine must apply identically, and the head
 * signal that wakes live subscriptions. A new engine implements {@link dev.lethe.core.store.EventStore}
 * with these and proves itself with the conformance suite in this module's test-jar
 * ({@code dev.lethe.core.tck.EventStoreTck}).
 */
package dev.lethe.core.spi;
