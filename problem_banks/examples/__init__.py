"""The bundled worked examples (spec TOML files), installed as nnexam.banks.examples."""
