"""Steps, the step registry (``registry.STEPS``) and the one runner that executes them (``runner``)."""
