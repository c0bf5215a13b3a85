"""Measurements of se_plugin models: parameter and FLOP counts beside the
paper's tables, and the classifier config they are measured in."""
