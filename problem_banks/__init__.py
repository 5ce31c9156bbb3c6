"""The bundled problem banks (TOML files), installed as the package nnexam.banks."""
