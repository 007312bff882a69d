/** An in-memory engine with every guarantee of the store except durability; for tests and trials. */
package dev.lethe.core.memory;
