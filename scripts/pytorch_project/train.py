#!/usr/bin/env python3
"""Siamese Playground's run in PyTorch: the same method, networks, augmentations, optimizer and
schedules as the app (siamese_torch.py, next to this file), on one process or many.

  python3 train.py --check-parity                       recompute the app's loss and gradient norms
  python3 train.py --data DIR --steps N [--val DIR]     train on an image folder (CPU or one GPU)
  torchrun --nproc_per_node=G train.py --data DIR ...   the same, distributed (NCCL on GPUs, gloo on CPUs)

config.json holds the run's settings and weights.safetensors its starting weights. Every process
takes batchSize / G images of each global batch; BatchNorm uses the global batch's statistics and
the losses gather across processes as solo-learn does, so G processes train like one with the
whole batch. See README.md.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from siamese_torch import (  # noqa: E402
    InputError, app_state_dict, augment_batch, build_method, cosine_tau, create_optimizer, load_app_state,
    load_safetensors, save_safetensors, standardize, warmup_cosine_lr,
)

KNN_K, KNN_SIGMA = 200, 0.1


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=os.path.join(HERE, "config.json"), help="the run's settings (the app's TrainConfig)")
    parser.add_argument("--weights", default=os.path.join(HERE, "weights.safetensors"), help="starting weights (app names, PyTorch layouts)")
    parser.add_argument("--random-init", action="store_true", help="start from PyTorch's own random initialisation instead of --weights")
    parser.add_argument("--check-parity", action="store_true", help="recompute the app's loss and gradient norms on the exported batch, then exit")
    parser.add_argument("--embed", metavar="IMAGES", help="write the encoder's features (evaluation mode) of a safetensors tensor \"images\" [n, 3, h, w] in [0, 1] to --embed-out, then exit")
    parser.add_argument("--embed-out", metavar="FILE", help="where --embed writes its \"features\" tensor (safetensors)")
    parser.add_argument("--data", help="training images: an image folder (one subfolder per class, or any subfolders)")
    parser.add_argument("--labelled", metavar="LIST", help="MoBYv2AL: a text file naming the labelled images, one path a line relative to --data (their class folder is their label); the others are the unlabelled pool. Default: every image is labelled")
    parser.add_argument("--val", help="held-out labelled image folder for the kNN monitor (k = 200, σ = 0.1)")
    parser.add_argument("--fixed-batch", action="store_true", help="train on the exported batch's two views instead of --data (checks the distributed setup)")
    parser.add_argument("--steps", type=int, help="optimizer steps (default: the config's totalSteps)")
    parser.add_argument("--out", default=os.path.join(HERE, "runs", "latest"), help="folder for checkpoint.pt and weights.safetensors")
    parser.add_argument("--resume", help="a checkpoint.pt written by this script")
    parser.add_argument("--checkpoint-every", type=int, default=0, help="also write a checkpoint every N steps (0: only at the end)")
    parser.add_argument("--eval-every", type=int, default=0, help="run the kNN monitor every N steps (0: only at the end, when --val is given)")
    parser.add_argument("--amp", action="store_true", help="mixed precision: bfloat16 autocast for the forward pass")
    parser.add_argument("--cpu", action="store_true", help="stay on the CPU even where CUDA is available")
    parser.add_argument("--workers", type=int, default=2, help="data-loading processes per training process")
    args = parser.parse_args(argv)
    if args.embed and not args.embed_out:
        parser.error("--embed needs --embed-out <file>")
    if not args.check_parity and not args.embed and not args.data and not args.fixed_batch:
        parser.error("give --data <image folder> (or --check-parity, --embed or --fixed-batch)")
    return args


def relative_difference(a, b, floor=0.0):
    return abs(a - b) / max(abs(a), abs(b), floor, 1e-12)


def parity_reference():
    return json.load(open(os.path.join(HERE, "parity.json")))


def parity_batch():
    """The exported batch: its two views and its per-image inputs (Method.forward's `extra`)."""
    tensors, _ = load_safetensors(os.path.join(HERE, "parity.safetensors"))
    n = tensors["view1"].shape[0]
    extra = {"indices": tensors["indices"].long(), "labels": tensors["labels"].long()}
    if "rotations" in tensors:
        # The app draws view 1's turns, then view 2's: [2n] → [n, 2].
        extra["rotations"] = tensors["rotations"].long().reshape(2, n).T.contiguous()
    if "negatives" in tensors:
        extra["negatives"] = tensors["negatives"].long()
    if "weakView" in tensors:
        extra["weak_view"] = tensors["weakView"]
    # The app's other draws in its loss, already [n, ...] per image.
    extra.update({name[len("draw/"):]: t.long() for name, t in tensors.items() if name.startswith("draw/")})
    return tensors["view1"], tensors["view2"], extra


# Inputs of Method.forward's `extra` that belong to the step, not to an image: every process gets them whole.
PER_STEP_INPUTS = ("negatives",)


def check_parity(config, weights):
    """The exported batch through the PyTorch port: loss and every gradient norm against the app's."""
    reference = parity_reference()
    v1, v2, extra = parity_batch()
    model = build_method(config, dataset_size=reference["datasetSize"], num_classes=reference["numClasses"])
    load_app_state(model, weights)
    loss = model(v1, v2, extra)
    loss.backward()
    tolerance = reference["tolerance"]
    app_norms = reference["gradientNorms"]
    # A gradient cancelled to float32 noise (a bias before a BatchNorm) is judged against a floor, not itself.
    floor = reference["gradientFloor"] * math.sqrt(sum(n * n for n in app_norms.values()))
    rows = [("loss", reference["loss"], loss.item(), 0.0)]
    # Norms summed in float64, as the app's: float32 sums of a large gradient's squares drift.
    rows += [(p.name, app_norms[p.name], torch.linalg.vector_norm(p.tensor.grad.double()).item() if p.tensor.grad is not None else 0.0, floor) for p in model.params]
    failures = [(name, app, ours, relative_difference(app, ours, f)) for name, app, ours, f in rows if relative_difference(app, ours, f) > tolerance]
    worst = max(rows, key=lambda r: relative_difference(r[1], r[2], r[3]))
    report = {
        "passed": not failures,
        "tolerance": tolerance,
        "loss": {"app": reference["loss"], "pytorch": loss.item(), "relative": relative_difference(reference["loss"], loss.item())},
        "gradientNorms": len(rows) - 1,
        "worst": {"name": worst[0], "app": worst[1], "pytorch": worst[2], "relative": relative_difference(worst[1], worst[2], worst[3])},
        "failures": [{"name": n, "app": a, "pytorch": o, "relative": r} for n, a, o, r in failures],
    }
    print(json.dumps(report))
    return 0 if not failures else 1


@torch.no_grad()
def embed(config, weights, images_path, out_path):
    """The online encoder's features of the given images, as the app's embedding view computes them."""
    reference = parity_reference()
    model = build_method(config, dataset_size=reference["datasetSize"], num_classes=reference["numClasses"])
    if weights is not None:
        load_app_state(model, weights)
    model.eval()
    images = load_safetensors(images_path)[0]["images"].float()
    save_safetensors(out_path, {"features": model.encoder(standardize(images))})
    return 0


# ---------------------------------------------------------------------------------------------
# Processes, data, the kNN monitor, checkpoints.
# ---------------------------------------------------------------------------------------------

def start_processes(force_cpu):
    """(rank, world size, device). torchrun sets WORLD_SIZE, RANK and LOCAL_RANK; a plain run is one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available() and not force_cpu
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    return (dist.get_rank() if world > 1 else 0), world, device


class IndexedImages(torch.utils.data.Dataset):
    """(image, class, dataset index): NPID's memory bank has a row per image."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        image, label = self.dataset[index]
        return image, label, index


def image_folder_loader(path, size, local_batch, rank, world, seed, workers):
    """uint8 [n, 3, size, size] batches with their classes and dataset indices; each process gets its
    share of every global batch (DistributedSampler)."""
    from torchvision import datasets, transforms

    dataset = IndexedImages(datasets.ImageFolder(path, transform=transforms.Compose([transforms.Resize((size, size)), transforms.PILToTensor()])))
    if len(dataset) < local_batch * world:
        raise InputError(f"{path} has {len(dataset)} images, fewer than one batch of {local_batch * world}")
    sampler = torch.utils.data.distributed.DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=True)
    loader = torch.utils.data.DataLoader(dataset, batch_size=local_batch, sampler=sampler, drop_last=True, num_workers=workers)
    return dataset, sampler, loader


