"""The PyTorch training engine: the loop of src/engine/trainer.ts (data, model, Layca optimizers,
rotation records, batch/epoch events, stopping criteria), single-process or data-parallel under
torchrun (DistributedDataParallel; gloo on CPU, nccl on CUDA).

Each step takes the global batch of `batchSize` samples that one process would take, and each
rank trains its slice of it; gradients are averaged so that the step equals the one-process step
(up to float rounding). Only rank 0 writes events. Stopping (signals, the parent process, the
criteria) is agreed across ranks every step, so that no rank waits forever.
"""
import math
import os
import signal
import sys
import time

import torch
import torch.nn.functional as F

from .data import DataError, load_dataset
from . import events
from .watchdog import PARENT_GONE
from .blas import blas_label, reference_blas_warning
from .features import FeatureSnapshots
from .models import build_model, make_optimizer, param_groups_for
from .rotation import RotationTracker
from .schedule import layer_multipliers, learning_rate_at

EVAL_BATCH = 1000
BATCH_EVENTS_PER_EPOCH = 50
STOP_FILE_CHECK_SECONDS = 0.5


class EndRun(Exception):
    """Ends a run early from inside the loop, with the status and reason to report."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


class StopFlags:
    """What asks the run to stop: signals (SIGINT/SIGTERM; a second one exits at once), the
    parent process going away (its watchdog, watchdog.py, says so), and a stop file appearing
    (checked at most every STOP_FILE_CHECK_SECONDS)."""

    def __init__(self, stop_file=None):
        self.requested = False
        self.reason = None
        self.stop_file = stop_file
        self._last_check = 0.0

    def install(self):
        def handler(signum, frame):
            if self.requested:
                os._exit(130)  # a second signal: give up at once
            self.requested = True

        for s in (signal.SIGINT, signal.SIGTERM):
            try:
                signal.signal(s, handler)
            except ValueError:  # not the main thread
                pass

    def parent_gone(self):
        """The process that started the run went away (called from the watchdog's thread)."""
        if not self.requested:
            self.reason = PARENT_GONE
            self.requested = True

    def check(self):
        """The stop reason (text) or None."""
        if self.stop_file and not self.requested:
            now = time.monotonic()
            if now - self._last_check >= STOP_FILE_CHECK_SECONDS:
                self._last_check = now
                if os.path.exists(self.stop_file):
                    # A person (or the editor) asked by creating the file: every rank sees it.
                    self.requested = True
        if self.requested:
            return self.reason or "on request"
        return None


def _usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def describe_failure(err):
    msg = str(err) or type(err).__name__
    if isinstance(err, MemoryError) or "out of memory" in msg.lower():
        return "out of memory: %s (try a smaller batchSize or model)" % msg
    return msg


class Dist:
    """The process group, when run with WORLD_SIZE > 1 (torchrun); a single process otherwise."""

    def __init__(self, device_choice):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.enabled = self.world > 1
        cuda = device_choice == "cuda" or (device_choice == "auto" and torch.cuda.is_available())
        if device_choice == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                "pytorch.device is cuda but torch sees no CUDA device (torch %s, CUDA build: %s)"
                % (torch.__version__, torch.version.cuda)
            )
        if cuda:
            self.device = torch.device("cuda", self.local_rank % max(1, torch.cuda.device_count()))
            torch.cuda.set_device(self.device)
        else:
            self.device = torch.device("cpu")
        self.backend = "nccl" if cuda else "gloo"
        if self.enabled:
            import torch.distributed as dist

            dist.init_process_group(self.backend)
            self.dist = dist

    @property
    def is_main(self):
        return self.rank == 0

    def all_sum(self, values):
        """Sums a list of numbers over the ranks (a float64 tensor on the collective's device)."""
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        if self.enabled:
            self.dist.all_reduce(t)
        return t.tolist()

    def broadcast_object(self, obj):
        if not self.enabled:
            return obj
        box = [obj]
        self.dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self):
        if self.enabled and self.dist.is_initialized():
            self.dist.destroy_process_group()


