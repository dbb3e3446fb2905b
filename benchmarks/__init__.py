"""Benchmark steps that need Streamlit; the command is ``python -m tracker bench`` (#6)."""