def labelled_indices(dataset, path):
    """Dataset indices of the labelled images: those `path` lists (one path a line, relative to the
    image folder), or every image when there is no list."""
    folder = dataset.dataset
    if path is None:
        return list(range(len(folder)))
    wanted = [line.strip() for line in open(path) if line.strip()]
    position = {os.path.normpath(os.path.relpath(file, folder.root)): i for i, (file, _) in enumerate(folder.samples)}
    unknown = [name for name in wanted if os.path.normpath(name) not in position]
    if unknown:
        raise InputError(f"{path} names {len(unknown)} images not in {folder.root}, e.g. {unknown[0]}")
    return sorted({position[os.path.normpath(name)] for name in wanted})


def index_stream(pool, local, rank, world, gen):
    """This process's share of each global batch of `pool` (dataset indices) in random order, a new
    permutation each pass, so a pool smaller than a batch repeats its images (as the app's labelled
    batches do); `gen` is seeded alike on every process. Yields (passes begun, indices)."""
    pool = torch.tensor(pool)
    order, cursor, passes = pool[:0], 0, 0
    while True:
        batch = []
        while len(batch) < local * world:
            if cursor >= len(order):
                order, cursor, passes = pool[torch.randperm(len(pool), generator=gen)], 0, passes + 1
            take = min(local * world - len(batch), len(order) - cursor)
            batch += order[cursor:cursor + take].tolist()
            cursor += take
        yield passes - 1, batch[rank * local:(rank + 1) * local]


