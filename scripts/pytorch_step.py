#!/usr/bin/env python3
"""The app's training step in PyTorch, timed on the CPU: the reference the benchmark divides by.

Builds the network the app builds for a TrainConfig (src/engine/backbones.ts, heads.ts, nn.ts, the
method file), the same optimizer (src/engine/optimizers.ts) and the same batched augmentations
(src/engine/augment.ts), then times whole steps: augment both views, forward, loss, backward,
optimizer step, EMA of the target.

Input (file path as the only argument, or stdin), one JSON object:
  {"config": <TrainConfig>, "steps": N, "warmupSteps": W, "threads": T,
   "method": "byol" | "simclr" | …,      (optional; defaults to config.method and must match it; any
                                          method siamese_torch.py ports)
   "matmul": "onednn" | "blas",          (optional, default "onednn"; see dense_matmul)
   "images": "path/to/uint8.npy",        (optional [count, size, size, 3] uint8; default random pixels)
   "malloc": "keep" | "default",         (optional, default "keep"; see keep_freed_memory)
   "memoryFormat": "channels_last" | "contiguous",  (optional, default "channels_last"; see build)
   "datasetSize": 5000,                  (optional, number of random images to draw batches from)
   "classes": 10}                        (optional, classes of the random labels SupCon and MoBYv2AL train on)
Each step also gets the per-image inputs the method reads, as the app's trainer gives them: dataset
indices (NPID's bank has a row per image of the pool), a random class per pool image, RotNet's
quarter turns, NPID's sampled negatives, and MoBYv2AL's weak view (every batch labelled, as an app
run on a labelled dataset without active learning).
The TrainConfig sits under "config" because its own `warmupSteps` (learning-rate warm-up) and
`method` would clash with the run's options. The environment's OMP_WAIT_POLICY (PASSIVE unless
set) goes to OpenMP; see below.

Output: one JSON line on stdout. With --check-shapes, the parameters and buffers with the app's
names and shapes (and the PyTorch shapes) instead of a timing. If torch cannot be imported, the
line is {"skipped": reason} and the exit status 0, so a caller can tell "no PyTorch" from a crash.

Only PyTorch and the standard library are used.
"""
import ast
import ctypes
import ctypes.util
import json
import math
import os
import statistics
import sys
import time

# OpenMP threads that spin while they wait for each other make several threads fast on idle cores,
# and many times slower than one thread once other processes want those cores: the spinning thread
# takes the core from the thread it waits for. This machine is shared, so threads sleep at once
# unless the caller sets OMP_WAIT_POLICY=ACTIVE. libgomp reads it when torch loads it: set it first.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import torch
    import torch.nn.functional as F
except ImportError as error:  # reported, not raised: a machine without PyTorch skips the comparison
    print(json.dumps({"skipped": f"cannot import torch with {sys.executable}: {error}"}))
    sys.exit(0)

# The networks and methods live in one module with the exported PyTorch project's; it sits next to this script.
from siamese_torch import METHODS, InputError, augment_batch, build_method, create_optimizer, dense_matmul, standardize  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Input, the step, timing.
# ---------------------------------------------------------------------------------------------

def load_npy_uint8(path):
    """A C-ordered uint8 .npy array [count, size, size, 3], read with the standard library only."""
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise InputError(f"{path} is not a .npy file")
        major = f.read(2)[0]
        header_length = int.from_bytes(f.read(2 if major == 1 else 4), "little")
        header = ast.literal_eval(f.read(header_length).decode("latin1"))
        data = f.read()
    shape = tuple(header["shape"])
    if header["descr"] not in ("|u1", "u1") or header["fortran_order"] or len(shape) != 4 or shape[3] != 3 or shape[1] != shape[2]:
        raise InputError(f"{path}: expected C-ordered uint8 [count, size, size, 3], got {header}")
    pixels = torch.frombuffer(bytearray(data), dtype=torch.uint8).reshape(shape)
    return pixels.permute(0, 3, 1, 2).contiguous()


def keep_freed_memory():
    """Stops glibc from handing freed blocks back to the OS. By default a block over 32 MB (a ResNet-18
    activation at batch 128) is mmap-ed and unmapped again when freed, so every step page-faults its
    activations back in, which costs more than the arithmetic on this VM; jemalloc or tcmalloc, the
    usual PyTorch fix, are not installed. Returns whether glibc accepted the settings."""
    path = ctypes.util.find_library("c")
    if path is None:
        return False
    libc = ctypes.CDLL(path)
    m_trim_threshold, m_mmap_threshold = -1, -3
    # Blocks up to 1 GiB come from the heap, and the heap is never trimmed.
    return bool(libc.mallopt(m_mmap_threshold, 1 << 30)) and bool(libc.mallopt(m_trim_threshold, 2**31 - 1))


