r"""Exact, fast and swappable negative sampling for PyTorch Geometric."""
__version__ = '0.1.0'