def semi_supervised_batches(dataset, labelled, labels_only, local, rank, world, seed, step):
    """The app's alternation for a partly labelled set (trainer.ts labelledBatchDue): a labelled batch
    on every even step (every step when the pool is empty or the run trains on labels alone), a batch
    of the unlabelled pool otherwise, from `step` on. Yields (pool passes, uint8 images, labels or
    None, indices)."""
    labelled_set = set(labelled)
    pool = [i for i in range(len(dataset)) if i not in labelled_set]
    if labels_only and not labelled:
        raise InputError("MoBYv2AL with MoBY weight 0 trains on the labelled images alone, and none are labelled")
    labelled_stream = index_stream(labelled, local, rank, world, torch.Generator().manual_seed(seed * 7919 + 1)) if labelled else None
    pool_stream = index_stream(pool, local, rank, world, torch.Generator().manual_seed(seed * 7919 + 2)) if pool else None
    epoch = 0
    while True:
        is_labelled = labelled_stream is not None and (labels_only or pool_stream is None or step % 2 == 0)
        passes, share = next(labelled_stream if is_labelled else pool_stream)
        if not is_labelled or pool_stream is None:
            epoch = passes
        items = [dataset[i] for i in share]
        images = torch.stack([image for image, _, _ in items])
        labels = torch.tensor([label for _, label, _ in items]) if is_labelled else None
        yield epoch, images, labels, torch.tensor(share)
        step += 1


def batches(sampler, loader, start_epoch):
    epoch = start_epoch
    while True:
        sampler.set_epoch(epoch)
        for images, labels, indices in loader:
            yield epoch, images, labels, indices
        epoch += 1


@torch.no_grad()
def features_of(encoder, path, size, device, limit=None):
    from torchvision import datasets, transforms

    dataset = datasets.ImageFolder(path, transform=transforms.Compose([transforms.Resize((size, size)), transforms.ToTensor()]))
    indices = list(range(len(dataset)))[:limit]
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, indices), batch_size=256)
    feats, labels = [], []
    for images, targets in loader:
        feats.append(F.normalize(encoder(standardize(images).to(device)).float(), dim=-1))
        labels.append(targets.to(device))
    return torch.cat(feats), torch.cat(labels), len(dataset.classes)


@torch.no_grad()
def knn_accuracy(encoder, train_path, val_path, size, device):
    """The app's kNN monitor (metrics.ts knnPredict): top-k cosine neighbours vote with weight exp(sim/σ)."""
    was_training = encoder.training
    encoder.eval()
    bank, bank_labels, classes = features_of(encoder, train_path, size, device)
    queries, labels, _ = features_of(encoder, val_path, size, device)
    k = min(KNN_K, bank.shape[0])
    correct = 0
    for start in range(0, queries.shape[0], 256):
        values, indices = (queries[start:start + 256] @ bank.T).topk(k, dim=1)
        votes = F.one_hot(bank_labels[indices], classes).float() * torch.exp(values / KNN_SIGMA)[..., None]
        correct += (votes.sum(1).argmax(1) == labels[start:start + 256]).sum().item()
    encoder.train(was_training)
    return correct / queries.shape[0]


