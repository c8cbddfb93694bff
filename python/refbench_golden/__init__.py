"""Golden-data generators for refbench's TypeScript tests.

Each area (metrics, degradation, ReF-LDM sampler, ...) registers a generator in ``GENERATORS`` (see
``__main__.py``). A generator writes its goldens under ``test/fixtures/`` in ``generate`` mode and, in
``check`` mode, recomputes them into a temporary folder and compares with the committed files within the
tolerance it declares, failing loudly on a mismatch. CI runs ``python -m refbench_golden check``.
"""
