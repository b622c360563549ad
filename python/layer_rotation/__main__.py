"""Command line of the PyTorch engine:

    python -m layer_rotation train CONFIG [--run-dir DIR | --runs-dir DIR] [--run-id ID]
        [--resolved-config FILE] [--mnist-dir DIR] [--epochs N] [--max-steps N]
        [--records-per-epoch N] [--device auto|cpu|cuda] [--threads N] [--parent-pid PID] [--stop-file FILE]
        [--quiet] [--progress-every SECONDS]
    python -m layer_rotation report RUN_DIR [--svg FILE]
    python -m layer_rotation check CONFIG
    python -m layer_rotation probe
    python -m layer_rotation --version

`train` writes events.jsonl, summary.json and curves.svg into the run folder, shows progress on
stderr and at the end prints what `layer-rotation train` prints (the per-layer table, the test
accuracy, the verdict and how the run ended) on stdout; --quiet leaves out the progress and the
table (the editor and `layer-rotation train --engine pytorch` pass it: they read the run log and
say it themselves). Exit 0 when the run completed or was stopped, 1 when it failed, 2 for a config
with a sweep block (`layer-rotation sweep` runs its points). In a Python without torch, `train` says
so in one line (which interpreter, how to install torch or choose another) and exits 1, before
making a run folder; `check` and `report` need no torch. Under torchrun (WORLD_SIZE > 1) it
trains data-parallel. `report` prints the same for a saved run (of either engine) and writes its
curves.svg.
"""
import argparse
import json
import os
import shutil
import sys

from . import __version__
from .config import schema_enum
from .events import CURVES_FILE, EVENTS_FILE, log as log_event
from .progress import LINE_SECONDS, Progress
from .report import MAX_CELL, describe_skipped, events_file, outcome_lines, read_run_log
from .sanitize import one_line, terminal_text
from .svg import write_curves


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m layer_rotation", description="Layer Rotation Monitor: the PyTorch engine."
    )
    p.add_argument("--version", action="version", version="layer-rotation %s" % __version__)
    sub = p.add_subparsers(dest="command")
    t = sub.add_parser("train", help="train a *.layerrot.json config, writing a run folder")
    t.add_argument("config")
    t.add_argument("--run-dir", help="the run folder to write (created if missing)")
    t.add_argument(
        "--runs-dir", default="runs", help="without --run-dir: make <name>-YYYYMMDD-HHMMSS here (default ./runs)"
    )
    t.add_argument("--run-id", help="the run id (default: the run folder's name)")
    t.add_argument(
        "--resolved-config", help="a JSON file with the fully validated config (used instead of parsing CONFIG)"
    )
    t.add_argument("--mnist-dir", help="folder with the MNIST IDX files (when dataset.path is not set)")
    t.add_argument("--epochs", type=int)
    t.add_argument("--max-steps", type=int)
    t.add_argument("--records-per-epoch", type=int)
    t.add_argument("--device", choices=schema_enum("pytorch", "device"))
    t.add_argument(
        "--threads",
        type=_positive_int,
        help="torch threads on the CPU (torch.set_num_threads; default: this process's share of the cores)",
    )
    t.add_argument("--parent-pid", type=int, help="stop cleanly when this process goes away")
    t.add_argument(
        "--note",
        action="append",
        default=[],
        help="a line for the run log, written as a log event (info) right after run_started (e.g. why this engine)",
    )
    t.add_argument(
        "--stop-file",
        help="stop cleanly after the current step once this file exists (default: STOP in the run folder)",
    )
    t.add_argument(
        "--quiet",
        action="store_true",
        help="no progress, table or failure message (for a program that reads the run log itself)",
    )
    t.add_argument(
        "--progress-every",
        type=float,
        default=LINE_SECONDS,
        metavar="SECONDS",
        help="when stderr is not a terminal: a progress line at least this often within an epoch (default %g)"
        % LINE_SECONDS,
    )
    r = sub.add_parser("report", help="print a saved run's layer table and verdict, and write its curves as SVG")
    r.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (or its events.jsonl)")
    r.add_argument("--svg", help="where to write the curves (default RUN_DIR/curves.svg)")
    c = sub.add_parser("check", help="check a config: prints its errors, or ok")
    c.add_argument("config")
    sub.add_parser("probe", help="print the interpreter's Python and torch versions and CUDA devices, as JSON")
    return p


def _positive_int(text):
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError("must be a whole number of at least 1, got %r" % text)
    return n