def optimizer_state(optimizer):
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer.state_dict()
    return {"buffers": [b.clone() for b in optimizer.buffers]}


def load_optimizer_state(optimizer, state):
    if isinstance(optimizer, torch.optim.Optimizer):
        optimizer.load_state_dict(state)
    else:
        for buffer, saved in zip(optimizer.buffers, state["buffers"]):
            buffer.copy_(saved)


def set_learning_rate(optimizer, lr):
    if isinstance(optimizer, torch.optim.Optimizer):
        for group in optimizer.param_groups:
            group["lr"] = lr
    else:
        optimizer.lr = lr


def save_run(out, model, optimizer, config, step, epoch, dataset_size):
    """checkpoint.pt to resume from, and weights.safetensors for the app (Import weights)."""
    os.makedirs(out, exist_ok=True)
    state = app_state_dict(model)
    torch.save({"step": step, "epoch": epoch, "config": config, "model": state, "optimizer": optimizer_state(optimizer)}, os.path.join(out, "checkpoint.pt"))
    metadata = {"format": "siamese-playground/pytorch-weights", "config": json.dumps(config), "step": str(step), "datasetSize": str(dataset_size)}
    save_safetensors(os.path.join(out, "weights.safetensors"), state, metadata)


def log(rank, record):
    if rank == 0:
        print(json.dumps(record), flush=True)


def global_mean(value, world):
    if world > 1:
        value = value.detach().clone()
        dist.all_reduce(value)
        value /= world
    return value.item()


