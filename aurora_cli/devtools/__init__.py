"""Tools for developing and measuring Aurora (synthetic data for tests, the benchmark and the samples).

Never imported by services or the pipeline: nothing here is a business rule.
"""