def probe():
    info = {"python": "%d.%d.%d" % sys.version_info[:3], "package": __version__}
    try:
        import torch

        info.update(
            {
                "torch": torch.__version__.split("+")[0],
                "cuda": bool(torch.cuda.is_available()),
                "devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
            }
        )
    except Exception as e:  # noqa: BLE001
        info.update({"torch": None, "cuda": False, "devices": 0, "error": str(e)})
    print(json.dumps(info))
    return 0 if info.get("torch") else 1


def check(path):
    from .config import ConfigError, load_config

    try:
        _, warnings = load_config(path)
    except ConfigError as e:
        for msg in e.errors:
            print(one_line("%s: %s" % (path, msg)))
        return 1
    for w in warnings:
        print(one_line("%s: %s (warning)" % (path, w)))
    print("ok")
    return 0


def train(args):
    from .watchdog import ParentWatch

    # Before torch is imported: the parent's death ends this process within seconds, in every phase.
    # (Rank 0 writes the log: under torchrun the others only stop.)
    rank0 = os.environ.get("RANK", "0") == "0"
    log_file = os.path.join(os.path.abspath(args.run_dir), EVENTS_FILE) if args.run_dir and rank0 else None
    watch = ParentWatch(args.parent_pid, log_file).start() if args.parent_pid else None

    from .config import ConfigError, JsonschemaMissing, load_config, load_resolved, schema_default
    from .engine import Dist, StopFlags, train as run_training
    from .events import CONFIG_COPY, EventWriter, LogWriteError, create_run_dir, make_summary, run_finished
    from .events import describe_os_error, write_summary

    stop = StopFlags(args.stop_file)
    stop.install()
    if watch is not None:
        watch.stop = stop
        if watch.gone:
            stop.parent_gone()
    config_file = os.path.abspath(args.config)
    config, warnings, config_error = None, [], None
    try:
        if args.resolved_config:
            config = load_resolved(args.resolved_config, config_file)
        else:
            config, warnings = load_config(config_file)
    except JsonschemaMissing as e:
        config_error = e.errors[0]
    except ConfigError as e:
        config_error = "invalid config:\n" + "\n".join("%s: %s" % (config_file, m) for m in e.errors)
    except (OSError, ValueError) as e:
        config_error = "cannot read the config: %s" % e
    if config and config.get("sweep"):
        # As `layer-rotation train`: a sweep's points are run by `layer-rotation sweep`, one run each.
        sys.stderr.write(
            "layer-rotation: %s has a sweep block: train trains one config; run the grid's points with "
            "`layer-rotation sweep %s`\n" % (args.config, args.config)
        )
        return 2

    device = args.device or (config["pytorch"]["device"] if config else schema_default("pytorch", "device"))
    try:
        dist = Dist(device)
    except Exception as e:  # noqa: BLE001 - e.g. cuda asked for, none there
        dist, config_error = None, config_error or str(e)

    main = dist is None or dist.is_main
    run_dir = None
    if main:
        try:
            if args.run_dir:
                run_dir = os.path.abspath(args.run_dir)
                os.makedirs(run_dir, exist_ok=True)
                copy = os.path.join(run_dir, CONFIG_COPY)
                if os.path.isfile(config_file) and not os.path.exists(copy):
                    shutil.copyfile(config_file, copy)
            else:
                name = (config or {}).get("name") or os.path.basename(config_file).split(".")[0] or "run"
                config_copy = config_file if os.path.isfile(config_file) else None
                _, run_dir = create_run_dir(args.runs_dir, name, config_copy)
                run_dir = os.path.abspath(run_dir)
        except OSError as e:
            where = e.filename or args.run_dir or args.runs_dir
            _say(sys.stderr, "layer-rotation: cannot create the run folder %s: %s" % (where, describe_os_error(e)))
            return 1
    if dist is not None:
        run_dir = dist.broadcast_object(run_dir)
    run_id = args.run_id or os.path.basename(run_dir)
    if stop.stop_file is None:
        stop.stop_file = os.path.join(run_dir, "STOP")  # `touch <run folder>/STOP` stops a run from anywhere
    log_file = os.path.join(run_dir, EVENTS_FILE)
    writer, write_failure = None, []
    if main:
        try:
            writer = EventWriter(log_file)
        except LogWriteError as e:
            write_failure.append(e)
            config_error = config_error or str(e)
    if watch is not None:
        watch.writer = writer
    show = Progress(sys.stderr, every=args.progress_every) if main and not args.quiet else None

    def emit(event):
        if writer is not None and not write_failure:
            try:
                stamped = writer.write(event)
            except LogWriteError as e:
                # The run fails with this reason; its end cannot be written either (raised once).
                write_failure.append(e)
                if event.get("type") != "run_finished":
                    raise
                return event
            if show is not None:
                show.event(stamped)
            if event.get("type") == "run_started":
                for note in args.note:
                    emit(log_event("info", note))
            return stamped

    if show is not None:
        _say(sys.stderr, "run %s: logging to %s" % (run_id, log_file))
    if config_error:
        finished = run_finished("failed", config_error, 0, 0, 0)
        emit(finished)
    else:
        finished = run_training(
            config,
            emit,
            run_id,
            config_file=config_file,
            epochs=args.epochs,
            max_steps=args.max_steps,
            records_per_epoch=args.records_per_epoch,
            device=device,
            threads=args.threads,
            mnist_dir=args.mnist_dir,
            warnings=warnings,
            stop=stop,
            dist=dist,
            on_step=show.step if show is not None else None,
        )
    if writer is not None:
        if not write_failure:
            try:
                write_summary(run_dir, make_summary(run_id, writer.started, writer.finished or finished))
            except OSError as e:
                _say(sys.stderr, "layer-rotation: cannot write the run's summary: %s" % describe_os_error(e))
        writer.close()
    if dist is not None:
        dist.close()
    if write_failure:
        # No log to read back: the reason, as the last line (the editor and the CLI show it).
        _say(sys.stderr, "layer-rotation: %s" % write_failure[0])
        return 1
    if main:
        # As `layer-rotation train`: the run read back from its log, its curves beside it.
        log = read_run_log(log_file)
        curves = write_curves(log, os.path.join(run_dir, CURVES_FILE)) if log.started else None
        if show is not None:
            lines = outcome_lines(log) if log.started or log.finished else []
            lines.append("run folder: %s" % run_dir)
            if curves:
                lines.append("layer rotation curves: %s" % curves)
            _say(sys.stdout, "\n".join(lines))
        if finished["status"] == "failed" and not args.quiet:
            _say(sys.stderr, "training failed: %s\nthe run's log is %s" % (terminal_text(finished["reason"]), log_file))
    return 1 if finished["status"] == "failed" else 0


