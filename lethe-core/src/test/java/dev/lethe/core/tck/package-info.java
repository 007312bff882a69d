/**
 * The storage-engine conformance suite (TCK): {@link dev.lethe.core.tck.StorageEngineTck} and the
 * suites it gathers. Shipped in lethe-core's test-jar; every engine runs it unchanged.
 */
package dev.lethe.core.tck;
