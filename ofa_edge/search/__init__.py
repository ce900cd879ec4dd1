"""Subnet search: constraints, accuracy predictor, algorithms, Pareto fronts and reports."""