def read_request(argv):
    paths = [a for a in argv if not a.startswith("--")]
    text = open(paths[0]).read() if paths and paths[0] != "-" else sys.stdin.read()
    try:
        request = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"the input is not JSON: {error}")
    config = request.get("config") if isinstance(request, dict) else None
    if not isinstance(config, dict):
        raise InputError('the input needs a "config" object (the app\'s TrainConfig) next to steps, warmupSteps, threads and method')
    method = request.get("method", config.get("method"))
    if method not in METHODS:
        raise InputError(f'method "{method}" is not reproduced here; choose one of {", ".join(METHODS)}')
    if method != config.get("method"):
        raise InputError(f'the config is for "{config.get("method")}" but method "{method}" was asked for')
    for key in ("backbone", "projector", "optimizer", "learningRate", "batchSize", "imageSize", "augmentations"):
        if key not in config:
            raise InputError(f'config.{key} is missing')
    return request, config, method


def positive_int(request, key, default, minimum):
    value = request.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InputError(f"{key} must be a whole number of at least {minimum}, got {value!r}")
    return value


def build(config, method, matmul_kind, memory_format, dataset_size, classes):
    """The method's networks in training mode. Channels-last (NHWC, the app's own layout) lets oneDNN
    convolve without reordering every activation to its blocked layout and back, which NCHW needs."""
    matmul = dense_matmul(matmul_kind)
    model = build_method(config, matmul, dataset_size=dataset_size, num_classes=classes)
    # Converts in place: the Parameter objects the method and optimizer hold stay the same.
    return model.to(memory_format=memory_format)


def shapes_report(model, method):
    def describe(p):
        return {"name": p.name, "role": p.role, "shape": p.app_shape, "torchShape": list(p.tensor.shape)}

    buffers = [b for m in model.networks() for b in m.app_buffers()]
    return {
        "torch": torch.__version__,
        "method": method,
        "params": sum(p.tensor.numel() for p in model.params),
        "paramsPerModule": {name: sum(p.numel() for p in m.parameters()) for name, m in model.parts.items()},
        "parameters": [describe(p) for p in model.params],
        "buffers": [describe(b) for b in buffers],
    }


def image_pool(request, config, data_gen):
    """The uint8 NCHW images batches are drawn from: the request's .npy, else random pixels."""
    size = config["imageSize"]
    if request.get("images"):
        pool = load_npy_uint8(request["images"])
        if pool.shape[2] != size:
            raise InputError(f'{request["images"]} holds {pool.shape[2]} px images; the config trains on {size} px (the app loads data at that size)')
        return pool
    count = positive_int(request, "datasetSize", 5000, config["batchSize"])
    return torch.randint(0, 256, (count, 3, size, size), dtype=torch.uint8, generator=data_gen)


def step_inputs(model, raw, indices, pool_labels, augment_gen, size, memory_format):
    """Method.forward's `extra` for a batch: what the app's trainer and the method's own draws give it."""
    n = indices.shape[0]
    extra = {
        "indices": indices,
        "labels": pool_labels.index_select(0, indices),
    }
    if model.negatives_per_step:
        extra["negatives"] = torch.randint(0, pool_labels.shape[0], (model.negatives_per_step,), generator=augment_gen)
    if model.semi_supervised:
        extra["weak_view"] = standardize(augment_batch(raw, model.weak_view, size, augment_gen)).contiguous(memory_format=memory_format)
    extra.update(model.random_inputs(n, augment_gen))
    return extra