def train(
    config,
    emit,
    run_id,
    config_file=None,
    epochs=None,
    max_steps=None,
    records_per_epoch=None,
    device="auto",
    threads=None,
    mnist_dir=None,
    warnings=(),
    stop=None,
    dist=None,
    on_step=None,
):
    """Trains `config` (a defaulted TrainingConfig dict), calling emit(event) for every event
    (emit is a no-op on ranks other than 0) and on_step(step) after every optimizer step (for
    progress between events). Returns the run_finished event (without v/time)."""
    started = time.time()
    state = {"step": 0, "steps_per_epoch": 1}
    model = tracker = data = features = None
    stop = stop or StopFlags()
    dist = dist or Dist(device)
    on_step = on_step or (lambda step: None)

    def snapshot_features(step, epoch):
        """Emits the first layer's features; a failure to read them (e.g. out of memory as the run
        fails) only leaves the snapshot out."""
        try:
            e = features.snapshot(step, epoch)
        except Exception:  # noqa: BLE001
            e = None
        if e is not None:
            emit(e)

    def finish(status, reason, test):
        # The first layer's features as the run ends, unless the last snapshot was of this step.
        if features is not None and features.last_step != state["step"]:
            snapshot_features(state["step"], state["step"] / state["steps_per_epoch"])
        final = []
        if model is not None and tracker is not None:
            final, _ = tracker.record()
        last = state.get("last_epoch") or {}
        e = events.run_finished(
            status,
            reason,
            state["step"],
            state["step"] / state["steps_per_epoch"],
            time.time() - started,
            final_distances=final,
            started=state.get("started"),
            test_loss=test[0] if test else None,
            test_accuracy=test[1] if test else None,
            train_loss=last.get("loss"),
            train_accuracy=last.get("accuracy"),
        )
        emit(e)
        return e

    try:
        if threads:
            # A sweep running several points at once gives each its share of the cores (and sets
            # OMP_NUM_THREADS to match, for the BLAS pools created as torch loads).
            # (Inter-op threads are left alone: torch 1.13 aborts the process when they are set after
            # any parallel work, as in a second run in one process; eager training hardly uses them.)
            torch.set_num_threads(int(threads))
        elif dist.device.type == "cpu" and not os.environ.get("OMP_NUM_THREADS"):
            # Some builds (Debian's) start with one thread: use this process's share of the cores.
            local = int(os.environ.get("LOCAL_WORLD_SIZE", dist.world)) if dist.enabled else 1
            torch.set_num_threads(max(1, _usable_cpus() // local))
        config_dir = os.path.dirname(os.path.abspath(config_file)) if config_file else os.getcwd()
        flatten = config["model"]["type"] == "mlp"
        data = load_dataset(
            config["dataset"],
            config["seed"],
            flatten,
            config_dir=config_dir,
            mnist_dir=mnist_dir,
            search_dirs=[config_dir, os.getcwd()],
        ).to(dist.device)
        model = build_model(config["model"], data.input_shape, data.classes, config["seed"]).to(dist.device)
        names = [l["name"] for l in model.layers]
        opt_spec = config["optimizer"]
        multipliers = layer_multipliers(opt_spec["alpha"], opt_spec.get("layerMultipliers"), names)
        optimizer = make_optimizer(opt_spec, param_groups_for(model, opt_spec, multipliers))
        tracker = RotationTracker(model.kernels()) if dist.is_main else None
        net = model
        if dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            net = DDP(model, device_ids=[dist.device] if dist.device.type == "cuda" else None)

        epochs = epochs or config["schedule"]["epochs"]
        batch_size = config["schedule"]["batchSize"]
        n_train = data.train.n
        spe = math.ceil(n_train / batch_size)
        state["steps_per_epoch"] = spe
        total = min(epochs * spe, max_steps if max_steps else epochs * spe)
        rpe = records_per_epoch or config["monitoring"]["recordsPerEpoch"]
        every = (None if records_per_epoch else config["monitoring"].get("everySteps")) or max(1, spe // rpe)
        batch_every = max(1, min(every, spe // BATCH_EVENTS_PER_EPOCH))

        desc = events.backend_description(
            _device_text(dist.device), ", %d processes (%s)" % (dist.world, dist.backend) if dist.enabled else ""
        )
        state["started"] = events.run_started(
            run_id,
            config["name"],
            config_file,
            dist.device.type,
            desc,
            {
                "name": data.name,
                "train": data.train.n,
                "validation": data.validation.n,
                "test": data.test.n,
                "inputShape": data.input_shape,
                "classes": data.classes,
            },
            model.layers,
            epochs,
            spe,
            batch_size,
            total,
            config["monitoring"]["target"],
            config["monitoring"]["lagMargin"],
            model=config["model"]["type"],
            optimizer=opt_spec["type"] + ("-layca" if opt_spec["layca"] else ""),
            seed=config["seed"],
            schedule=_schedule(config, multipliers),
            fit_accuracy=config["monitoring"]["fitAccuracy"],
            stopping=config.get("stopping") or {},
        )
        emit(state["started"])
        blas_warning = reference_blas_warning() if dist.device.type == "cpu" else None
        for message in list(warnings) + list(data.warnings) + ([blas_warning] if blas_warning else []):
            emit(events.log("warning", message))
        if tracker:
            d, r = tracker.record()
            emit(events.rotation(0, 0, d, r, 0))
            if config["monitoring"]["features"]:
                features = FeatureSnapshots.of(model.layers[0], model.kernel_modules[0].weight, data.sample_shape)
            if features is not None:
                snapshot_features(0, 0)

        gen = torch.Generator().manual_seed(int(config["seed"]) + 1)
        losses = []
        last_record = last_batch = 0
        window = torch.zeros(3, dtype=torch.float64, device=dist.device)  # loss sum, correct, samples
        step = 0
        lr = opt_spec["learningRate"]
        for epoch in range(epochs):
            if step >= total:
                break
            t0 = time.time()
            order = torch.randperm(n_train, generator=gen).to(dist.device)
            epoch_sums = torch.zeros(3, dtype=torch.float64, device=dist.device)
            net.train()
            for b in range(spe):
                if step >= total:
                    break
                idx = order[b * batch_size : (b + 1) * batch_size]
                lr = learning_rate_at(
                    opt_spec["learningRate"],
                    config["schedule"].get("decay"),
                    config["schedule"]["warmupEpochs"],
                    step / spe,
                )
                for g in optimizer.param_groups:
                    g["lr"] = lr * g["lr_multiplier"]
                sums = _train_step(net, optimizer, data.train, idx, dist)
                step += 1
                state["step"] = step
                window += sums
                epoch_sums += sums
                last = b == spe - 1 or step == total
                if step - last_batch >= batch_every or last:
                    loss_sum, correct, n = dist.all_sum(window.tolist())
                    window.zero_()
                    loss = loss_sum / n
                    if not math.isfinite(loss):
                        raise EndRun(
                            "failed",
                            "the loss became %s by step %d (epoch %.2f, learning rate %g): lower "
                            "optimizer.learningRate, or turn on Layca"
                            % ("NaN" if math.isnan(loss) else loss, step, step / spe, lr),
                        )
                    emit(events.batch(step, step / spe, loss, correct / n, lr))
                    last_batch = step
                if step - last_record >= every or last:
                    if tracker:
                        d, r = tracker.record()
                        emit(events.rotation(step, step / spe, d, r, step - last_record))
                    last_record = step
                on_step(step)
                reason = stop.check()
                if dist.enabled:
                    reason = _agree_stop(dist, reason)
                if reason:
                    raise EndRun(
                        "stopped",
                        ("stopped: %s" % reason if reason != "on request" else "stopped on request")
                        + " at step %d" % step,
                    )
            seconds = time.time() - t0
            loss_sum, correct, n = dist.all_sum(epoch_sums.tolist())
            val = evaluate(model, data.validation, dist) if data.validation.n else None
            end = events.epoch_end(
                epoch + 1,
                step,
                loss_sum / n,
                correct / n,
                val[0] if val else None,
                val[1] if val else None,
                seconds,
                n / seconds if seconds > 0 else None,
            )
            emit(end)
            state["last_epoch"] = end
            if features is not None and features.due(end["epoch"]):
                snapshot_features(step, step / spe)
            losses.append(end["loss"])
            _check_stopping(config, losses, end, data.classes)
        if step >= epochs * spe:
            reason = events.trained_epochs(epochs)
        else:
            reason = events.step_limit(total)
        return finish("completed", reason, evaluate(model, data.test, dist))
    except EndRun as e:
        test = evaluate(model, data.test, dist) if e.status == "completed" and model is not None else None
        return finish(e.status, str(e), test)
    except (DataError, events.LogWriteError) as e:
        return finish("failed", str(e), None)
    except Exception as e:  # noqa: BLE001 - every failure ends the run with a reason
        import traceback

        traceback.print_exc(file=sys.stderr)
        return finish("failed", describe_failure(e), None)


def _device_text(device):
    if device.type == "cuda":
        return "cuda (%s)" % torch.cuda.get_device_name(device)
    return "cpu (%s)" % blas_label()


def _schedule(config, multipliers):
    s = {"learningRate": config["optimizer"]["learningRate"]}
    if config["schedule"].get("decay"):
        s["decay"] = config["schedule"]["decay"]
    s.update(
        {
            "warmupEpochs": config["schedule"]["warmupEpochs"],
            "layca": bool(config["optimizer"]["layca"]),
            "multipliers": multipliers,
        }
    )
    return s


def _agree_stop(dist, reason):
    """All ranks stop when one does; rank 0's reason text wins (others: 'on request')."""
    flag = torch.tensor([1.0 if reason else 0.0], device=dist.device)
    dist.dist.all_reduce(flag)
    if flag.item() > 0:
        return reason or "on request"
    return None


def _train_step(net, optimizer, split, idx, dist):
    """One step on the global batch `idx` (this rank's slice of it); returns [loss sum, correct, n] (device)."""
    n_global = idx.numel()
    if dist.enabled:
        idx = torch.tensor_split(idx, dist.world)[dist.rank]
    x = split.x.index_select(0, idx)
    y = split.y.index_select(0, idx)
    logits = net(x)
    loss_sum = F.cross_entropy(logits, y, reduction="sum")
    # DDP averages the gradients over the ranks: scale so that the result is the global mean's.
    scale = dist.world if dist.enabled else 1
    optimizer.zero_grad(set_to_none=True)
    (loss_sum * (scale / n_global)).backward()
    optimizer.step()
    with torch.no_grad():
        correct = (logits.argmax(1) == y).sum()
        return torch.stack(
            [
                loss_sum.detach().double(),
                correct.double(),
                torch.full((), float(y.numel()), dtype=torch.float64, device=y.device),
            ]
        )


@torch.no_grad()
def evaluate(model, split, dist):
    """(mean loss, accuracy) over a split in inference mode; under DDP each rank takes a share."""
    model.eval()
    idx = torch.arange(split.n, device=split.x.device)
    if dist.enabled:
        idx = torch.tensor_split(idx, dist.world)[dist.rank]
    loss = torch.zeros((), dtype=torch.float64, device=split.x.device)
    correct = torch.zeros((), dtype=torch.float64, device=split.x.device)
    for start in range(0, idx.numel(), EVAL_BATCH):
        i = idx[start : start + EVAL_BATCH]
        logits = model(split.x.index_select(0, i))
        y = split.y.index_select(0, i)
        loss += F.cross_entropy(logits, y, reduction="sum").double()
        correct += (logits.argmax(1) == y).sum().double()
    model.train()
    l, c = dist.all_sum([loss.item(), correct.item()])
    if split.n == 0:
        return (math.nan, math.nan)
    return (l / split.n, c / split.n)


def _check_stopping(config, losses, end, classes):
    s = config.get("stopping") or {}
    if s.get("lossBelow") is not None and end["loss"] < s["lossBelow"]:
        raise EndRun(
            "completed",
            "the training loss %.3g fell below %s (stopping.lossBelow) after epoch %d"
            % (end["loss"], s["lossBelow"], end["epoch"]),
        )
    p = s.get("plateau")
    if p and len(losses) > p["epochs"]:
        recent = losses[-(p["epochs"] + 1) :]
        if max(recent) - min(recent) <= p["tolerance"]:
            raise EndRun(
                "completed",
                "the training loss has not changed by more than %s for %d epochs (stopping.plateau)"
                % (p["tolerance"], p["epochs"]),
            )
    c = s.get("chance")
    if c and end["epoch"] >= c["epochs"] and end["accuracy"] <= 1 / classes + c["margin"]:
        raise EndRun(
            "failed",
            "the training accuracy is still at chance (%.1f%%) after %d epochs (stopping.chance): the "
            "learning rate is probably too high or too low" % (100 * end["accuracy"], end["epoch"]),
        )