def _say(stream, text):
    """Writes lines for people; a closed pipe (`... | head`) is not an error of the run."""
    try:
        stream.write(text + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass


def report(args):
    """`report RUN_DIR`: the layer table, verdict and curves.svg of a saved run, as `layer-rotation report`."""
    file = events_file(os.path.abspath(args.run_dir))
    if not os.path.isfile(file):
        sys.stderr.write("%s: no run log there (a run folder holds %s)\n" % (file, EVENTS_FILE))
        return 2
    log = read_run_log(file)
    for line in describe_skipped(log):
        sys.stderr.write(line + "\n")
    if log.started is None:
        sys.stderr.write("%s: the log has no run_started event, so its layers are unknown\n" % file)
        return 1
    s = log.started
    lines = [
        "%s (%s), backend %s" % tuple(one_line(s[k], MAX_CELL) for k in ("name", "runId", "backend"))
    ] + outcome_lines(log)
    svg = os.path.abspath(args.svg) if args.svg else os.path.join(os.path.dirname(file), CURVES_FILE)
    lines.append("layer rotation curves: %s" % write_curves(log, svg))
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


# How to get torch where it is missing: the CPU wheel (src/launch/python.ts's TORCH_PIP says the same).
TORCH_PIP = "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"


def torch_missing():
    """One line saying that this interpreter cannot import torch, which one it is and what to do;
    None when torch imports."""
    try:
        import torch  # noqa: F401
    except Exception as e:  # noqa: BLE001 - ImportError, or a broken install raising anything
        why = "%s: %s" % (type(e).__name__, e)
        python = sys.executable or "python"
        version = "%d.%d.%d" % sys.version_info[:3]
        return (
            "layer-rotation: the PyTorch engine needs torch, and %s (Python %s) cannot import it (%s). "
            "Install it into that Python: %s -m pip install %s (the CPU wheel); or use a Python that has "
            "it: the setting layerRotation.pythonPath, or `layer-rotation train --engine pytorch --python PATH`."
            % (python, version, why.replace("\n", " "), python, TORCH_PIP)
        )
    return None


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "probe":
        return probe()
    if args.command == "check":
        return check(args.config)
    if args.command == "train":
        missing = torch_missing()
        if missing:
            _say(sys.stderr, missing)
            return 1
        return train(args)
    if args.command == "report":
        return report(args)
    _parser().print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
