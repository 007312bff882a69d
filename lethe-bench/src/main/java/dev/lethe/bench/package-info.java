/** JMH benchmarks; run them with lethe-bench/run (see docs/benchmarks.md). */
package dev.lethe.bench;