def train(args, config, weights):
    rank, world, device = start_processes(args.cpu)
    batch = config["batchSize"]
    if batch % world:
        raise InputError(f"the batch of {batch} does not split evenly over {world} processes")
    local = batch // world
    total_steps = args.steps if args.steps is not None else config["totalSteps"]
    # One seed for the network, the data order and the schedules; augmentations differ per process.
    torch.manual_seed(config["seed"])
    if args.fixed_batch:
        reference = parity_reference()
        dataset_size, num_classes = reference["datasetSize"], reference["numClasses"]
    else:
        dataset, sampler, loader = image_folder_loader(args.data, config["imageSize"], local, rank, world, config["seed"], args.workers)
        dataset_size, num_classes = len(dataset), len(dataset.dataset.classes)
    model = build_method(config, dataset_size=dataset_size, num_classes=num_classes)
    fresh = []
    if weights is not None:
        fresh = load_app_state(model, weights)
    model.to(device)
    optimizer = create_optimizer(config, model.params)
    step, epoch = 0, 0
    if args.resume:
        saved = torch.load(args.resume, map_location=device)
        fresh = load_app_state(model, saved["model"])
        load_optimizer_state(optimizer, saved["optimizer"])
        step, epoch = saved["step"], saved["epoch"] + 1
    augment_gen = torch.Generator().manual_seed(config["seed"] * 104729 + 2 + 7919 * rank + step)
    # Seeded alike on every process: one draw of NPID's negatives per global batch, as one process draws per batch.
    negatives_gen = torch.Generator().manual_seed(config["seed"] * 15485863 + 5 + step)
    # A semi-supervised method's classifier (or its MoBY networks) sit out some steps: DDP must not wait for their gradients.
    wrapped = torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False, find_unused_parameters=model.semi_supervised,
    ) if world > 1 else model

    if args.fixed_batch:
        v1, v2, extra = parity_batch()
        count = v1.shape[0]
        if count % world:
            raise InputError(f"the exported batch of {count} does not split evenly over {world} processes")
        part = slice(rank * count // world, (rank + 1) * count // world)
        fixed = (v1[part].to(device), v2[part].to(device), {name: (t if name in PER_STEP_INPUTS else t[part]).to(device) for name, t in extra.items()})
        stream = None
    elif model.semi_supervised:
        labelled = labelled_indices(dataset, args.labelled)
        start_labelled = {"labelledImages": len(labelled), "unlabelledImages": dataset_size - len(labelled)}
        stream = semi_supervised_batches(dataset, labelled, model.labels_only, local, rank, world, config["seed"] + step, step)
    else:
        if args.labelled:
            raise InputError(f"--labelled is for a method trained on a partly labelled set (MoBYv2AL), not {config['method']}")
        stream = batches(sampler, loader, epoch)
    start = {"start": True, "method": config["method"], "processes": world, "device": str(device), "batchPerProcess": local, "fromStep": step, "steps": total_steps}
    if not args.fixed_batch and model.semi_supervised:
        start.update(start_labelled)
    if fresh:
        # NPID's bank has a row per image, MoBYv2AL's classifier one per class: weights from another image folder cannot fill them.
        start["freshState"] = fresh
    log(rank, start)

    amp = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=args.amp)
    started = time.perf_counter()
    while step < total_steps:
        if stream is None:
            v1, v2, extra = fixed
        else:
            epoch, images, labels, indices = next(stream)
            raw = images.float().div_(255)
            v1 = standardize(augment_batch(raw, config["augmentations"][0], config["imageSize"], augment_gen)).to(device)
            v2 = standardize(augment_batch(raw, config["augmentations"][1], config["imageSize"], augment_gen)).to(device)
            extra = {"indices": indices.to(device), "labels": labels.to(device) if labels is not None else None}
            if model.semi_supervised and labels is not None:
                extra["weak_view"] = standardize(augment_batch(raw, model.weak_view, config["imageSize"], augment_gen)).to(device)
            if model.negatives_per_step:
                extra["negatives"] = torch.randint(0, dataset_size, (model.negatives_per_step,), generator=negatives_gen).to(device)
            extra.update({name: t.to(device) for name, t in model.random_inputs(images.shape[0], augment_gen).items()})
        lr = warmup_cosine_lr(step, config["totalSteps"], config["learningRate"], config["warmupSteps"])
        set_learning_rate(optimizer, lr)
        with amp:
            loss = wrapped(v1, v2, extra)
        optimizer.zero_grad(set_to_none=True)
        loss.float().backward()
        # A parameter the step did not use steps with a zero gradient, as the app's (momentum and weight decay still act).
        for p in model.params:
            if p.tensor.grad is None:
                p.tensor.grad = torch.zeros_like(p.tensor)
        optimizer.step()
        model.after_step(step)
        step += 1
        loss_value = global_mean(loss.float(), world)
        if not math.isfinite(loss_value):
            raise RuntimeError(f"the loss became {loss_value} at step {step}; lower the learning rate")
        record = {"step": step, "loss": loss_value, "learningRate": lr}
        if stream is not None and model.semi_supervised:
            record["labelledBatch"] = "weak_view" in extra
        if config.get("tauSchedule"):
            record["tau"] = cosine_tau(config["tau"], step - 1, config["totalSteps"])
        if args.val and ((args.eval_every and step % args.eval_every == 0) or step == total_steps):
            if rank == 0:
                record["knnAccuracy"] = knn_accuracy(model.encoder, args.data, args.val, config["imageSize"], device)
            if world > 1:
                dist.barrier()
        log(rank, record)
        if rank == 0 and ((args.checkpoint_every and step % args.checkpoint_every == 0) or step == total_steps):
            save_run(args.out, model, optimizer, config, step, epoch, dataset_size)
    log(rank, {"done": True, "steps": step, "seconds": time.perf_counter() - started, "out": args.out})
    if world > 1:
        dist.barrier()
        # Every process is past the barrier with nothing left to do. torch 1.13's gloo teardown can spin
        # forever in one process after the others have gone, so each leaves at once instead.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def main(argv):
    args = parse_args(argv)
    config = json.load(open(args.config))
    weights = None if args.random_init else load_safetensors(args.weights)[0]
    if args.check_parity:
        if weights is None:
            raise InputError("--check-parity compares the exported weights; leave out --random-init")
        return check_parity(config, weights)
    if args.embed:
        return embed(config, weights, args.embed, args.embed_out)
    return train(args, config, weights)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except InputError as error:
        print(f"train.py: {error}", file=sys.stderr)
        sys.exit(2)