def time_steps(model, config, request, memory_format, pool, data_gen, classes):
    steps = positive_int(request, "steps", 20, 1)
    warmup = positive_int(request, "warmupSteps", 3, 0)
    batch, size = config["batchSize"], config["imageSize"]
    seed = config.get("seed", 1)
    augment_gen = torch.Generator().manual_seed(seed * 104729 + 2)
    pool_labels = torch.randint(0, classes, (pool.shape[0],), generator=data_gen)
    optimizer = create_optimizer(config, model.params)
    views = config["augmentations"]

    phases = ("augment", "forward", "backward", "optimizer", "ema")
    totals = dict.fromkeys(phases, 0.0)
    step_ms, losses = [], []
    for step in range(warmup + steps):
        if step == warmup:
            cpu_start = time.process_time()
        start = time.perf_counter()
        indices = torch.randint(0, pool.shape[0], (batch,), generator=data_gen)
        raw = pool.index_select(0, indices).float().div_(255)
        v1 = standardize(augment_batch(raw, views[0], size, augment_gen)).contiguous(memory_format=memory_format)
        v2 = standardize(augment_batch(raw, views[1], size, augment_gen)).contiguous(memory_format=memory_format)
        extra = step_inputs(model, raw, indices, pool_labels, augment_gen, size, memory_format)
        t_augment = time.perf_counter()
        loss = model(v1, v2, extra)
        t_forward = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t_backward = time.perf_counter()
        optimizer.step()
        t_optimizer = time.perf_counter()
        model.after_step(step)
        end = time.perf_counter()
        # CPU ops are synchronous, so the marks split the timed step itself: no separate profiled pass.
        if step >= warmup:
            marks = (start, t_augment, t_forward, t_backward, t_optimizer, end)
            for i, phase in enumerate(phases):
                totals[phase] += (marks[i + 1] - marks[i]) * 1000
            step_ms.append((end - start) * 1000)
            losses.append(loss.item())
    cpu_ms = (time.process_time() - cpu_start) * 1000
    bad = next((l for l in losses if not math.isfinite(l)), None)
    if bad is not None:
        raise RuntimeError(f"the loss became {bad}; the timing would not be of a working run")
    mean = statistics.fmean(step_ms)
    return {
        "msPerStep": mean,
        "msPerStepMedian": statistics.median(step_ms),
        "msPerStepMin": min(step_ms),
        "msPerStepMax": max(step_ms),
        "imagesPerSecond": batch * 1000 / mean,
        # Close to threads × msPerStep when the cores were ours; well below it when others ran too.
        "cpuMsPerStep": cpu_ms / steps,
        "steps": steps,
        "warmupSteps": warmup,
        "phases": {phase: totals[phase] / steps for phase in phases},
    }


def main(argv):
    request, config, method = read_request(argv)
    threads = positive_int(request, "threads", len(os.sched_getaffinity(0)), 1)
    matmul_kind = request.get("matmul", "onednn")
    if matmul_kind not in ("onednn", "blas"):
        raise InputError(f'matmul must be "onednn" or "blas", got {matmul_kind!r}')
    malloc = request.get("malloc", "keep")
    if malloc not in ("keep", "default"):
        raise InputError(f'malloc must be "keep" or "default", got {malloc!r}')
    if malloc == "keep" and not keep_freed_memory():
        malloc = "default"
    memory_formats = {"channels_last": torch.channels_last, "contiguous": torch.contiguous_format}
    format_name = request.get("memoryFormat", "channels_last")
    if format_name not in memory_formats:
        raise InputError(f'memoryFormat must be "channels_last" or "contiguous", got {format_name!r}')
    memory_format = memory_formats[format_name]
    torch.set_num_threads(threads)
    classes = positive_int(request, "classes", 10, 1)
    seed = config.get("seed", 1)
    torch.manual_seed(seed)
    if "--check-shapes" in argv:
        model = build(config, method, matmul_kind, memory_format, positive_int(request, "datasetSize", 5000, 1), classes)
        print(json.dumps(shapes_report(model, method)))
        return
    data_gen = torch.Generator().manual_seed(seed * 7919 + 1)
    pool = image_pool(request, config, data_gen)
    model = build(config, method, matmul_kind, memory_format, pool.shape[0], classes)
    report = shapes_report(model, method)
    timing = time_steps(model, config, request, memory_format, pool, data_gen, classes)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "method": method,
        **{k: timing[k] for k in ("msPerStep", "msPerStepMedian", "msPerStepMin", "msPerStepMax", "imagesPerSecond", "cpuMsPerStep")},
        "params": report["params"],
        "paramsPerModule": report["paramsPerModule"],
        "phases": timing["phases"],
        "steps": timing["steps"],
        "warmupSteps": timing["warmupSteps"],
        "batchSize": config["batchSize"],
        "imageSize": config["imageSize"],
        "matmul": matmul_kind,
        "malloc": malloc,
        "memoryFormat": format_name,
        "ompWaitPolicy": os.environ["OMP_WAIT_POLICY"],
    }))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (InputError, KeyError) as error:
        message = f"missing setting {error}" if isinstance(error, KeyError) else str(error)
        print(f"pytorch_step.py: {message}", file=sys.stderr)
        sys.exit(2)
