"""Make the package importable when the tests are run from a checkout."""
