"""Demo author corpus and a local fixture web site that serves it, for offline crawler tests and demos."""
