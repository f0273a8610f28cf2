"""The ``twin`` command: run pipelines and steps, print and validate the composed config.

twin [pipeline=<name>] [key=value ...]        run a pipeline's steps in order
twin step <name> [key=value ...] [--result-file F]   run one step (what Airflow tasks call)
twin validate [key=value ...]                 check the composed config without running anything
twin --cfg job [--resolve] [key=value ...]    print the composed config
twin steps                                    list the registered steps
twin demo [key=value ...]                     the end-to-end demo on embedded defaults (make demo)
twin serve [key=value ...]                    Triton on the deployed model repository, until Ctrl-C
twin api [key=value ...]                      the RAG API and web UI (http://127.0.0.1:8090/), until Ctrl-C
twin monitor [key=value ...]                  summarise the API's prompt logs and check alert thresholds
twin migrate [key=value ...]                  copy the embedded stores into MongoDB / Weaviate (URLs from env)
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from twin_core.config.errors import ConfigError

USAGE = __doc__ or ""
COMMANDS = ("step", "validate", "steps", "run", "demo", "serve", "api", "monitor", "migrate")


def _split(argv: Sequence[str]) -> tuple[list[str], dict[str, str | bool]]:
    """Separate Hydra overrides (``a.b=c``) from ``--flags``."""
    overrides: list[str] = []
    flags: dict[str, str | bool] = {}
    it = iter(argv)
    for arg in it:
        if arg in ("--cfg", "--result-file"):
            flags[arg[2:]] = next(it, "")
        elif arg.startswith("--"):
            key, _, value = arg[2:].partition("=")
            flags[key] = value or True
        else:
            overrides.append(arg)
    return overrides, flags


def _print_cfg(overrides: list[str], resolve: bool) -> int:
    from omegaconf import OmegaConf

    from twin_core.config.compose import compose_config
    from twin_core.logs import mask

    cfg = compose_config(overrides, with_choices=False)
    print(mask(OmegaConf.to_yaml(cfg, resolve=resolve)), end="")
    return 0


def _validate(overrides: list[str]) -> int:
    from twin_core.config.loader import validate_config

    s = validate_config(overrides)
    print(
        f"config OK: pipeline={s.pipeline.name} steps={s.pipeline.steps} warehouse={s.warehouse.engine} "
        f"vector_store={s.vector_store.backend} authors={len(s.sources.authors)}"
    )
    return 0


def _run(overrides: list[str], step: str | None, result_file: str | None) -> int:
    from twin_core.config.loader import load_settings
    from twin_core.pipeline.report import render_report
    from twin_core.pipeline.runner import StepFailed, run_pipeline, run_step

    cfg = load_settings(overrides)
    try:
        results = [run_step(step, cfg)] if step else run_pipeline(cfg)
        code = 0 if all(r.ok for r in results) else 1
    except StepFailed as exc:
        results, code = exc.results, 1
    if result_file:
        Path(result_file).write_text(json.dumps([r.to_xcom() for r in results]))
    render_report(results, title=f"twin {'step ' + step if step else 'pipeline=' + cfg.pipeline.name}")
    return code


def _demo(overrides: list[str]) -> int:
    from twin_core.demo.runner import demo_data_dir, demo_environment

    data_dir = demo_data_dir(overrides)
    data_dir.mkdir(parents=True, exist_ok=True)
    with demo_environment(data_dir) as site:
        print(f"demo corpus served at {site.url}; data under {data_dir}")
        return _run(["experiment=demo", *overrides], None, None)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``twin`` console script."""
    from twin_core.logs import configure_logging

    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    configure_logging()
    if argv and argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "run"
    overrides, flags = _split(argv)
    try:
        if command == "steps":
            from twin_core.pipeline.registry import STEPS

            print("\n".join(f"{k:<10} {v}" for k, v in STEPS.items()))
            return 0
        if flags.get("cfg"):
            return _print_cfg(overrides, resolve=bool(flags.get("resolve")))
        if command == "validate":
            return _validate(overrides)
        if command == "demo":
            return _demo(overrides)
        if command == "serve":
            from twin_core.serving.serve import main as serve

            return serve(overrides)
        if command == "api":
            from twin_core.api.server import main as api

            return api(overrides)
        if command == "monitor":
            return _run(overrides, "monitor", None)
        if command == "migrate":
            from twin_core.migrate import main as migrate

            return migrate(overrides)
        step = None
        if command == "step":
            if not overrides or "=" in overrides[0]:
                print("usage: twin step <name> [key=value ...]", file=sys.stderr)
                return 2
            step = overrides.pop(0)
        return _run(overrides, step, str(flags["result-file"]) if flags.get("result-file") else None)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # Hydra override syntax errors, missing config files
        if type(exc).__module__.startswith(("hydra", "omegaconf")):
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    raise SystemExit(main())
