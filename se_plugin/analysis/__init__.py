"""Measurements of se_plugin models: parameter and FLOP counts beside the
paper's tables, and the classifier config they are measured in; the
paper's excitation analysis (Section 7.2); training curves from logs."""
