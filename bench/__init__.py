"""Benchmarks of poems-kg and its workload generator."""
