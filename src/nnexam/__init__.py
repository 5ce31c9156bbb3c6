"""nnexam: per-student forward/backward-pass exercises, solved, rendered and graded."""

__version__ = "0.1.0"
