"""Packaging scripts: build.py, the PyInstaller spec, licence notices."""
